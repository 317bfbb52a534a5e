-- How each indication is shown: the export's own spelling, compared case-insensitively (alias_key), the
-- most frequent over every patient (ties: the first stored), so 'Chronic pain' and 'chronic pain' are one group.
-- Grain: one row per indication key. Read across patients: a build that finds it changed recomputes every
-- series (metrics.ensure_built).
select
    alias_key(primary_indication) as indication_key,
    mode(primary_indication order by batch_id, line_number) as indication,
from patients
where primary_indication is not null
group by indication_key
