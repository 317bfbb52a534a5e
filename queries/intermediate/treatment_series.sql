-- Treatment series with the attributes cohorts are filtered and split by.
-- Grain: one row per patient and series number. Route, site and clinician are the most frequent
-- among the series' completed sessions (ties: the earliest); site falls back to the patients export.
-- The induction ends at the setting('induction_sessions')-th completed session (default 6).
with

series_sessions as (
    select * from int_series_sessions
),

patients as (
    select * from main.patients
),

data_extent as (
    -- The data's last day: what "recent" and "started at least w weeks ago" are measured against.
    select greatest(
        (select max(session_day) from sessions),
        (select max(assessment_day) from assessments)
    ) as data_last_day,
),

per_series as (
    select
        patient_id,
        series_number,
        min(session_day) as start_day,
        min(session_date) as start_date,
        max(session_day) as last_session_day,
        count(*)::integer as sessions_completed,
        mode(route order by session_day) as route,
        mode(site order by session_day) as session_site,
        mode(clinician_id order by session_day) as clinician_id,
        max(session_day) filter (where session_number = setting('induction_sessions')) as induction_day,
    from series_sessions
    group by patient_id, series_number
),

final as (
    select
        per_series.patient_id || '#' || per_series.series_number as series_id,
        per_series.patient_id,
        per_series.series_number,
        per_series.start_day,
        per_series.start_date,
        per_series.last_session_day,
        per_series.sessions_completed,
        per_series.induction_day,
        per_series.route,
        coalesce(per_series.session_site, patients.site, 'unknown') as site,
        coalesce(per_series.clinician_id, 'unknown') as clinician_id,
        coalesce(patients.primary_indication, 'unknown') as indication,
        coalesce(patients.age_band, 'unknown') as age_band,
        coalesce(patients.sex, 'unknown') as sex,
        coalesce(strftime(per_series.start_date, '%Y-Q') || quarter(per_series.start_date), 'unknown')
            as start_quarter,
        coalesce(strftime(per_series.start_date, '%Y-%m'), 'unknown') as start_month,
        data_extent.data_last_day,
        per_series.sessions_completed < setting('induction_sessions')
            and per_series.last_session_day < data_extent.data_last_day - setting('dropout_quiet_days')
            as is_dropped_out,
    from per_series
    cross join data_extent
    left join patients using (patient_id)
)

select * from final
