-- The clinic's activity for the Overview tiles. Grain: one row for the cohort ($cohort).
-- Active series: a completed session within setting('dropout_quiet_days') (28) of the data's last day.
with

cohort as (
    select * from cohort_series($cohort, null)
),

final as (
    select
        (select count(*) from cohort) as n_series,
        (select count(*) from cohort
            where last_session_day >= data_last_day - setting('dropout_quiet_days')) as n_active_series,
        (select count(distinct patient_id) from cohort) as n_patients,
        (select coalesce(sum(sessions_completed), 0)::bigint from cohort) as n_sessions,
        (select min(start_date) from cohort) as first_start_date,
        (select max(start_date) from cohort) as last_start_date,
)

select * from final
