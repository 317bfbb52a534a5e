-- "Not on track": which series at their checkpoint are below their route's threshold, the rule applied once
-- for both sides of the signal (the active list, and the closed series the calibration counts).
-- Grain: one row per row of `checkpoint_series` (queries/care/checkpoint.sql), with its route's n_reference
-- and threshold_improvement from `checkpoint_thresholds` (queries/care/checkpoint_thresholds.sql; both
-- registered by care.flag_at_checkpoint). is_flagged: improvement below the threshold; never on a route
-- without one (too few reference responders).
with

measured as (
    select * from checkpoint_series
),

thresholds as (
    select * from checkpoint_thresholds
),

final as (
    select
        measured.*,
        coalesce(thresholds.n_reference, 0) as n_reference,
        thresholds.threshold_improvement,
        coalesce(measured.improvement < thresholds.threshold_improvement, false) as is_flagged,
    from measured
    left join thresholds using (route)
)

select * from final
order by route, series_id
