-- PHQ-9 item 9 flags and the series each was placed in: what the follow-up list and its counts read, kept
-- once per data version (the follow-ups themselves are read afresh: a mark changes no data version).
-- Grain: one row per flagged PHQ-9 (item 9 of 1 or more: the rule of marts/item9_flags.sql, every PHQ-9 in
-- the data, in a series or not, whatever the filters); a flag is the assessment (patient_id, assessment_day).
-- series_id and week: the series the answer was placed in (int_series_assessments), if any.
with

flagged as (
    select patient_id, assessment_day, assessment_date, score, item9,
    from main.assessments
    where instrument = 'PHQ-9' and item9 >= 1
),

placed as (
    select patient_id, assessment_day, series_id, week,
    from int_series_assessments
    where instrument = 'PHQ-9' and item9 >= 1
),

final as (
    select flagged.*, placed.series_id, placed.week,
    from flagged
    left join placed using (patient_id, assessment_day)
)

select * from final
