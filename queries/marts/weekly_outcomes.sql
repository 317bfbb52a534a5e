-- Outcomes by week of treatment series, observed cases (every score that was taken), split by one dimension
-- ($by: as cohort_comparison, macros.sql series_group; 'all' for one line of every series).
-- Grain: one row per group of the split (group_value) and week, for one instrument ($instrument) and cohort
-- ($cohort); week 0 is the baseline. n_scored: series scored that week; n_paired: of those, series with a baseline.
-- Response, remission and reliable change are counted among paired series (definitions in
-- int_weekly_scores); each rate has a Wilson 95% interval, the mean a normal 95% interval.
-- $evaluable_only: only the series whose end-of-induction window has closed or that dropped out
-- (cohort_series.sql, counted_series), the series every end-of-induction figure counts (the Response page's
-- rates by week); false: every series (the trajectories).
with

cohort as (
    select *, series_group($by, series) as group_value,
    from counted_series($cohort, $instrument, $evaluable_only) as series
),

weekly as (
    select cohort.group_value, weekly.*,
    from int_weekly_scores as weekly
    join cohort using (series_id)
    where weekly.instrument = $instrument
),

baseline_week as (
    select
        group_value,
        0 as week,
        count(*) as n_scored,
        avg(baseline_score) as mean_score,
        stddev_samp(baseline_score) as sd_score,
        quantile_cont(baseline_score, [0.25, 0.5, 0.75]) as quartiles,
    from cohort
    where baseline_score is not null
    group by group_value
),

follow_up_weeks as (
    select
        group_value,
        week,
        count(*) as n_scored,
        avg(score) as mean_score,
        stddev_samp(score) as sd_score,
        quantile_cont(score, [0.25, 0.5, 0.75]) as quartiles,
        count(*) filter (where is_paired) as n_paired,
        avg(change) filter (where is_paired) as mean_change,
        count(*) filter (where is_response) as responders,
        count(*) filter (where is_paired and is_remission) as remitters,
        count(*) filter (where is_reliable_improvement) as reliably_improved,
        count(*) filter (where is_reliable_deterioration) as reliably_deteriorated,
    from weekly
    group by group_value, week
),

stacked as (
    select * from baseline_week
    union all by name
    select * from follow_up_weeks
),

final as (
    select
        group_value,
        week,
        n_scored,
        mean_score,
        quartiles[2] as median_score,
        quartiles[1] as q1_score,
        quartiles[3] as q3_score,
        mean_score - 1.96 * sd_score / sqrt(n_scored) as mean_ci_low,
        mean_score + 1.96 * sd_score / sqrt(n_scored) as mean_ci_high,
        n_paired,
        mean_change,
        responders,
        rate(responders, n_paired) as response_rate,
        wilson_low(responders, n_paired) as response_rate_low,
        wilson_high(responders, n_paired) as response_rate_high,
        remitters,
        rate(remitters, n_paired) as remission_rate,
        wilson_low(remitters, n_paired) as remission_rate_low,
        wilson_high(remitters, n_paired) as remission_rate_high,
        reliably_improved,
        rate(reliably_improved, n_paired) as reliable_improvement_rate,
        wilson_low(reliably_improved, n_paired) as reliable_improvement_rate_low,
        wilson_high(reliably_improved, n_paired) as reliable_improvement_rate_high,
        reliably_deteriorated,
        rate(reliably_deteriorated, n_paired) as reliable_deterioration_rate,
        wilson_low(reliably_deteriorated, n_paired) as reliable_deterioration_rate_low,
        wilson_high(reliably_deteriorated, n_paired) as reliable_deterioration_rate_high,
    from stacked
)

select * from final
order by group_value, week
