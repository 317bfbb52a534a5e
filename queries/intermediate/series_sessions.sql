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
        count(*) over (partition by patient_id order by session_day
                       range between current row and setting('reinduction_window_days')::integer following)
            as n_in_reinduction_window,
    from completed
    window in_order as (partition by patient_id order by session_day, session_id)
),

new_baselines as (
    -- The sessions after a gap that have an outcome questionnaire before them, since the previous session.
    select distinct ordered.patient_id, ordered.session_id, ordered.session_day,
    from ordered
    join outcome_scores
        on outcome_scores.patient_id = ordered.patient_id
        and outcome_scores.assessment_day > ordered.previous_day
        and outcome_scores.assessment_day between ordered.session_day - setting('baseline_window_days')
            and ordered.session_day - 1
    where ordered.is_after_gap
),

starts as (
    select
        ordered.*,
        ordered.previous_day is null
            or (ordered.is_after_gap
                and (ordered.n_in_reinduction_window >= setting('reinduction_min_sessions')
                     or new_baselines.session_id is not null)) as starts_series,
    from ordered
    left join new_baselines using (patient_id, session_id, session_day)
),

numbered as (
    select
        *,
        sum(starts_series::integer) over in_order::integer as series_number,
        max(case when starts_series then position end) over in_order as series_start_position,
        -- Gaps the patient has had so far that started no series (boosters after them).
        sum((is_after_gap and not starts_series)::integer) over in_order as booster_gaps,
    from starts
    window in_order as (partition by patient_id order by session_day, session_id rows unbounded preceding)
),

runs as (
    select
        *,
        -- Such gaps within this series so far: 0 on its first run (its start is the latest start row).
        booster_gaps - max(case when starts_series then booster_gaps end) over in_order as gaps_in_series,
    from numbered
    window in_order as (partition by patient_id order by session_day, session_id rows unbounded preceding)
),

final as (
    select
        patient_id,
        series_number,
        (position - series_start_position + 1)::integer as session_number,
        session_day,
        session_date,
        session_id,
        route,
        site,
        clinician_id,
        dose_mg,
        dose_mg_per_kg,
        adverse_events,
        systolic_bp_peak,
        systolic_bp_pre,
        diastolic_bp_pre,
        diastolic_bp_peak,
        gaps_in_series = 0 as is_first_run,
    from runs
)

select * from final
