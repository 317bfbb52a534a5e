-- Completed sessions numbered into treatment series.
-- Grain: one row per completed session. A series is a patient's completed sessions in day order;
-- a gap of more than setting('series_gap_days') (default 60) between two completed sessions starts
-- a new series. Cancelled and no-show sessions never start, end or count in a series.
with

completed as (
    -- in_build_scope: the patients this build computes (every one, or those whose rows changed: metrics.build).
    select * from sessions where status = 'completed' and in_build_scope(patient_id)
),

ordered as (
    -- One ordering per patient serves every step below (DuckDB sorts once for windows that share it).
    select
        *,
        row_number() over in_order as position,
        coalesce(session_day - lag(session_day) over in_order > setting('series_gap_days'), true) as starts_series,
    from completed
    window in_order as (partition by patient_id order by session_day, session_id)
),

numbered as (
    select
        *,
        sum(starts_series::integer) over in_order::integer as series_number,
        max(case when starts_series then position end) over in_order as series_start_position,
    from ordered
    window in_order as (partition by patient_id order by session_day, session_id rows unbounded preceding)
),

final as (
    select
        patient_id,
        series_number,
        (position - series_start_position + 1)::integer as session_number,
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
        systolic_bp_pre,
        diastolic_bp_pre,
        diastolic_bp_peak,
    from numbered
)

select * from final
