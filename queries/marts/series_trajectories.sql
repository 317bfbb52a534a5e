-- Individual series' weekly scores for a spaghetti chart. Grain: one row per series and week (0 =
-- baseline) for $instrument, for at most $max_series series of the cohort ($cohort), chosen by a
-- hash of the series id so the same series are drawn on every rerun (a sample, not the first ones).
with

cohort as (
    select * from cohort_series($cohort, $instrument)
    where baseline_score is not null
),

chosen as (
    select series_id, baseline_score from cohort
    order by hash(series_id)
    limit $max_series
),

weekly as (
    select weekly.series_id, weekly.week, weekly.score
    from int_weekly_scores as weekly
    join chosen using (series_id)
    where weekly.instrument = $instrument
),

final as (
    select series_id, 0 as week, baseline_score as score from chosen
    union all
    select series_id, week, score from weekly
)

select * from final
order by series_id, week
