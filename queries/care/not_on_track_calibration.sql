-- How well the "not on track" signal works on the clinic's own closed series: of those flagged at the
-- checkpoint, how many went on to respond at the end of induction, against those not flagged.
-- Grain: one row per group ('all', then each route) and flag (flagged or not), over the closed series of
-- `checkpoint_series` (queries/care/checkpoint.sql, registered by care.not_on_track). response_rate with
-- its Wilson 95% interval (Wilson 1927). is_enough: at least setting('not_on_track_min_series') closed
-- series in the row, else too few to judge. The threshold is learned from these same series (their
-- responders), so the contrast is flattering: a check, not a validation.
with

closed as (
    select * from checkpoint_series where is_closed and threshold_improvement is not null
),

grouped as (
    select 'all' as group_value, is_flagged, is_eventual_response from closed
    union all
    select route as group_value, is_flagged, is_eventual_response from closed
),

final as (
    select
        group_value,
        is_flagged,
        count(*) as n_closed,
        count(*) filter (where is_eventual_response) as n_responded,
        rate(n_responded, n_closed) as response_rate,
        wilson_low(n_responded, n_closed) as response_rate_low,
        wilson_high(n_responded, n_closed) as response_rate_high,
        n_closed >= setting('not_on_track_min_series') as is_enough,
    from grouped
    group by group_value, is_flagged
)

select * from final
order by group_value = 'all' desc, group_value, is_flagged desc
