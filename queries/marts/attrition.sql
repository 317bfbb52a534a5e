-- How many series reach each completed session and each week with a score: the attrition a
-- completers-only figure hides (ORKA-2: about half never complete six infusions).
-- Grain: one row per stage ('session' or 'week') and step number, for the cohort ($cohort) and
-- $instrument. share_of_started: n_series / all series in the cohort.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
),

weekly as (
    select weekly.series_id, weekly.week
    from int_weekly_scores as weekly
    join cohort using (series_id)
    where weekly.instrument = $instrument
),

started as (
    select count(*) as n_started from cohort
),

session_steps as (
    select 'session' as stage, step, count(*) filter (where cohort.sessions_completed >= step) as n_series,
    from cohort
    cross join (select unnest(range(1, (select coalesce(max(sessions_completed), 0) from cohort) + 1)) as step)
    group by step
),

week_steps as (
    select 'week' as stage, week as step, count(distinct series_id) as n_series,
    from weekly
    group by week
),

final as (
    select
        steps.stage,
        steps.step,
        steps.n_series,
        rate(steps.n_series, started.n_started) as share_of_started,
    from (select * from session_steps union all select * from week_steps) as steps
    cross join started
)

select * from final
order by stage, step
