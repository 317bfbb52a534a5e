-- Adverse events per completed session, by event and one dimension ($by: 'route',
-- 'session_number', 'dose_band' or 'all'). Grain: one row per group and event, zeros included.
-- Dose band: mg/kg when the export has it (< 0.5, 0.5-0.74, 0.75-0.99, >= 1.0), else the dose in mg.
-- Compare with the Spravato label (dissociation 41%, dizziness 29%, nausea 28% per esketamine arm).
with

sessions as (
    select * from cohort_sessions($cohort)
),

events as (
    select * from adverse_event_kinds()
),

grouped as (
    select
        case $by
            when 'route' then route
            when 'session_number' then session_number::varchar
            when 'dose_band' then case
                when dose_mg_per_kg < 0.5 then '< 0.5 mg/kg'
                when dose_mg_per_kg < 0.75 then '0.5-0.74 mg/kg'
                when dose_mg_per_kg < 1.0 then '0.75-0.99 mg/kg'
                when dose_mg_per_kg >= 1.0 then '>= 1.0 mg/kg'
                when dose_mg is not null then round(dose_mg)::integer || ' mg'
                else 'unknown'
            end
            else 'all'
        end as group_value,
        case $by
            when 'session_number' then session_number
            when 'dose_band' then coalesce(dose_mg_per_kg * 1000, dose_mg * 1000000, 1e12)
            else 0
        end as group_order,
        adverse_events,
    from sessions
),

per_group as (
    select group_value, min(group_order) as group_order, count(*) as n_sessions,
    from grouped
    group by group_value
),

session_events as (
    select group_value, event, from session_adverse_events('grouped')
),

counted as (
    select group_value, event, count(*) as n_events,
    from session_events
    group by group_value, event
),

final as (
    select
        per_group.group_value,
        events.event,
        per_group.n_sessions,
        coalesce(counted.n_events, 0) as n_events,
        rate(coalesce(counted.n_events, 0), per_group.n_sessions) as event_rate,
        wilson_low(coalesce(counted.n_events, 0), per_group.n_sessions) as event_rate_low,
        wilson_high(coalesce(counted.n_events, 0), per_group.n_sessions) as event_rate_high,
        per_group.group_order,
    from per_group
    cross join events
    left join counted using (group_value, event)
)

select * from final
order by group_order, group_value, event
