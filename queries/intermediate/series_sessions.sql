-- Completed sessions numbered into treatment series.
-- Grain: one row per completed session. A series is a patient's completed sessions in day order. A
-- gap of more than setting('series_gap_days') (default 60) between two completed sessions starts a new
-- series only when a re-induction begins there: at least setting('reinduction_min_sessions') (3)
-- completed sessions within setting('reinduction_window_days') (21) days from the first session after
-- the gap (that one included), or a new baseline: an outcome questionnaire (not CADSS) dated after the
-- last session before the gap, from setting('baseline_window_days') (14) days before the first session
-- after the gap up to the day before it. Otherwise the sessions after the gap are maintenance boosters
-- of the series before (DOMAIN.md, "Maintenance, re-induction and follow-up": a re-induction is several
-- sessions close together, typically 3-6 within 2-3 weeks, usually with a new baseline; McInnes 2022
-- and Oliver 2022: induction 6 infusions in about 21 days; a lone booster is not a new course).
-- A questionnaire on the booster's own day is the clinic scoring a visit, not a new baseline.
-- is_first_run: the session comes before any gap of more than series_gap_days within its series, so
-- the induction (int_treatment_series) is counted on these sessions only, never on a late booster.
-- Cancelled and no-show sessions never start, end or count in a series.
with

completed as (
    -- in_build_scope: the patients this build computes (every one, or those whose rows changed: metrics.build).
    select * from sessions where status = 'completed' and in_build_scope(patient_id)
),

completed_days as (
    -- Only the key: the windows below sort these narrow rows, not every column of a session.
    select patient_id, session_day, session_id, from sessions where status = 'completed' and in_build_scope(patient_id)
),

outcome_scores as (
    select assessments.patient_id, assessments.assessment_day,
    from main.assessments as assessments
    join main.instruments as instruments using (instrument)
    where instruments.is_outcome and in_build_scope(assessments.patient_id)
),

ordered as (
    -- One ordering per patient serves every step below (DuckDB sorts once for windows that share it).
    select
        *,
        row_number() over in_order as position,
        lag(session_day) over in_order as previous_day,
        coalesce(session_day - lag(session_day) over in_order > setting('series_gap_days'), false) as is_after_gap,
    from completed_days
    window in_order as (partition by patient_id order by session_day, session_id)
),

after_gaps as (
    -- Few sessions follow a gap: the re-induction tests below look only at them.
    select patient_id, session_id, session_day, previous_day, from ordered where is_after_gap
),

reinduction_windows as (
    -- Completed sessions within reinduction_window_days from each session after a gap, that one included.
    select after_gaps.patient_id, after_gaps.session_id, after_gaps.session_day, count(*) as n_in_window,
    from after_gaps
    join completed_days
        on completed_days.patient_id = after_gaps.patient_id
        and completed_days.session_day between after_gaps.session_day
            and after_gaps.session_day + setting('reinduction_window_days')
    group by after_gaps.patient_id, after_gaps.session_id, after_gaps.session_day
),

new_baselines as (
    -- The sessions after a gap that have an outcome questionnaire before them, since the previous session.
    select distinct after_gaps.patient_id, after_gaps.session_id, after_gaps.session_day,
    from after_gaps
    join outcome_scores
        on outcome_scores.patient_id = after_gaps.patient_id
        and outcome_scores.assessment_day > after_gaps.previous_day
        and outcome_scores.assessment_day between after_gaps.session_day - setting('baseline_window_days')
            and after_gaps.session_day - 1
),

starts as (
    select
        ordered.*,
        ordered.previous_day is null
            or (ordered.is_after_gap
                and (reinduction_windows.n_in_window >= setting('reinduction_min_sessions')
                     or new_baselines.session_id is not null)) as starts_series,
    from ordered
    -- A session is known by its patient, day and id together (the natural key).
    left join reinduction_windows using (patient_id, session_id, session_day)
    left join new_baselines using (patient_id, session_id, session_day)
),

numbered as (
    select
        *,
        sum(starts_series::integer) over in_order::integer as series_number,
        max(case when starts_series then position end) over in_order as series_start_position,
        -- The latest run's start: the first session or one after any gap. A session is on its series' first
        -- run when that run started the series (one window, shared with the two above).
        max(case when previous_day is null or is_after_gap then position end) over in_order as run_start_position,
    from starts
    window in_order as (partition by patient_id order by session_day, session_id rows unbounded preceding)
),

final as (
    select
        patient_id,
        numbered.series_number,
        (numbered.position - numbered.series_start_position + 1)::integer as session_number,
        session_day,
        completed.session_date,
        session_id,
        completed.route,
        completed.site,
        completed.clinician_id,
        completed.dose_mg,
        completed.dose_mg_per_kg,
        completed.adverse_events,
        completed.systolic_bp_peak,
        completed.systolic_bp_pre,
        completed.diastolic_bp_pre,
        completed.diastolic_bp_peak,
        numbered.run_start_position = numbered.series_start_position as is_first_run,
    from numbered
    join completed using (patient_id, session_day, session_id)
)

select * from final
