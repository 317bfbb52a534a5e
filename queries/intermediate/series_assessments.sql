-- Assessments placed in a treatment series and a week of it.
-- Grain: one row per assessment that belongs to a series. An assessment belongs to the latest
-- series whose start day minus setting('baseline_window_days') (default 14) is on or before its day.
-- Week of series: day 0 and before is week 0 (the baseline window); days start+1 .. start+7 are
-- week 1, start+8 .. start+14 week 2, and so on.
with

-- in_build_scope: the patients this build computes (every one, or those whose rows changed: metrics.build).
assessments as (
    select * from main.assessments where in_build_scope(patient_id)
),

series as (
    select * from int_treatment_series where in_build_scope(patient_id)
),

placed as (
    select
        series.series_id,
        series.patient_id,
        series.series_number,
        assessments.instrument,
        assessments.assessment_day,
        assessments.assessment_date,
        assessments.score,
        assessments.item9,
        assessments.assessment_day - series.start_day as series_day,
    from assessments
    asof join series
        on assessments.patient_id = series.patient_id
        and assessments.assessment_day >= series.start_day - setting('baseline_window_days')
),

final as (
    select
        *,
        case when series_day <= 0 then 0 else ceil(series_day / 7)::integer end as week,
    from placed
)

select * from final
