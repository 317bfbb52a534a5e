-- Individual series' weekly scores for a spaghetti chart. Grain: one row per series and week (0 =
-- baseline) for $instrument, for at most $max_series series of the cohort ($cohort), chosen by a
-- hash of the series id so the same series are drawn on every rerun (a sample, not the first ones). Their
-- weeks: scored_weeks (cohort_series.sql), week 0 the baseline.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
    where baseline_score is not null
),

weeks as (
    select * from scored_weeks($instrument)
),

chosen as (
    select series_id, baseline_score from cohort
    order by hash(series_id)
    limit $max_series
),

final as (
    select weeks.series_id, weeks.week, weeks.score
    from weeks
    semi join chosen using (series_id)
)

select * from final
order by series_id, week
