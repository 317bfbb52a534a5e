-- Severity band at baseline against severity band at the end of induction (Kroenke 2001 bands for
-- PHQ-9; see severity_bands). Grain: one row per baseline band and end band with at least one series,
-- for $instrument and the cohort ($cohort); only evaluable series (int_end_of_induction) with an
-- end-of-induction score, the n_scored of cohort_comparison: a score in a window still open may be replaced.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
),

end_of_induction as (
    select * from int_end_of_induction
    where instrument = $instrument and is_evaluable and end_score is not null
),

bands as (
    select * from severity_bands where instrument = $instrument
),

paired as (
    select end_of_induction.baseline_score, end_of_induction.end_score,
    from end_of_induction
    join cohort using (series_id)
),

final as (
    select
        baseline_band.band as baseline_band,
        baseline_band.band_min as baseline_band_min,
        end_band.band as end_band,
        end_band.band_min as end_band_min,
        count(*) as n_series,
    from paired
    join bands as baseline_band on paired.baseline_score between baseline_band.band_min and baseline_band.band_max
    join bands as end_band on paired.end_score between end_band.band_min and end_band.band_max
    group by all
)

select * from final
order by baseline_band_min, end_band_min
