-- Every PHQ-9 with item 9 (thoughts of self-harm) scored 1 or more, for clinical follow-up, whether or
-- not it was placed in a treatment series: a screening PHQ-9 weeks before any series is flagged too.
-- Grain: one row per flagged PHQ-9 in the database. Not filtered by the cohort: a flag is a patient to
-- follow up whatever a chart's filters are. Any non-zero item 9 is a safety signal: one-year
-- suicide-attempt risk rose from 0.4% (item 9 = 0) to 4% (item 9 = 3) in Simon 2013.
-- Site and clinician: the series' (int_treatment_series); outside a series, the patient's latest
-- session on or before that day, else the first after it, else the patients export's site.
-- When: assessment_date in a dated export; assessment_day only in an export with day offsets (a dated
-- row's day counts from 1970 and means nothing to a reader).
-- is_rise (answers in a series only): item 9 is higher than at the series' baseline (or there was none).
with

flagged as (
    select * from main.assessments where instrument = 'PHQ-9' and item9 >= 1
),

placed as (
    select * from int_series_assessments where instrument = 'PHQ-9' and item9 >= 1
),

series as (
    select * from int_treatment_series
),

baselines as (
    select * from int_baselines where instrument = 'PHQ-9'
),

sessions as (
    select patient_id, session_day, site, clinician_id from main.sessions
),

patients as (
    select * from main.patients
),

-- Only a flag without its series' site or clinician (one outside a series) falls back to the sessions:
-- the as-of joins read those flags and their patients' sessions, not every session (100k patients,
-- medians of 5 run alternately on a busy machine: 1.3 s, was 4.0 s; the mart is on the Safety page).
placed_where as (
    select
        placed.patient_id,
        placed.assessment_day,
        bool_and(series.site is not null and series.clinician_id is not null) as has_series_site,
    from placed
    left join series on series.series_id = placed.series_id
    group by all
),

needs_session as (
    select flagged.*
    from flagged
    anti join (select * from placed_where where has_series_site) as known using (patient_id, assessment_day)
),

their_sessions as (
    select * from sessions semi join needs_session using (patient_id)
),

session_before as (
    select needs_session.patient_id, needs_session.assessment_day, their_sessions.site, their_sessions.clinician_id,
    from needs_session
    asof join their_sessions
        on needs_session.patient_id = their_sessions.patient_id
        and needs_session.assessment_day >= their_sessions.session_day
),

session_after as (
    select needs_session.patient_id, needs_session.assessment_day, their_sessions.site, their_sessions.clinician_id,
    from needs_session
    asof join their_sessions
        on needs_session.patient_id = their_sessions.patient_id
        and needs_session.assessment_day <= their_sessions.session_day
),

final as (
    select
        flagged.patient_id,
        placed.series_number,
        placed.week,
        placed.series_id is not null as is_in_series,
        flagged.assessment_date,
        case when flagged.assessment_date is null then flagged.assessment_day end as assessment_day,
        coalesce(series.site, session_before.site, session_after.site, patients.site, 'unknown') as site,
        coalesce(series.clinician_id, session_before.clinician_id, session_after.clinician_id, 'unknown')
            as clinician_id,
        flagged.score,
        flagged.item9,
        baselines.baseline_item9,
        case when placed.series_id is not null
            then flagged.item9 > coalesce(baselines.baseline_item9, 0) end as is_rise,
        flagged.assessment_day as sort_day,
    from flagged
    left join placed using (patient_id, assessment_day)
    left join series on series.series_id = placed.series_id
    left join baselines on baselines.series_id = placed.series_id
    left join session_before using (patient_id, assessment_day)
    left join session_after using (patient_id, assessment_day)
    left join patients using (patient_id)
)

select * exclude (sort_day) from final
order by sort_day desc, patient_id
