-- End-of-induction response and remission by cohort: the figures directors compare with published
-- real-world results, split by one dimension ($by: 'all', 'site', 'route', 'indication',
-- 'clinician', 'age_band', 'sex', 'ethnicity', 'deprivation_decile', 'series_number', 'start_quarter',
-- 'start_month'; the equity splits as cohort_series groups them).
-- Grain: one row per group of the cohort ($cohort) for $instrument (macros.sql: series_group).
-- Only evaluable series count (int_end_of_induction: the window has closed, or the series dropped
-- out). Observed: responders / series scored in the window. Intention to treat: responders /
-- evaluable series with a baseline, so a series that never reached the end of induction counts as not
-- responding. A series without a baseline on $instrument has no response to count (response is a fall from
-- baseline): every rate here is "of series with a baseline", and n_evaluable_no_baseline says how many
-- evaluable series of the group (its attributes in the cohort, whatever the minimum baseline) are outside
-- them, so a reader sees what the rates leave out (issue 22, item 5; docs/metrics.md).
with

cohort as (
    select * from cohort_series($cohort, $instrument)
    where baseline_score is not null
),

end_of_induction as (
    select * from int_end_of_induction where instrument = $instrument
),

no_baseline as (
    -- Evaluable as int_end_of_induction has it: dropped out, or the end-of-induction window has closed.
    select series.*
    from equity_grouped_series() as series  -- its equity fields as cohort_series groups them
    anti join (select series_id from int_baselines where instrument = $instrument) as baselines using (series_id)
    where in_cohort($cohort, series.site, series.route, series.indication, series.clinician_id, series.age_band,
                    series.sex, series.series_number, series.start_date)
        and in_equity_filters($cohort, series.ethnicity, series.deprivation_decile)
        and coalesce(series.is_dropped_out
            or series.induction_day + setting('end_of_induction_days') <= series.data_last_day, false)
),

grouped as (
    select
        series_group($by, cohort) as group_value,
        end_of_induction.*,
    from cohort
    join end_of_induction using (series_id)
),

no_baseline_counted as (
    select
        series_group($by, no_baseline) as group_value,
        count(*) as n_evaluable_no_baseline,
    from no_baseline
    group by all
),

counted as (
    select
        group_value,
        count(*) as n_series,
        count(*) filter (where is_evaluable) as n_evaluable,
        count(*) filter (where is_evaluable and end_score is not null) as n_scored,
        count(*) filter (where is_evaluable and is_response) as responders,
        count(*) filter (where is_evaluable and is_remission) as remitters,
    from grouped
    group by group_value
),

final as (
    select
        group_value,
        n_series,
        n_evaluable,
        n_scored,
        responders,
        remitters,
        coalesce(no_baseline_counted.n_evaluable_no_baseline, 0) as n_evaluable_no_baseline,
        rate(responders, n_scored) as response_rate,
        wilson_low(responders, n_scored) as response_rate_low,
        wilson_high(responders, n_scored) as response_rate_high,
        rate(remitters, n_scored) as remission_rate,
        wilson_low(remitters, n_scored) as remission_rate_low,
        wilson_high(remitters, n_scored) as remission_rate_high,
        rate(responders, n_evaluable) as itt_response_rate,
        wilson_low(responders, n_evaluable) as itt_response_rate_low,
        wilson_high(responders, n_evaluable) as itt_response_rate_high,
        rate(remitters, n_evaluable) as itt_remission_rate,
        wilson_low(remitters, n_evaluable) as itt_remission_rate_low,
        wilson_high(remitters, n_evaluable) as itt_remission_rate_high,
    from counted
    left join no_baseline_counted using (group_value)
)

select * from final
order by group_value
