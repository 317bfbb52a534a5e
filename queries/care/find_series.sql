-- The search box of the series view: series whose id or patient id is $text exactly, or starts with it.
-- Grain: one row per matching series (int_treatment_series), at most 20, exact matches first. The
-- patient id is the export's de-identified id, never a name: only roles that may see patient rows search.
with

series as (
    select * from int_treatment_series
),

final as (
    select series_id, patient_id, series_number, start_date, start_day, route, sessions_completed,
        series_id = $text or patient_id = $text as is_exact,
    from series
    where starts_with(series_id, $text) or starts_with(patient_id, $text)
)

select * from final
order by is_exact desc, patient_id, series_number
limit 20
