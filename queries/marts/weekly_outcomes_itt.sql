-- Outcomes by week of treatment series, intention to treat, up to the end of induction: every series with a
-- baseline counts at week w when w is within its induction (below) and the series started at least w weeks
-- before the data's last day. Set beside the observed-case table, it shows how much dropout flatters the
-- observed figures. Every figure is of series with a baseline (docs/metrics.md: series without a baseline).
-- Grain: one row per week for one instrument ($instrument) and cohort ($cohort); week 0 is the baseline.
-- The induction, for intention to treat: weeks 0 to ceil((induction_window_days_<route> +
-- end_of_induction_days) / 7): the protocol's induction and its scoring window (IV and IM 21 + 21 days: week
-- 6; intranasal and oral 28 + 21: week 7). Past it a finished course's unscored weeks are missing follow-up,
-- not relapse, so no baseline is carried past it (shared DOMAIN.md, "After induction"); the observed-case
-- table (weekly_outcomes) goes on with its own n, a group that shrinks.
-- Within it, a week without a score takes the series' last score (its baseline when it has none yet) while
-- the week ends (start + 7 x week) at most setting('itt_carry_days') (14) days after the series' last
-- completed session, or at any week once the series has reached the end of its induction (a finished
-- course's last score): limited last observation carried forward. Other weeks (a series that stopped
-- before the end of its induction) are imputed: not responding and not remitting (non-responder
-- imputation) and the baseline carried into the mean (BOCF). Unlimited LOCF flatters a treatment whose
-- effect fades (NRC 2010; Lachin 2016; Cochrane Handbook).
-- $evaluable_only: only the series whose end-of-induction window has closed or that dropped out
-- (cohort_series.sql, counted_series), as every end-of-induction figure counts them (the Response page).
with

cohort as (
    select * from counted_series($cohort, $instrument, $evaluable_only)
    where baseline_score is not null
),

weekly as (
    select weekly.series_id, weekly.week, weekly.score,
    from int_weekly_scores as weekly
    join cohort using (series_id)
    where weekly.instrument = $instrument
),

induction_windows as (
    -- 'induction_window_days_oral' -> 'oral'; compared with the route in lower case.
    select substr(name, length('induction_window_days_') + 1) as route_key, value as window_days,
    from settings
    where name like 'induction\_window\_days\_%' escape '\'
),

horizons as (
    select
        cohort.*,
        ceil((coalesce(windows.window_days, setting('induction_window_days_iv'))
              + setting('end_of_induction_days')) / 7)::integer as last_itt_week,
    from cohort
    left join induction_windows as windows on windows.route_key = lower(cohort.route)
),

weeks as (
    select unnest(range(0, coalesce((select max(last_itt_week) from horizons), 0) + 1)) as week
),

eligible as (
    select horizons.series_id, horizons.baseline_score, weeks.week,
        horizons.induction_day is not null
            or horizons.start_day + 7 * weeks.week <= horizons.last_session_day + setting('itt_carry_days')
            as may_carry,
    from horizons
    join weeks on weeks.week <= horizons.last_itt_week
    where horizons.start_day + 7 * weeks.week <= horizons.data_last_day
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
        basis <> 'imputed' and is_response($instrument, last_score, baseline_score) as is_response,
        basis <> 'imputed' and is_remission($instrument, last_score) as is_remission,
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
