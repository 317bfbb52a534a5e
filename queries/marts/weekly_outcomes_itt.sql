-- Outcomes by week of treatment series, intention to treat: every series with a baseline that
-- started at least w weeks before the data's last day counts at week w, carrying its last score
-- forward (its baseline when it has none yet). Set beside the observed-case table, it shows how much
-- dropout flatters the observed figures.
-- Grain: one row per week for one instrument ($instrument) and cohort ($cohort); week 0 is the baseline.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
    where baseline_score is not null
),

weekly as (
    select weekly.*
    from int_weekly_scores as weekly
    join cohort using (series_id)
    where weekly.instrument = $instrument
),

instrument as (
    select * from main.instruments where instrument = $instrument
),

weeks as (
    select unnest(range(0, coalesce((select max(week) from weekly), 0) + 1)) as week
),

eligible as (
    select cohort.series_id, cohort.baseline_score, weeks.week,
    from cohort
    cross join weeks
    where cohort.start_day + 7 * weeks.week <= cohort.data_last_day
),

carried as (
    select
        eligible.week,
        eligible.baseline_score,
        coalesce(weekly.score, eligible.baseline_score) as score,
    from eligible
    asof left join weekly
        on weekly.series_id = eligible.series_id and eligible.week >= weekly.week
),

final as (
    select
        carried.week,
        count(*) as n_series,
        avg(carried.score) as mean_score,
        avg(carried.score - carried.baseline_score) as mean_change,
        count(*) filter (where carried.baseline_score > 0
            and carried.score <= setting('response_fraction') * carried.baseline_score) as responders,
        rate(responders, n_series) as response_rate,
        wilson_low(responders, n_series) as response_rate_low,
        wilson_high(responders, n_series) as response_rate_high,
        count(*) filter (where carried.score <= instrument.remission_max) as remitters,
        rate(remitters, n_series) as remission_rate,
        wilson_low(remitters, n_series) as remission_rate_low,
        wilson_high(remitters, n_series) as remission_rate_high,
    from carried
    cross join instrument
    group by carried.week
)

select * from final
order by week
