-- The series a case-mix model of end-of-induction response is fitted on (ketamine_outcomes/metrics/casemix.py):
-- whether each responded, and what a site or clinician cannot choose about its patients, baseline severity,
-- route, indication, age band and sex. Grain: one row per evaluable series of the cohort ($cohort) with a
-- $instrument baseline and an end-of-induction score (cohort_comparison's n_scored), with its group ($by:
-- 'site', 'clinician' or 'all'). Patient-level: read by the model, never shown.
-- Source: indirect standardisation for funnel plots of institutional performance (Spiegelhalter 2005).
with

cohort as (
    select * from cohort_series($cohort, $instrument)
    where baseline_score is not null
),

end_of_induction as (
    select * from int_end_of_induction
    where instrument = $instrument and is_evaluable and end_score is not null
),

final as (
    select
        series_group($by, cohort) as group_value,
        cohort.series_id,
        end_of_induction.is_response,
        end_of_induction.baseline_score,
        coalesce(cohort.route, 'unknown') as route,
        coalesce(cohort.indication, 'unknown') as indication,
        coalesce(cohort.age_band, 'unknown') as age_band,
        coalesce(cohort.sex, 'unknown') as sex,
    from cohort
    join end_of_induction using (series_id)
)

select * from final
order by group_value, series_id
