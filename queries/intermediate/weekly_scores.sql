-- The score that counts for each week of a series, with its change from baseline and the
-- response, remission and reliable-change rules applied.
-- Grain: one row per series, instrument and week >= 1 with a score. When an instrument is scored
-- more than once in a week, the last one counts.
-- Response: baseline > 0 and score <= response_fraction(instrument) x baseline (setting
-- response_fraction_<key>: 0.5, PCL-5 0.7 after Feder 2021). Remission: score <= the instrument's
-- remission_max (PHQ-9 < 5, GAD-7 < 5, PCL-5 < 33 = below the probable-PTSD cut-off, MADRS <= 10,
-- QIDS-SR16 <= 5). Reliable change: instruments.reliable_change points (PHQ-9 6, GAD-7 4, PCL-5 10),
-- else the Jacobson-Truax threshold 1.96 x sqrt(2) x SD x sqrt(1 - r), with r and SD the settings
-- reliability_<key> and reliability_sd_<key> from one published study when both are above 0
-- (Jacobson & Truax 1991); never the clinic's own SD, which would move the threshold as data accrue.
-- The rules are the macros is_response, is_remission and is_reliable_improvement / _deterioration
-- (macros.sql), which every metric shares.
-- Each row carries its series' cohort attributes, so the weekly marts filter without a join.
with

placed as (
    -- in_build_scope: the patients this build computes (every one, or those whose rows changed: metrics.build).
    select * from int_series_assessments where in_build_scope(patient_id)
),

baselines as (
    select * from int_baselines
),

series as (
    select * from int_treatment_series where in_build_scope(patient_id)
),

last_in_week as (
    select
        series_id,
        instrument,
        week,
        arg_max(score, assessment_day) as score,
        arg_max(item9, assessment_day) as item9,
        max(assessment_day) as assessment_day,
    from placed
    where week >= 1
    group by series_id, instrument, week
),

final as (
    select
        last_in_week.series_id,
        last_in_week.instrument,
        last_in_week.week,
        last_in_week.assessment_day,
        last_in_week.score,
        last_in_week.item9,
        baselines.baseline_score,
        last_in_week.score - baselines.baseline_score as change,
        baselines.baseline_score is not null as is_paired,
        is_response(last_in_week.instrument, last_in_week.score, baselines.baseline_score) as is_response,
        is_remission(last_in_week.instrument, last_in_week.score) as is_remission,
        is_reliable_improvement(last_in_week.instrument, last_in_week.score, baselines.baseline_score)
            as is_reliable_improvement,
        is_reliable_deterioration(last_in_week.instrument, last_in_week.score, baselines.baseline_score)
            as is_reliable_deterioration,
        series.site,
        series.route,
        series.indication,
        series.clinician_id,
        series.age_band,
        series.sex,
        series.series_number,
        series.start_date,
    from last_in_week
    join series using (series_id)
    left join baselines using (series_id, instrument)
)

select * from final
