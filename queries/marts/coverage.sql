-- What the database holds, for the analysts' Data page: one row per measure.
-- Grain: one row per measure (a count, or a date range as text). Not filtered by cohort: it
-- describes the stored data, including assessments that belong to no series and series with no
-- baseline.
with

assessments as (
    select * from main.assessments
),

placed as (
    select * from int_series_assessments
),

final as (
    select 'patients' as measure, null as instrument, count(distinct patient_id)::varchar as value, 1 as sort from (
        select patient_id from sessions union select patient_id from assessments union select patient_id from patients)
    union all
    select 'first date', null, min(session_date)::varchar, 2 from sessions
    union all
    select 'last date', null, max(session_date)::varchar, 3 from sessions
    union all
    select 'sessions (all statuses)', null, count(*)::varchar, 4 from sessions
    union all
    select 'completed sessions', null, count(*)::varchar, 5 from sessions where status = 'completed'
    union all
    select 'treatment series', null, count(*)::varchar, 6 from int_treatment_series
    union all
    select 'assessments', instrument, count(*)::varchar, 7 from assessments group by instrument
    union all
    select 'assessments in no series', instrument,
        (count(*) - coalesce((select count(*) from placed where placed.instrument = a.instrument), 0))::varchar, 8
    from assessments as a group by instrument
    union all
    select 'series without a baseline', instruments.instrument,
        ((select count(*) from int_treatment_series)
         - (select count(*) from int_baselines where int_baselines.instrument = instruments.instrument))::varchar, 9
    from main.instruments as instruments
    where instruments.instrument in (select instrument from assessments)
)

select measure, instrument, value from final
order by sort, instrument
