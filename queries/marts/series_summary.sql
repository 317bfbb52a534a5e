-- One line per treatment series: what happened to each patient's series on one instrument.
-- Grain: one row per series in the cohort ($cohort) for $instrument. pct_change is
-- (last - baseline) / baseline as a fraction; end_status is the end-of-induction result
-- (int_end_of_induction): remission, response, no response, no score (reached the induction's end
-- but was not scored in its window), not reached (fewer completed sessions than the induction), or
-- no baseline (int_end_of_induction defines them); is_evaluable: the end-of-induction window has closed
-- or the series dropped out (only these enter end-of-induction figures; an open window's status may
-- change). Dropped out: fewer completed sessions than the induction and none in the last
-- setting('dropout_quiet_days') days of the data.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
),

weekly as (
    -- The cohort's series only, before they are aggregated: the series view asks about one series.
    select * from int_weekly_scores
    where instrument = $instrument and series_id in (select series_id from cohort)
),

end_of_induction as (
    select * from int_end_of_induction where instrument = $instrument
),

per_series as (
    select
        series_id,
        count(*) as weeks_observed,
        arg_max(score, week) as last_score,
        min(score) as best_score,
        min(week) filter (where is_response) as first_response_week,
    from weekly
    group by series_id
),

final as (
    select
        cohort.series_id,
        cohort.patient_id,
        cohort.series_number,
        cohort.route,
        cohort.site,
        cohort.clinician_id,
        cohort.indication,
        cohort.start_date,
        cohort.start_day,
        cohort.sessions_completed,
        coalesce(per_series.weeks_observed, 0) as weeks_observed,
        cohort.baseline_score,
        per_series.last_score,
        per_series.best_score,
        case when cohort.baseline_score > 0
            then (per_series.last_score - cohort.baseline_score) / cohort.baseline_score end as pct_change,
        end_of_induction.end_score,
        coalesce(end_of_induction.end_status, 'no baseline') as end_status,
        coalesce(end_of_induction.is_evaluable, false) as is_evaluable,
        case when end_of_induction.end_score is not null and cohort.baseline_score > 0
            then (end_of_induction.end_score - cohort.baseline_score) / cohort.baseline_score end as end_pct_change,
        per_series.first_response_week,
        cohort.is_dropped_out,
    from cohort
    left join per_series using (series_id)
    left join end_of_induction using (series_id)
)

select * from final
order by patient_id, series_number
