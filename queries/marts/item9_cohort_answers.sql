-- PHQ-9 item 9 (thoughts of self-harm) answers of 1 or more given in the series of the cohort: the
-- meeting pack's item 9 counts, which follow its filters (site, route, ... and the period's series
-- starts) as every other count of its safety section does. The Safety page's list and the follow-up
-- page hold every flag of the clinic instead (item9_flags.sql: for follow-up, whatever the filters).
-- Grain: one row per flagged PHQ-9 placed in a series of the cohort ($cohort); a screening PHQ-9 in no
-- series belongs to no cohort and is not counted here.
-- is_rise: item 9 is higher than at the series' baseline (or there was no baseline item 9), as in
-- item9_flags.sql.
with

cohort as (
    select series_id, patient_id from cohort_series($cohort, 'PHQ-9')
),

placed as (
    select * from int_series_assessments where instrument = 'PHQ-9' and item9 >= 1
),

baselines as (
    select * from int_baselines where instrument = 'PHQ-9'
),

final as (
    select
        cohort.patient_id,
        cohort.series_id,
        placed.assessment_day,
        placed.item9,
        placed.item9 > coalesce(baselines.baseline_item9, 0) as is_rise,
    from placed
    join cohort using (series_id)
    left join baselines using (series_id)
)

select * from final
