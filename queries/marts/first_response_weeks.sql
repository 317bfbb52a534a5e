-- When series first responded, for the Response page's bars (responders only; the Durability page's
-- time_to_response counts every series).
-- Grain: one row per week of series in which some series of the cohort ($cohort) first met response on
-- $instrument (int_weekly_scores.is_response). Until issue 21 this was response_timing's
-- 'first_response_week' measure. $evaluable_only: only the series whose end-of-induction window has closed or
-- that dropped out (int_end_of_induction.is_evaluable), as every end-of-induction figure counts them.
with

evaluable as (
    select series_id from int_end_of_induction
    where instrument = $instrument and is_evaluable
),

cohort as (
    select * from cohort_series($cohort, $instrument)
    where not $evaluable_only or series_id in (select series_id from evaluable)
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
