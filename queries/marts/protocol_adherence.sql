-- Protocol adherence: did series complete their induction, and within its window (e.g. 6 infusions in
-- 21 days for IV, Oliver 2022)? Grain: one row per site (or $by: 'all', 'route', 'site', 'clinician')
-- of the cohort ($cohort). Who: series whose induction is decided: completed (it reached the route's
-- induction_sessions) or dropped out (int_treatment_series). Within window: the induction's last
-- session at most setting('induction_window_days_<route>') days after the first (IV 21, IM 21,
-- intranasal 28, oral 28; a route without its own setting uses the IV value).
with

cohort as (
    select * from cohort_series($cohort, null)
    where induction_day is not null or is_dropped_out
),

windows as (
    select substr(name, length('induction_window_days_') + 1) as route_key, value as window_days,
    from settings
    where name like 'induction\_window\_days\_%' escape '\'
),

judged as (
    select
        series_group($by, cohort) as group_value,
        cohort.induction_day is not null as is_completed,
        cohort.induction_day - cohort.start_day
            <= coalesce(windows.window_days, setting('induction_window_days_iv')) as is_within_window,
    from cohort
    left join windows on windows.route_key = lower(cohort.route)
),

final as (
    select
        group_value,
        count(*) as n_series,
        count(*) filter (where is_completed) as n_completed,
        count(*) filter (where is_within_window) as n_within_window,
        rate(n_completed, n_series) as completion_rate,
        rate(n_within_window, n_series) as adherence_rate,
        wilson_low(n_within_window, n_series) as adherence_rate_low,
        wilson_high(n_within_window, n_series) as adherence_rate_high,
    from judged
    group by group_value
)

select * from final
order by group_value
