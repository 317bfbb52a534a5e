-- How many series reach each completed session and each week with a score: the attrition a
-- completers-only figure hides (ORKA-2: about half never complete six infusions).
-- Grain: one row per stage ('session', 'week' or 'induction') and step number, for the cohort
-- ($cohort) and $instrument. share_of_started: n_series / all series in the cohort. Stage
-- 'induction' has one row (step 1): series that completed their own route's induction
-- (int_treatment_series.induction_sessions: IV 6, IM 6, intranasal 8, oral 4).
with

cohort as (
    select * from cohort_series($cohort, $instrument)
),

weekly as (
    select series_id, week from int_weekly_scores
    where instrument = $instrument
        and in_cohort($cohort, site, route, indication, clinician_id, age_band, sex, series_number, start_date)
        and meets_min_baseline($cohort, series_id)
),

started as (
    select count(*) as n_started from cohort
),

by_sessions as (
    select sessions_completed, count(*) as n_ending_here, from cohort group by sessions_completed
),

steps as (
    select unnest(range(1, (select coalesce(max(sessions_completed), 0) from cohort) + 1)) as step
),

session_steps as (
    -- Series reaching session n: those that completed n or more.
    select 'session' as stage, steps.step, coalesce(sum(by_sessions.n_ending_here), 0)::bigint as n_series,
    from steps
    left join by_sessions on by_sessions.sessions_completed >= steps.step
    group by steps.step
),

induction_step as (
    select 'induction' as stage, 1 as step, count(*) filter (where sessions_completed >= induction_sessions) as n_series,
    from cohort
),

week_steps as (
    select 'week' as stage, week as step, count(*) as n_series,
    from weekly
    group by week
),

final as (
    select
        steps.stage,
        steps.step,
        steps.n_series,
        rate(steps.n_series, started.n_started) as share_of_started,
    from (select * from session_steps union all select * from week_steps union all select * from induction_step) as steps
    cross join started
)

select * from final
order by stage, step
