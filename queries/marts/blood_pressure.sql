-- Blood pressure around a dose, by route. Grain: one row per route in the cohort ($cohort), over its
-- completed sessions.
-- High peak: a systolic peak of at least setting('bp_peak_systolic') (180) mmHg (the Spravato label asks
-- for monitoring after dosing; ACC/AHA 2017: 180 or more is a hypertensive crisis, the usual level to hold
-- a dose).
-- Rise (Spravato label: rises of >= 40 mmHg systolic or >= 25 diastolic after dosing): peak minus
-- pre-dose of at least setting('bp_rise_systolic') (40) systolic or setting('bp_rise_diastolic') (25)
-- diastolic, over sessions with a pre-dose and a peak reading of the same pressure.
-- Raised before dosing (Spravato label: check before dosing, caution above 140/90): a pre-dose
-- systolic above setting('bp_pre_systolic_above') (140) or diastolic above
-- setting('bp_pre_diastolic_above') (90), over sessions with a pre-dose reading.
with

sessions as (
    select * from cohort_sessions($cohort)
),

readings as (
    select
        route,
        systolic_bp_peak,
        systolic_bp_peak - systolic_bp_pre as systolic_rise,
        diastolic_bp_peak - diastolic_bp_pre as diastolic_rise,
        systolic_rise is not null or diastolic_rise is not null as has_rise_pair,
        coalesce(systolic_rise >= setting('bp_rise_systolic'), false)
            or coalesce(diastolic_rise >= setting('bp_rise_diastolic'), false) as is_rise,
        systolic_bp_pre is not null or diastolic_bp_pre is not null as has_pre,
        coalesce(systolic_bp_pre > setting('bp_pre_systolic_above'), false)
            or coalesce(diastolic_bp_pre > setting('bp_pre_diastolic_above'), false) as is_pre_raised,
    from sessions
),

counted as (
    select
        route,
        count(*) as n_sessions,
        count(systolic_bp_peak) as n_measured,
        median(systolic_bp_peak) as median_peak,
        max(systolic_bp_peak) as max_peak,
        count(*) filter (where systolic_bp_peak >= setting('bp_peak_systolic')) as n_high_peaks,
        count(*) filter (where has_rise_pair) as n_rise_measured,
        count(*) filter (where has_rise_pair and is_rise) as n_rises,
        count(*) filter (where has_pre) as n_pre_measured,
        count(*) filter (where has_pre and is_pre_raised) as n_pre_raised,
    from readings
    group by route
),

final as (
    select
        route,
        n_sessions,
        n_measured,
        median_peak,
        max_peak,
        n_high_peaks,
        rate(n_high_peaks, n_measured) as high_peak_rate,
        n_rise_measured,
        n_rises,
        rate(n_rises, n_rise_measured) as rise_rate,
        wilson_low(n_rises, n_rise_measured) as rise_rate_low,
        wilson_high(n_rises, n_rise_measured) as rise_rate_high,
        n_pre_measured,
        n_pre_raised,
        rate(n_pre_raised, n_pre_measured) as pre_raised_rate,
        wilson_low(n_pre_raised, n_pre_measured) as pre_raised_rate_low,
        wilson_high(n_pre_raised, n_pre_measured) as pre_raised_rate_high,
    from counted
)

select * from final
order by route
