-- Completed sessions numbered into treatment series.
-- Grain: one row per completed session. A series is a patient's completed sessions in day order;
-- a gap of more than setting('series_gap_days') (default 60) between two completed sessions starts
-- a new series. Cancelled and no-show sessions never start, end or count in a series.
with

completed as (
    select * from sessions where status = 'completed'
),

gaps as (
    select
        *,
        coalesce(
            session_day - lag(session_day) over (partition by patient_id order by session_day, session_id)
                > setting('series_gap_days'),
            true
        ) as starts_series,
    from completed
),

numbered as (
    select
        *,
        sum(starts_series::integer) over (
            partition by patient_id order by session_day, session_id rows unbounded preceding
        )::integer as series_number,
    from gaps
),

final as (
    select
        patient_id,
        series_number,
        row_number() over (partition by patient_id, series_number order by session_day, session_id)::integer
            as session_number,
        session_day,
        session_date,
        session_id,
        route,
        site,
        clinician_id,
        dose_mg,
        dose_mg_per_kg,
        adverse_events,
        systolic_bp_peak,
    from numbered
)

select * from final
