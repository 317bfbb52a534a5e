-- What the series view's expected range is drawn from, counted once per data version: the scores of the
-- clinic's closed series on $instrument, week by week, by their baseline score.
-- Grain: one row per baseline score, week (0 = the baseline itself) and score, with n_series: how many
-- closed series with that baseline had that score in that week. Closed: the end-of-induction window has
-- closed, or the series dropped out (int_end_of_induction.is_evaluable). Weeks: scored_weeks
-- (cohort_series.sql). Counts, not the scores themselves: the per-view query (care/expected_range.sql)
-- adds up the similar baselines' counts, whose size does not grow with the clinic.
with

closed as (
    select series_id, baseline_score from int_end_of_induction
    where instrument = $instrument and is_evaluable
),

weeks as (
    select * from scored_weeks($instrument)
),

final as (
    select closed.baseline_score, weeks.week, weeks.score, count(*) as n_series,
    from weeks
    join closed using (series_id)
    group by closed.baseline_score, weeks.week, weeks.score
)

select * from final
order by baseline_score, week, score
