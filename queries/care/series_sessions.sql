-- The completed sessions of one treatment series, for the series view.
-- Grain: one row per completed session of the series $series_id (int_series_sessions: cancelled and
-- no-show sessions never belong to a series). Reads that series' rows only. blood_pressure_pre and
-- blood_pressure_peak: systolic/diastolic as read ('?' for a reading missing from a pair).
with

series as (
    select patient_id, series_number from int_treatment_series where series_id = $series_id
),

sessions as (
    select * from int_series_sessions
),

final as (
    select
        sessions.session_number,
        sessions.session_day,
        sessions.session_date,
        sessions.route,
        sessions.dose_mg,
        sessions.dose_mg_per_kg,
        sessions.adverse_events,
        sessions.systolic_bp_pre,
        sessions.diastolic_bp_pre,
        sessions.systolic_bp_peak,
        sessions.diastolic_bp_peak,
        case when coalesce(sessions.systolic_bp_pre, sessions.diastolic_bp_pre) is not null
            then coalesce(sessions.systolic_bp_pre::varchar, '?') || '/' || coalesce(sessions.diastolic_bp_pre::varchar, '?')
        end as blood_pressure_pre,
        case when coalesce(sessions.systolic_bp_peak, sessions.diastolic_bp_peak) is not null
            then coalesce(sessions.systolic_bp_peak::varchar, '?') || '/' || coalesce(sessions.diastolic_bp_peak::varchar, '?')
        end as blood_pressure_peak,
        sessions.site,
        sessions.clinician_id,
    from sessions
    join series using (patient_id, series_number)
)

select * from final
order by session_number
