-- "Not on track": each series' improvement at its route's checkpoint (expected-treatment-response feedback,
-- Lambert 2001), for one side of the signal at a time: $closed true, the clinic's closed series (what the
-- threshold is learned from and calibrated on, once per data version); false, the active series in $cohort
-- (the list to act on). The series are chosen first, so the active list costs what the active series do.
-- Grain: one row per treatment series on that side with a $instrument baseline above 0 that reached its
-- checkpoint and was scored by then. Checkpoint: the series' setting('not_on_track_session_<route>')-th
-- completed session of its first run (int_series_sessions.is_first_run: before any maintenance gap) (a
-- route without its own setting uses the IV one); its score: the latest $instrument score after the
-- baseline (series day 1 on) up to that session's day. improvement: (baseline - score) / baseline, a
-- fraction (0.3 = 30% lower).
-- is_closed: int_end_of_induction.is_evaluable (window closed, or dropped out); is_eventual_response: it
-- responded at the end of induction. is_active: still to be decided: the end-of-induction window is open,
-- the series has not dropped out and has not already responded at the end of induction. The threshold and
-- the flag: queries/care/checkpoint_thresholds.sql and checkpoint_flags.sql.
with

outcomes as (
    select * from int_end_of_induction
    where instrument = $instrument
        and case when $closed then is_evaluable else not is_evaluable and not is_response end
        and ($closed or series_id in (select series_id from cohort_series($cohort, $instrument)))
),

series as (
    select series.* from int_treatment_series as series semi join outcomes using (series_id)
),

baselines as (
    select * from int_baselines where instrument = $instrument and baseline_score > 0
),

checkpoint_lengths as (
    -- 'not_on_track_session_oral' -> 'oral'; compared with the route in lower case.
    select substr(name, length('not_on_track_session_') + 1) as route_key, value::integer as checkpoint_session,
    from settings
    where name like 'not\_on\_track\_session\_%' escape '\'
),

checkpoints as (
    select
        series.series_id,
        series.patient_id,
        series.series_number,
        series.route,
        series.site,
        series.clinician_id,
        series.start_day,
        coalesce(lengths.checkpoint_session, setting('not_on_track_session_iv'))::integer as checkpoint_session,
    from series
    left join checkpoint_lengths as lengths on lengths.route_key = lower(series.route)
),

reached as (
    select checkpoints.*, sessions.session_day as checkpoint_day,
    from checkpoints
    join int_series_sessions as sessions
        on sessions.patient_id = checkpoints.patient_id
        and sessions.series_number = checkpoints.series_number
        and sessions.session_number = checkpoints.checkpoint_session
        and sessions.is_first_run  -- a maintenance booster after a gap is no step of the induction
        -- true of every session of the series; stated so that DuckDB bounds the scan by the earliest start
        -- among the series asked about (the active ones are recent: most of the clinic's history is skipped)
        and sessions.session_day >= checkpoints.start_day
),

scored as (
    select
        reached.series_id,
        arg_max(placed.score, placed.assessment_day) as checkpoint_score,
        max(placed.assessment_day) as checkpoint_score_day,
    from reached
    join int_series_assessments as placed
        on placed.series_id = reached.series_id
        and placed.instrument = $instrument
        and placed.series_day >= 1
        and placed.assessment_day > reached.start_day  -- series_day >= 1 in days: bounds the scan, as above
        and placed.assessment_day <= reached.checkpoint_day
    group by reached.series_id
),

final as (
    select
        reached.*,
        baselines.baseline_score,
        scored.checkpoint_score,
        scored.checkpoint_score_day,
        (baselines.baseline_score - scored.checkpoint_score) / baselines.baseline_score as improvement,
        not outcomes.is_evaluable and not outcomes.is_response as is_active,
        outcomes.is_evaluable as is_closed,
        outcomes.is_response as is_eventual_response,
        outcomes.end_status,
    from reached
    join baselines using (series_id)
    join scored using (series_id)
    join outcomes using (series_id)
)

select * from final
order by route, series_id
