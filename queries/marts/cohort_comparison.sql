-- End-of-induction response and remission by cohort: the figures directors compare with published
-- real-world results, split by one dimension ($by: 'all', 'site', 'route', 'indication',
-- 'clinician', 'age_band', 'sex', 'series_number', 'start_quarter', 'start_month').
-- Grain: one row per group of the cohort ($cohort) for $instrument.
-- Only evaluable series count (int_end_of_induction: the window has closed, or the series dropped
-- out). Observed: responders / series scored in the window. Intention to treat: responders /
-- evaluable series, so a series that never reached the end of induction counts as not responding.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
    where baseline_score is not null
),

end_of_induction as (
    select * from int_end_of_induction where instrument = $instrument
),

grouped as (
    select
        case $by
            when 'site' then cohort.site
            when 'route' then cohort.route
            when 'indication' then cohort.indication
            when 'clinician' then cohort.clinician_id
            when 'age_band' then cohort.age_band
            when 'sex' then cohort.sex
            when 'series_number' then cohort.series_number::varchar
            when 'start_quarter' then cohort.start_quarter
            when 'start_month' then cohort.start_month
            else 'all'
        end as group_value,
        end_of_induction.*,
    from cohort
    join end_of_induction using (series_id)
),

counted as (
    select
        group_value,
        count(*) as n_series,
        count(*) filter (where is_evaluable) as n_evaluable,
        count(*) filter (where is_evaluable and end_score is not null) as n_scored,
        count(*) filter (where is_evaluable and is_response) as responders,
        count(*) filter (where is_evaluable and is_remission) as remitters,
    from grouped
    group by group_value
),

final as (
    select
        group_value,
        n_series,
        n_evaluable,
        n_scored,
        responders,
        remitters,
        rate(responders, n_scored) as response_rate,
        wilson_low(responders, n_scored) as response_rate_low,
        wilson_high(responders, n_scored) as response_rate_high,
        rate(remitters, n_scored) as remission_rate,
        wilson_low(remitters, n_scored) as remission_rate_low,
        wilson_high(remitters, n_scored) as remission_rate_high,
        rate(responders, n_evaluable) as itt_response_rate,
        wilson_low(responders, n_evaluable) as itt_response_rate_low,
        wilson_high(responders, n_evaluable) as itt_response_rate_high,
        rate(remitters, n_evaluable) as itt_remission_rate,
        wilson_low(remitters, n_evaluable) as itt_remission_rate_low,
        wilson_high(remitters, n_evaluable) as itt_remission_rate_high,
    from counted
)

select * from final
order by group_value
