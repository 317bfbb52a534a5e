-- Treatment series with the attributes cohorts are filtered and split by.
-- Grain: one row per patient and series number. Route, site and clinician are the most frequent
-- among the series' completed sessions (ties: the earliest, by day and session id, so that the choice
-- never rests on the order rows happen to be stored in); site falls back to the patients export.
-- The induction ends at the series' route's n-th completed session of its first run (before any
-- maintenance gap, int_series_sessions.is_first_run): induction_sessions is
-- setting('induction_sessions_<route>') (IV 6, IM 6, intranasal 8, oral 4; a route without a setting
-- of its own uses the IV value). Dropped out: fewer completed sessions than that in the first run and
-- none of them in the setting('dropout_quiet_days') (28) days before the data's last day; a late
-- booster neither completes an induction nor undoes a dropout. sessions_completed counts every
-- completed session of the series, boosters included; first_run_sessions those of the first run.
-- The indication is stored as the export wrote it and shown as int_indications spells it, so
-- 'Chronic pain' and 'chronic pain' are one group.
-- in_build_scope: the patients this build computes (every one, or those whose rows changed: metrics.build).
with

series_sessions as (
    select * from int_series_sessions where in_build_scope(patient_id)
),

patients as (
    select * from main.patients
),

indications as (
    select * from int_indications
),

induction_lengths as (
    -- 'induction_sessions_oral' -> 'oral'; compared with the route in lower case.
    select substr(name, length('induction_sessions_') + 1) as route_key, value::integer as induction_sessions,
    from settings
    where name like 'induction\_sessions\_%' escape '\'
),

data_extent as (
    select * from int_data_extent
),

per_series as (
    select
        patient_id,
        series_number,
        min(session_day) as start_day,
        min(session_date) as start_date,
        max(session_day) as last_session_day,
        count(*)::integer as sessions_completed,
        count(*) filter (where is_first_run)::integer as first_run_sessions,
        max(session_day) filter (where is_first_run) as first_run_last_day,
        mode(route order by session_day, session_id) as route,
        mode(site order by session_day, session_id) as session_site,
        mode(clinician_id order by session_day, session_id) as clinician_id,
        list(session_day order by session_number) filter (where is_first_run) as session_days,
    from series_sessions
    group by patient_id, series_number
),

with_induction as (
    select
        per_series.*,
        coalesce(lengths.induction_sessions, setting('induction_sessions_iv'))::integer as induction_sessions,
        per_series.session_days[coalesce(lengths.induction_sessions, setting('induction_sessions_iv'))::integer]
            as induction_day,
    from per_series
    left join induction_lengths as lengths on lengths.route_key = lower(per_series.route)
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
        per_series.first_run_sessions,
        per_series.induction_sessions,
        per_series.induction_day,
        per_series.route,
        coalesce(per_series.session_site, patients.site, 'unknown') as site,
        coalesce(per_series.clinician_id, 'unknown') as clinician_id,
        coalesce(indications.indication, 'unknown') as indication,
        coalesce(patients.age_band, 'unknown') as age_band,
        coalesce(patients.sex, 'unknown') as sex,
        -- Equity fields (optional): quasi-identifiers, grouped and combined only as cohort_series allows.
        coalesce(patients.ethnicity, 'unknown') as ethnicity,
        coalesce(patients.deprivation_decile::varchar, 'unknown') as deprivation_decile,
        coalesce(strftime(per_series.start_date, '%Y-Q') || quarter(per_series.start_date), 'unknown')
            as start_quarter,
        coalesce(strftime(per_series.start_date, '%Y-%m'), 'unknown') as start_month,
        data_extent.data_last_day,
        per_series.first_run_sessions < per_series.induction_sessions
            and per_series.first_run_last_day < data_extent.data_last_day - setting('dropout_quiet_days')
            as is_dropped_out,
    from with_induction as per_series
    cross join data_extent
    left join patients using (patient_id)
    left join indications on indications.indication_key = alias_key(patients.primary_indication)
)

select * from final
