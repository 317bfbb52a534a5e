-- Outcomes by week of treatment series, intention to treat: every series with a baseline that
-- started at least w weeks before the data's last day counts at week w. Set beside the observed-case
-- table, it shows how much dropout flatters the observed figures.
-- Grain: one row per week for one instrument ($instrument) and cohort ($cohort); week 0 is the baseline.
-- A week without a score takes the series' last score (its baseline when it has none yet) only while
-- the week ends (start + 7 x week) at most setting('itt_carry_days') (14) days after the series' last
-- completed session: limited last observation carried forward. Later weeks are imputed: not
-- responding and not remitting (non-responder imputation) and the baseline carried into the mean
-- (BOCF). Unlimited LOCF flatters a treatment whose effect fades (NRC 2010; Lachin 2016; Cochrane Handbook).
with

cohort as (
    select * from cohort_series($cohort, $instrument)
    where baseline_score is not null
),

weekly as (
    select weekly.series_id, weekly.week, weekly.score,
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
        cohort.start_day + 7 * weeks.week <= cohort.last_session_day + setting('itt_carry_days') as may_carry,
    from cohort
    cross join weeks
    where cohort.start_day + 7 * weeks.week <= cohort.data_last_day
),

last_scores as (
    select
        eligible.week,
        eligible.baseline_score,
        eligible.may_carry,
        weekly.week as scored_week,
        coalesce(weekly.score, eligible.baseline_score) as last_score,
    from eligible
    asof left join weekly
        on weekly.series_id = eligible.series_id and eligible.week >= weekly.week
),

classified as (
    select
        week,
        baseline_score,
        case
            when week = 0 or scored_week = week then 'observed'
            when may_carry then 'carried'
            else 'imputed'
        end as basis,
        case when basis = 'imputed' then baseline_score else last_score end as score,
        basis <> 'imputed' and baseline_score > 0
            and last_score <= response_fraction($instrument) * baseline_score as is_response,
        basis <> 'imputed' and last_score <= (select remission_max from instrument) as is_remission,
    from last_scores
),

final as (
    select
        week,
        count(*) as n_series,
        count(*) filter (where basis = 'observed') as n_observed,
        count(*) filter (where basis = 'carried') as n_carried,
        count(*) filter (where basis = 'imputed') as n_imputed,
        avg(score) as mean_score,
        avg(score - baseline_score) as mean_change,
        count(*) filter (where is_response) as responders,
        rate(responders, n_series) as response_rate,
        wilson_low(responders, n_series) as response_rate_low,
        wilson_high(responders, n_series) as response_rate_high,
        count(*) filter (where is_remission) as remitters,
        rate(remitters, n_series) as remission_rate,
        wilson_low(remitters, n_series) as remission_rate_low,
        wilson_high(remitters, n_series) as remission_rate_high,
    from classified
    group by week
)

select * from final
order by week
