-- "Not on track": the threshold each route's series are judged against, learned once per data version from
-- the clinic's closed series at their checkpoint (`checkpoint_closed`: queries/care/checkpoint.sql with
-- $closed, registered by care.checkpoint_reference).
-- Grain: one row per route with closed series scored at the checkpoint. Reference: those of the route that
-- responded at the end of induction; n_reference counts them. threshold_improvement: the $quantile quantile
-- (linear interpolation) of their improvement at the checkpoint (setting('not_on_track_quantile'), passed
-- in: DuckDB takes a quantile only as a constant; 0.25: three in four eventual responders had improved more
-- by then), or null when the route has fewer than setting('not_on_track_min_series') reference responders
-- (too few to judge: none of its series is flagged). The threshold is the whole clinic's, whatever the filters.
with

closed as (
    select * from checkpoint_closed
),

reference as (
    select
        route,
        count(*) filter (where is_eventual_response) as n_reference,
        quantile_cont(improvement, $quantile) filter (where is_eventual_response) as threshold_improvement,
    from closed
    group by route
),

final as (
    select
        route,
        n_reference,
        case when n_reference >= setting('not_on_track_min_series') then threshold_improvement end
            as threshold_improvement,
    from reference
)

select * from final
order by route
