-- The end-of-induction score: the figure directors compare with published real-world results.
-- Grain: one row per series and instrument with a baseline. The score is the last one from the day
-- of the series' own induction_sessions-th completed session (int_treatment_series: IV 6, IM 6,
-- intranasal 8, oral 4) to
-- setting('end_of_induction_days') (default 21) days after it (McInnes 2022 assessed 14-31 days
-- after induction). A series that never reaches that session has no score and, in the
-- intention-to-treat view, counts as not responding. A series is evaluable once its window has
-- closed (or it dropped out): only evaluable series enter the intention-to-treat denominator.
-- end_status: remission, response, no response, no score (reached the induction's end but not
-- scored in its window) or not reached (fewer completed sessions than the induction).
with

series as (
    -- in_build_scope: the patients this build computes (every one, or those whose rows changed: metrics.build).
    select * from int_treatment_series where in_build_scope(patient_id)
),

baselines as (
    select * from int_baselines
),

placed as (
    select * from int_series_assessments where in_build_scope(patient_id)
),

in_window as (
    select
        placed.series_id,
        placed.instrument,
        arg_max(placed.score, placed.assessment_day) as score,
        max(placed.assessment_day) as assessment_day,
    from placed
    join series using (series_id)
    where placed.assessment_day between series.induction_day
        and series.induction_day + setting('end_of_induction_days')
    group by placed.series_id, placed.instrument
),

scored as (
    select
        baselines.series_id,
        baselines.instrument,
        baselines.baseline_score,
        in_window.score as end_score,
        in_window.assessment_day as end_day,
        series.induction_day is not null as reached_induction_end,
        coalesce(series.is_dropped_out
            or series.induction_day + setting('end_of_induction_days') <= series.data_last_day, false) as is_evaluable,
        coalesce(is_response(baselines.instrument, in_window.score, baselines.baseline_score), false) as is_response,
        coalesce(is_remission(baselines.instrument, in_window.score), false) as is_remission,
    from baselines
    join series using (series_id)
    left join in_window using (series_id, instrument)
),

final as (
    select
        *,
        case
            when not reached_induction_end then 'not reached'
            when end_score is null then 'no score'
            when is_remission then 'remission'
            when is_response then 'response'
            else 'no response'
        end as end_status,
    from scored
)

select * from final
