-- Every treatment series of the patient whose series is $series_id, for the series view's links.
-- Grain: one row per series of that patient (int_treatment_series), in order. Reads that patient's rows only.
with

patient as (
    select patient_id from int_treatment_series where series_id = $series_id
),

final as (
    select series.series_id, series.series_number, series.start_date, series.start_day, series.route,
        series.sessions_completed,
    from int_treatment_series as series
    join patient using (patient_id)
)

select * from final
order by series_number
