-- Baseline score of each instrument for each series.
-- Grain: one row per series and instrument that has a baseline. Baseline: the latest assessment of
-- the instrument from setting('baseline_window_days') (default 14) days before the series' first
-- session up to and including that day.
with

placed as (
    -- in_build_scope: the patients this build computes (every one, or those whose rows changed: metrics.build).
    select * from int_series_assessments where in_build_scope(patient_id)
),

in_window as (
    select * from placed
    where series_day between -setting('baseline_window_days') and 0
),

final as (
    select
        series_id,
        instrument,
        arg_max(score, assessment_day) as baseline_score,
        arg_max(item9, assessment_day) as baseline_item9,
        max(assessment_day) as baseline_day,
    from in_window
    group by series_id, instrument
)

select * from final
