-- How series ended their induction, and when they first responded, for the Response page.
-- Grain: one row per measure and value: measure 'end_status' or 'first_response_week' (the week, as
-- text), for $instrument and the cohort ($cohort). end_status: for evaluable series, remission,
-- response, no response, no score or not reached (int_end_of_induction defines them; these add up to
-- cohort_comparison's n_evaluable, the n of every end-of-induction rate); outside that n, 'not yet
-- evaluable' (a baseline, but the end-of-induction window is still open and the series has not dropped
-- out) and 'no baseline'.
with

summary as (
    select * from cohort_series($cohort, $instrument)
),

statuses as (
    select
        case
            when end_of_induction.series_id is null then 'no baseline'
            when not end_of_induction.is_evaluable then 'not yet evaluable'
            else end_of_induction.end_status
        end as value,
    from summary
    left join int_end_of_induction as end_of_induction
        on end_of_induction.series_id = summary.series_id and end_of_induction.instrument = $instrument
),

first_responses as (
    select min(weekly.week) as week
    from int_weekly_scores as weekly
    join summary using (series_id)
    where weekly.instrument = $instrument and weekly.is_response
    group by weekly.series_id
),

final as (
    select 'end_status' as measure, value, count(*) as n_series, 0 as sort,
    from statuses
    group by value
    union all
    select 'first_response_week', week::varchar, count(*), week,
    from first_responses
    group by week
)

select measure, value, n_series from final
order by measure, sort, value
