-- Adverse events over the induction, as trials report them: the share of series with each event at least once
-- in their induction's sessions, beside the published range for the series' route where one was checked
-- (safety_references, from definitions.SAFETY_REFERENCES: esketamine phase 3 trials for intranasal, a
-- Canadian IV ketamine clinic's 203 patients for IV). Grain: one row per route and event of the cohort
-- ($cohort), zeros included.
-- Who: series whose induction is decided (reached the induction's last session, or dropped out), so a series
-- still in induction is not counted before it could have had its events. Sessions: its completed sessions up
-- to the induction's last (session_number <= induction_sessions, by route: IV 6, IM 6, intranasal 8, oral 4).
-- reference_status: 'above' when the whole Wilson 95% interval lies above the range's top; 'possibly above'
-- when the share does but the interval reaches the range (chance cannot be ruled out); 'not above'; or
-- 'no reference' (no checked figure for this route and event).
with

series as (
    select series_id, patient_id, series_number, route, induction_sessions,
    from cohort_series($cohort, null)
    where induction_day is not null or is_dropped_out
),

induction_sessions as (
    select series.series_id, series.route, sessions.adverse_events,
    from int_series_sessions as sessions
    join series using (patient_id, series_number)
    where sessions.session_number <= series.induction_sessions
),

events as (
    select * from adverse_event_kinds()
),

per_route as (
    select route, count(*) as n_series,
    from series
    group by route
),

series_events as (
    select distinct series_id, route, event, from session_adverse_events('induction_sessions')
),

counted as (
    select route, event, count(*) as n_with_event,
    from series_events
    group by route, event
),

published as (
    select route, event, low, high, study, source, from safety_references
),

final as (
    select
        per_route.route,
        events.event,
        per_route.n_series,
        coalesce(counted.n_with_event, 0) as n_with_event,
        rate(coalesce(counted.n_with_event, 0), per_route.n_series) as incidence_rate,
        wilson_low(coalesce(counted.n_with_event, 0), per_route.n_series) as incidence_rate_low,
        wilson_high(coalesce(counted.n_with_event, 0), per_route.n_series) as incidence_rate_high,
        published.low as reference_low,
        published.high as reference_high,
        published.study as reference_study,
        published.source as reference_source,
        case
            when published.high is null then 'no reference'
            when incidence_rate_low > published.high then 'above'
            when incidence_rate > published.high then 'possibly above'
            else 'not above'
        end as reference_status,
    from per_route
    cross join events
    left join counted using (route, event)
    left join published using (route, event)
)

select * from final
order by route, event
