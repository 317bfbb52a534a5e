-- How long an end-of-induction response lasts: a Kaplan-Meier estimate (Kaplan & Meier 1958), as
-- McInnes 2022 followed sustained response after induction.
-- Grain: one row per group ($by: 'all', 'route' or 'site') and day since the end-of-induction score at
-- which a series lost its response or was censored, for $instrument and the cohort ($cohort).
-- Who: series whose end-of-induction score met response (int_end_of_induction). Event: the first later
-- score of the series above the response threshold (score > response_fraction($instrument) x baseline),
-- or the start of the patient's next series (a re-induction), whichever comes first. Censored: at the
-- series' last score when neither happened (day 0 when it has no later score).
-- survival: the share still responding; median_days: the first day it is 0.5 or less (null when not
-- reached). The estimate itself is the kaplan_meier macro (macros.sql).
-- Censoring is most of this curve (most responders are never scored again), so beside it: n_responders and
-- n_followed_up (responders with any later score) on every row of the group, and survival_if_lost, a lower
-- bound that counts every censored series as having lost its response when it left (the share still
-- followed and responding). The truth lies between the two when those lost to follow-up did no better than
-- not responding at worst.
-- Boosters: a maintenance booster is a session of the same series (int_series_sessions), neither an event
-- nor a censoring; a score at a booster visit is a later score like any other. So a response kept with
-- boosters counts as sustained; only a score above the threshold or a re-induction (a new series) ends it.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
),

responders as (
    select
        cohort.series_id,
        cohort.patient_id,
        cohort.series_number,
        end_of_induction.end_day,
        end_of_induction.baseline_score,
        series_group($by, cohort) as group_value,
    from int_end_of_induction as end_of_induction
    join cohort using (series_id)
    where end_of_induction.instrument = $instrument and end_of_induction.is_response
),

later_scores as (
    select
        responders.series_id,
        placed.assessment_day - responders.end_day as day,
        not is_response($instrument, placed.score, responders.baseline_score) as is_lost,
    from responders
    join int_series_assessments as placed
        on placed.series_id = responders.series_id
        and placed.instrument = $instrument
        and placed.assessment_day > responders.end_day
),

followed as (
    select
        series_id,
        min(day) filter (where is_lost) as lost_day,
        max(day) as last_score_day,
    from later_scores
    group by series_id
),

reinductions as (
    select responders.series_id, next_series.start_day - responders.end_day as reinduction_day,
    from responders
    join int_treatment_series as next_series
        on next_series.patient_id = responders.patient_id
        and next_series.series_number = responders.series_number + 1
),

durations as (
    select
        responders.group_value,
        followed.series_id is not null as is_followed_up,
        least(followed.lost_day, reinductions.reinduction_day) is not null as is_event,
        coalesce(least(followed.lost_day, reinductions.reinduction_day), followed.last_score_day, 0) as day,
    from responders
    left join followed using (series_id)
    left join reinductions using (series_id)
),

followed_up as (
    select
        group_value,
        count(*) as n_responders,
        count(*) filter (where is_followed_up) as n_followed_up,
    from durations
    group by group_value
),

estimated as (
    select * from kaplan_meier('durations')
),

final as (
    select
        estimated.*,
        product(1 - (estimated.n_events + estimated.n_censored) / estimated.n_at_risk)
            over (partition by estimated.group_value order by estimated.day) as survival_if_lost,
        followed_up.n_responders,
        followed_up.n_followed_up,
    from estimated
    join followed_up using (group_value)
)

select * from final
order by group_value, day
