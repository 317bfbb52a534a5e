-- Dissociation (CADSS, 0-92) by session number of the treatment series: the mean score and its n.
-- Grain: one row per group ($by: 'all' or 'route') and session number with a CADSS score, for the
-- cohort ($cohort). A CADSS score belongs to the series' completed session on its day (CADSS is rated
-- after dosing: Spravato label); a score on a day with no completed session is not charted. When a
-- day holds two completed sessions, the earlier-numbered one takes the score.
-- Interval: mean +/- 1.96 SD / sqrt(n), as for the weekly means.
with

cohort as (
    select * from cohort_series($cohort, null)
),

sessions as (
    select * from int_series_sessions
),

scores as (
    -- A CADSS on a completed session's day is on or after the patient's first series' start, so it is placed
    -- in some series (int_series_assessments): the placed assessments hold every one this mart can chart, and
    -- the session's own series is found through the session below (no mart reads raw tables).
    select patient_id, assessment_day, score from int_series_assessments where instrument = 'CADSS'
),

scored_sessions as (
    select
        scores.patient_id,
        scores.assessment_day,
        any_value(series_group($by, cohort)) as group_value,
        min(sessions.session_number) as session_number,
        any_value(scores.score) as score,
    from scores
    join sessions on sessions.patient_id = scores.patient_id and sessions.session_day = scores.assessment_day
    join cohort on cohort.patient_id = sessions.patient_id and cohort.series_number = sessions.series_number
    group by scores.patient_id, scores.assessment_day
),

final as (
    select
        group_value,
        session_number,
        count(*) as n_sessions,
        avg(score) as mean_score,
        avg(score) - 1.96 * stddev_samp(score) / sqrt(count(*)) as mean_ci_low,
        avg(score) + 1.96 * stddev_samp(score) / sqrt(count(*)) as mean_ci_high,
    from scored_sessions
    group by group_value, session_number
)

select * from final
order by group_value, session_number
