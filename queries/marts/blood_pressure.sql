-- Systolic blood-pressure peaks by route. Grain: one row per route in the cohort ($cohort).
-- A peak of 180 mmHg or more is counted as a hypertensive event (the Spravato label asks for
-- monitoring; 180 is the usual threshold to hold a dose).
with

sessions as (
    select * from cohort_sessions($cohort)
),

final as (
    select
        route,
        count(*) as n_sessions,
        count(systolic_bp_peak) as n_measured,
        median(systolic_bp_peak) as median_peak,
        max(systolic_bp_peak) as max_peak,
        count(*) filter (where systolic_bp_peak >= 180) as n_peaks_180,
        rate(n_peaks_180, n_measured) as peak_180_rate,
    from sessions
    group by route
)

select * from final
order by route
