-- The range of scores the clinic's own closed series with a similar baseline went through, week by
-- week: what a series starting at $baseline_score on $instrument could expect.
-- Grain: one row per week (0 = baseline) with at least setting('expected_range_min_series') such series
-- scored. Closed: the series' end-of-induction window has closed, or it dropped out
-- (int_end_of_induction.is_evaluable); similar: a baseline within setting('expected_range_baseline_points')
-- of $baseline_score. The series $series_id itself is left out. low / high: the 25th and 75th
-- percentiles of the week's scores (the middle half), median the 50th.
with

closed as (
    select series_id, baseline_score from int_end_of_induction
    where instrument = $instrument
        and is_evaluable
        and series_id <> $series_id
        and abs(baseline_score - $baseline_score) <= setting('expected_range_baseline_points')
),

weekly as (
    select weekly.series_id, weekly.week, weekly.score
    from int_weekly_scores as weekly
    join closed using (series_id)
    where weekly.instrument = $instrument
),

scores as (
    select series_id, 0 as week, baseline_score as score from closed
    union all
    select series_id, week, score from weekly
),

final as (
    select
        week,
        count(*) as n_series,
        quantile_cont(score, 0.25) as low,
        quantile_cont(score, 0.5) as median,
        quantile_cont(score, 0.75) as high,
    from scores
    group by week
    having count(*) >= setting('expected_range_min_series')
)

select * from final
order by week
