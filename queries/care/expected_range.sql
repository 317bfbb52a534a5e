-- The range of scores the clinic's own closed series with a similar baseline went through, week by
-- week: what a series starting at $baseline_score on $instrument could expect.
-- Grain: one row per week (0 = baseline) with at least setting('min_cell_size') such series
-- scored (the clinic's small-cell threshold, as everywhere else). Closed: the series' end-of-induction window has closed, or it dropped out
-- (int_end_of_induction.is_evaluable); similar: a baseline within setting('expected_range_baseline_points')
-- of $baseline_score. The series $series_id itself is left out. low / high: the 25th and 75th
-- percentiles of the week's scores (the middle half), median the 50th, each as quantile_cont takes it
-- (linear interpolation between the scores ranked floor and ceil of q x (n - 1), from 0).
-- Reads `expected_range_counts` (care/expected_range_counts.sql for $instrument, counted once per data
-- version and registered by care.expected_range) and the series' own weeks, never the other series' rows.
with

counts as (
    select * from expected_range_counts
),

own_closed as (
    select baseline_score from int_end_of_induction
    where series_id = $series_id and instrument = $instrument and is_evaluable
),

own_weeks as (
    select * from scored_weeks($instrument) where series_id = $series_id
),

similar_baselines as (
    select week, score, n_series from counts
    where abs(baseline_score - $baseline_score) <= setting('expected_range_baseline_points')
),

left_out as (
    -- the series itself, when it is one of the similar closed series: taken back out of the counts
    select own_weeks.week, own_weeks.score, -1 as n_series,
    from own_weeks
    join own_closed on abs(own_closed.baseline_score - $baseline_score) <= setting('expected_range_baseline_points')
),

counted as (
    select week, score::double as score, sum(n_series) as n_series,
    from (select * from similar_baselines union all select * from left_out)
    group by week, score
    having sum(n_series) > 0
),

ranked as (
    -- each score's copies hold ranks first_rank to first_rank + n_series - 1 of the week's sorted scores
    select
        week,
        score,
        n_series,
        sum(n_series) over (partition by week order by score) - n_series as first_rank,
        sum(n_series) over (partition by week) as n_week,
    from counted
),

positions as (
    select *, q, q * (n_week - 1) as position,
    from ranked, (select unnest([0.25, 0.5, 0.75]) as q)
),

quantiles as (
    select
        week,
        q,
        any_value(n_week) as n_series,
        any_value(position) as position,
        min(score) filter (where first_rank + n_series > floor(position)) as below,
        min(score) filter (where first_rank + n_series > ceil(position)) as above,
    from positions
    group by week, q
),

final as (
    select
        week,
        any_value(n_series)::bigint as n_series,
        any_value(below + (position - floor(position)) * (above - below)) filter (where q = 0.25) as low,
        any_value(below + (position - floor(position)) * (above - below)) filter (where q = 0.5) as median,
        any_value(below + (position - floor(position)) * (above - below)) filter (where q = 0.75) as high,
    from quantiles
    group by week
    having any_value(n_series) >= setting('min_cell_size')
)

select * from final
order by week
