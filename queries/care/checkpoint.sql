-- "Not on track": each series' improvement at its route's checkpoint against what the clinic's own
-- eventual responders showed at that point (expected-treatment-response feedback, Lambert 2001).
-- Grain: one row per treatment series with a $instrument baseline above 0 that reached its checkpoint
-- and was scored by then. Checkpoint: the series' setting('not_on_track_session_<route>')-th completed
-- session of its first run (int_series_sessions.is_first_run: before any maintenance gap) (a route without its own setting uses the IV one); its score: the latest $instrument score
-- after the baseline (series day 1 on) up to that session's day. improvement: (baseline - score) /
-- baseline, a fraction (0.3 = 30% lower). Reference: closed series (int_end_of_induction.is_evaluable)
-- of the route that responded at the end of induction (is_response). threshold_improvement: the
-- $quantile quantile of their improvement at the checkpoint (setting('not_on_track_quantile'), passed in:
-- DuckDB takes a quantile only as a constant; 0.25: three in four eventual responders had improved more by
-- then). is_flagged: improvement below that threshold, once the route has at least
-- setting('not_on_track_min_series') reference responders (n_reference; else no threshold).
-- is_active: still to be decided: the end-of-induction window is open, the series has not dropped out and
-- has not already responded at the end of induction.
-- in_cohort: the series is in $cohort (the reference and the threshold are the whole clinic's, whatever
-- the filters).
with

series as (
    select * from int_treatment_series
),

baselines as (
    select * from int_baselines where instrument = $instrument and baseline_score > 0
),

outcomes as (
    select * from int_end_of_induction where instrument = $instrument
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
        and placed.assessment_day <= reached.checkpoint_day
    group by reached.series_id
),

measured as (
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
),

reference as (
    select
        route,
        count(*) as n_reference,
        quantile_cont(improvement, $quantile) as threshold_improvement,
    from measured
    where is_closed and is_eventual_response
    group by route
),

final as (
    select
        measured.*,
        coalesce(reference.n_reference, 0) as n_reference,
        case when reference.n_reference >= setting('not_on_track_min_series') then reference.threshold_improvement end
            as threshold_improvement,
        coalesce(reference.n_reference >= setting('not_on_track_min_series')
            and measured.improvement < reference.threshold_improvement, false) as is_flagged,
        measured.series_id in (select series_id from cohort_series($cohort, $instrument)) as in_cohort,
    from measured
    left join reference using (route)
)

select * from final
order by route, series_id
