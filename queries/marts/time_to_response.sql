-- Time to first response over every series, as a Kaplan-Meier estimate (Kaplan & Meier 1958), so
-- series that stopped early count until they stopped instead of vanishing from a histogram of responders.
-- Grain: one row per group ($by: 'all', 'route' or 'site') and day since the series' first session at
-- which a series first responded or was censored, for $instrument and the cohort ($cohort).
-- Who: series with a baseline on $instrument. Event: the first weekly score meeting response
-- (int_weekly_scores). Censored: at the series' last weekly score (dropouts included; day 0 when it
-- was never scored after baseline). share_responded: 1 - the Kaplan-Meier survival (still not responded);
-- median_days: the first day share_responded is 0.5 or more (null when not reached). The estimate is the
-- kaplan_meier macro (macros.sql), shared with sustained_response.
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
        case $by when 'route' then cohort.route when 'site' then cohort.site else 'all' end as group_value,
        scored.first_response_day is not null as is_event,
        coalesce(scored.first_response_day, scored.last_score_day, cohort.start_day) - cohort.start_day as day,
    from cohort
    left join scored using (series_id)
),

estimated as (
    select * from kaplan_meier('durations')
),

final as (
    select
        group_value,
        day,
        n_at_risk,
        n_events,
        n_censored,
        1 - survival as share_responded,
        median_days,
    from estimated
)

select * from final
order by group_value, day
