-- Suicidality over the induction: how PHQ-9 item 9 (thoughts of self-harm, 0-3) and the PHQ-9 total
-- change from baseline to the end of induction. Grain: one row per group ($by: 'all', 'route' or
-- 'site') and measure, for the cohort ($cohort). Only evaluable series count (int_end_of_induction:
-- the end-of-induction window has closed, or the series dropped out), so series still in induction
-- are not counted before they could be.
-- Measures (denominator n_series, numerator n_meeting):
--   item9_resolved: series with baseline item 9 >= 1 and an item 9 answered at the end of induction
--     (the last PHQ-9 with item 9 answered from the induction's last session, induction_day, to
--     setting('end_of_induction_days') after it); meeting: that item 9 is 0.
--   item9_emergent: series with baseline item 9 = 0 and an item 9 answered after baseline, up to the
--     end of that window (any later answer for a series that never reached it); meeting: any such
--     item 9 of 1 or more.
--   reliable_deterioration: series with a PHQ-9 baseline and an end-of-induction score; meeting: the
--     score rose by at least the PHQ-9 reliable change (instruments.reliable_change: 6 points, NHS
--     Talking Therapies).
with

cohort as (
    select * from cohort_series($cohort, 'PHQ-9')
),

end_of_induction as (
    select * from int_end_of_induction where instrument = 'PHQ-9' and is_evaluable
),

baselines as (
    select * from int_baselines where instrument = 'PHQ-9'
),

placed as (
    select * from int_series_assessments where instrument = 'PHQ-9' and item9 is not null
),

series as (
    select
        cohort.series_id,
        series_group($by, cohort) as group_value,
        cohort.induction_day,
        baselines.baseline_item9,
        end_of_induction.baseline_score,
        end_of_induction.end_score,
    from cohort
    join end_of_induction using (series_id)
    join baselines using (series_id)
),

answers_after_baseline as (
    -- Item 9 answers after the baseline, up to the end of the end-of-induction window.
    select
        placed.series_id,
        arg_max(placed.item9, placed.assessment_day) filter (
            where placed.assessment_day between series.induction_day
                and series.induction_day + setting('end_of_induction_days')) as end_item9,
        max(placed.item9) as max_item9,
    from placed
    join series using (series_id)
    where placed.series_day > 0
        and (series.induction_day is null
             or placed.assessment_day <= series.induction_day + setting('end_of_induction_days'))
    group by placed.series_id
),

measured as (
    select
        series.group_value,
        'item9_resolved' as measure,
        series.baseline_item9 >= 1 and answers.end_item9 is not null as is_counted,
        answers.end_item9 = 0 as is_meeting,
    from series
    left join answers_after_baseline as answers using (series_id)
    union all
    select
        series.group_value,
        'item9_emergent',
        series.baseline_item9 = 0 and answers.max_item9 is not null,
        answers.max_item9 >= 1,
    from series
    left join answers_after_baseline as answers using (series_id)
    union all
    select
        series.group_value,
        'reliable_deterioration',
        series.end_score is not null,
        is_reliable_deterioration('PHQ-9', series.end_score, series.baseline_score),
    from series
),

measures as (
    select * from (values (1, 'item9_resolved'), (2, 'item9_emergent'), (3, 'reliable_deterioration'))
        as t(measure_order, measure)
),

groups as (
    select distinct group_value from series
),

counted as (
    select
        group_value,
        measure,
        count(*) filter (where is_counted) as n_series,
        count(*) filter (where is_counted and is_meeting) as n_meeting,
    from measured
    group by group_value, measure
),

final as (
    select
        groups.group_value,
        measures.measure,
        coalesce(counted.n_series, 0) as n_series,
        coalesce(counted.n_meeting, 0) as n_meeting,
        rate(coalesce(counted.n_meeting, 0), counted.n_series) as measure_rate,
        wilson_low(coalesce(counted.n_meeting, 0), counted.n_series) as measure_rate_low,
        wilson_high(coalesce(counted.n_meeting, 0), counted.n_series) as measure_rate_high,
        measures.measure_order,
    from groups
    cross join measures
    left join counted using (group_value, measure)
)

select * from final
order by group_value, measure_order
