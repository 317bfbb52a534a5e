-- Maintenance after induction: boosters and re-inductions, for directors asking how many boosters
-- patients need and how many come back. Grain: one row per group ($by: 'all', 'route' or 'site') of the
-- cohort ($cohort). Who: series that completed their route's induction (int_treatment_series.induction_day).
-- A booster is a completed session of the same series after the induction's last session, however
-- late (int_series_sessions: after a gap of more than setting('series_gap_days') only a re-induction
-- starts a new series). Re-inducted: the patient has a later series.
with

cohort as (
    select * from cohort_series($cohort, null)
    where induction_day is not null
),

grouped as (
    select
        *,
        series_group($by, cohort) as group_value,
    from cohort
),

boosters as (
    select
        grouped.series_id,
        sessions.session_day,
        sessions.session_day - lag(sessions.session_day, 1, grouped.induction_day)
            over (partition by grouped.series_id order by sessions.session_day, sessions.session_id) as days_since_previous,
        row_number() over (partition by grouped.series_id order by sessions.session_day, sessions.session_id) as booster_number,
    from grouped
    join int_series_sessions as sessions using (patient_id, series_number)
    where sessions.session_number > grouped.induction_sessions
),

per_series as (
    select
        grouped.group_value,
        grouped.series_id,
        count(boosters.session_day) as n_boosters,
        max(boosters.days_since_previous) filter (where boosters.booster_number = 1) as days_to_first_booster,
        exists (select 1 from int_treatment_series as later
                where later.patient_id = grouped.patient_id and later.series_number > grouped.series_number)
            as is_reinducted,
    from grouped
    left join boosters using (series_id)
    group by grouped.group_value, grouped.series_id, grouped.patient_id, grouped.series_number
),

gaps as (
    select grouped.group_value, boosters.days_since_previous,
    from boosters
    join grouped using (series_id)
    where boosters.booster_number > 1
),

final as (
    select
        per_series.group_value,
        count(*) as n_series,
        count(*) filter (where n_boosters > 0) as n_with_boosters,
        rate(n_with_boosters, n_series) as with_boosters_rate,
        sum(n_boosters)::bigint as n_boosters,
        avg(n_boosters) as mean_boosters,
        median(days_to_first_booster) as median_days_to_first_booster,
        (select median(gaps.days_since_previous) from gaps where gaps.group_value = per_series.group_value)
            as median_days_between_boosters,
        count(*) filter (where is_reinducted) as n_reinducted,
        rate(n_reinducted, n_series) as reinduction_rate,
    from per_series
    group by per_series.group_value
)

select * from final
order by group_value
