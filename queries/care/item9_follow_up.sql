-- PHQ-9 item 9 flags with their follow-up, open flags first: the list a care team works through.
-- Grain: one row per flagged PHQ-9 (`item9_flags_placed`: queries/care/item9_flags_placed.sql, kept per data
-- version and registered by follow_up.flags). Its follow-up is its latest row of item9_follow_ups (outcome,
-- who, when; n_follow_ups counts them all); is_open: none recorded. series_id and week: the series the
-- answer was placed in, if any.
-- The page asks for a screenful: $only_open (open flags only), $patient (ids starting with it; null: all) and
-- at most $limit rows (a large network holds tens of thousands of flags; the counts are the counts query's).
with

flagged as (
    select * from item9_flags_placed
),

follow_ups as (
    select
        patient_id,
        assessment_day,
        arg_max(outcome, recorded_at) as outcome,
        arg_max(recorded_by, recorded_at) as recorded_by,
        max(recorded_at) as recorded_at,
        count(*) as n_follow_ups,
    from item9_follow_ups
    group by patient_id, assessment_day
),

wanted as (
    select * from flagged where $patient is null or starts_with(patient_id, $patient)
),

final as (
    select
        flagged.patient_id,
        flagged.series_id,
        flagged.week,
        flagged.assessment_date,
        flagged.assessment_day,
        flagged.score,
        flagged.item9,
        follow_ups.outcome,
        follow_ups.recorded_by,
        follow_ups.recorded_at,
        coalesce(follow_ups.n_follow_ups, 0) as n_follow_ups,
        follow_ups.outcome is null as is_open,
    from wanted as flagged
    left join follow_ups using (patient_id, assessment_day)
)

select * from final
where is_open or not $only_open
order by is_open desc, assessment_day desc, patient_id
limit $limit
