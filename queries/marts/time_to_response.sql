-- Time to first response over every series, as a cumulative incidence with dropout as a competing event
-- (Aalen-Johansen), so series that stopped early neither vanish nor count as if they would have responded
-- like those who stayed (1 - Kaplan-Meier with dropouts censored assumed that, and overstated response).
-- Grain: one row per group ($by: 'all', 'route' or 'site') and day since the series' first session at
-- which a series first responded, dropped out or was censored, for $instrument and the cohort ($cohort).
-- Who: series with a baseline on $instrument. Event: the first weekly score meeting response
-- (int_weekly_scores). Competing event: the series dropped out (int_treatment_series.is_dropped_out)
-- without a response, at its last completed session or last score, whichever is later. Censored: any
-- other series at its last weekly score (day 0 when never scored after baseline): still in treatment,
-- or finished its induction without a response and was not scored again.
-- share_responded: the cumulative incidence of response; share_dropped: that of dropout; median_days:
-- the first day share_responded is 0.5 or more (null when not reached). The estimate is the
-- aalen_johansen macro (macros.sql); tests/test_metrics.py holds it to lifelines' AalenJohansenFitter.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
    where baseline_score is not null
),

scored as (
    select
        weekly.series_id,
        min(weekly.assessment_day) filter (where weekly.is_response) as first_response_day,
        max(weekly.assessment_day) as last_score_day,
    from int_weekly_scores as weekly
    join cohort using (series_id)
    where weekly.instrument = $instrument
    group by weekly.series_id
),

durations as (
    select
        series_group($by, cohort) as group_value,
        case
            when scored.first_response_day is not null then 'event'
            when cohort.is_dropped_out then 'competing'
            else 'censored'
        end as outcome,
        case outcome
            when 'event' then scored.first_response_day
            when 'competing' then greatest(cohort.last_session_day, scored.last_score_day)
            else coalesce(scored.last_score_day, cohort.start_day)
        end - cohort.start_day as day,
    from cohort
    left join scored using (series_id)
),

estimated as (
    select * from aalen_johansen('durations')
),

final as (
    select
        group_value,
        day,
        n_at_risk,
        n_events,
        n_competing as n_dropped,
        n_censored,
        incidence as share_responded,
        competing_incidence as share_dropped,
        median_days,
    from estimated
)

select * from final
order by group_value, day
