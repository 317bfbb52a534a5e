-- How the clinic's PHQ-9 item 9 flags have been followed up, for meeting mode and the meeting pack (counts
-- only, no patient).
-- Grain: one row per state of $states: 'open' (no follow-up recorded), then each outcome of the fixed list
-- (follow_up.OUTCOMES; a flag's state is its latest outcome), with n_flags (0 when none). Flags as in
-- queries/care/item9_follow_up.sql (`item9_flags_placed`, kept per data version; a flag once, whatever
-- series it was placed in).
with

flagged as (
    select distinct patient_id, assessment_day from item9_flags_placed
),

latest as (
    select patient_id, assessment_day, arg_max(outcome, recorded_at) as outcome,
    from item9_follow_ups
    group by patient_id, assessment_day
),

states as (
    select unnest($states) as state, generate_subscripts($states, 1) as position
),

per_flag as (
    select coalesce(latest.outcome, 'open') as state,
    from flagged
    left join latest using (patient_id, assessment_day)
),

final as (
    select states.state, count(per_flag.state) as n_flags,
    from states
    left join per_flag using (state)
    group by states.position, states.state
    order by states.position
)

select * from final
