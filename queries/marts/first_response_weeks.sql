-- When series first responded, for the Response page's bars (responders only; the Durability page's
-- time_to_response counts every series).
-- Grain: one row per week of series in which some series of the cohort ($cohort) first met response on
-- $instrument (int_weekly_scores.is_response). Until issue 21 this was response_timing's
-- 'first_response_week' measure. $evaluable_only: only the series whose end-of-induction window has closed or
-- that dropped out (cohort_series.sql, counted_series), as every end-of-induction figure counts them.
with

cohort as (
    select * from counted_series($cohort, $instrument, $evaluable_only)
),

first_responses as (
    select min(weekly.week) as week
    from int_weekly_scores as weekly
    join cohort using (series_id)
    where weekly.instrument = $instrument and weekly.is_response
    group by weekly.series_id
),

final as (
    select week, count(*) as n_series,
    from first_responses
    group by week
)

select * from final
order by week
