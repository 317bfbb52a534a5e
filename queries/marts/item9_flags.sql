-- Every PHQ-9 with item 9 (thoughts of self-harm) scored 1 or more, for clinical follow-up.
-- Grain: one row per flagged assessment in a series of the cohort ($cohort). Any non-zero item 9 is
-- a safety signal: one-year suicide-attempt risk rose from 0.4% (item 9 = 0) to 4% (item 9 = 3) in
-- Simon 2013. is_rise: item 9 is higher than at the series' baseline (or there was none).
with

cohort as (
    select * from cohort_series($cohort, 'PHQ-9')
),

placed as (
    select placed.*
    from int_series_assessments as placed
    join cohort using (series_id)
    where placed.instrument = 'PHQ-9' and placed.item9 >= 1
),

baselines as (
    select * from int_baselines where instrument = 'PHQ-9'
),

final as (
    select
        placed.patient_id,
        placed.series_number,
        placed.week,
        placed.assessment_date,
        placed.assessment_day,
        placed.score,
        placed.item9,
        baselines.baseline_item9,
        placed.item9 > coalesce(baselines.baseline_item9, 0) as is_rise,
    from placed
    left join baselines using (series_id)
)

select * from final
order by assessment_day desc, patient_id
