-- One treatment series as int_treatment_series holds it (route, induction length and day, last session,
-- the data's last day, dropped out), for the series view's reasons.
-- Grain: one row for the series $series_id (none when no series has that id).
with

final as (
    select * from int_treatment_series where series_id = $series_id
)

select * from final
