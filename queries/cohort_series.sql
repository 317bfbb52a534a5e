-- The cohort every mart reads: the treatment series a user selected, with the chosen instrument's
-- baseline. Created as a table macro after the intermediate tables are built.
-- `cohort` is a struct of optional filters, null meaning "all": sites, routes, indications,
-- clinicians, age_bands, sexes (lists); first_series_only (boolean); start_from, start_to (dates of
-- the series' first session); min_baseline (lowest baseline score of `instrument_name`, e.g. PHQ-9
-- >= 10 for moderate or worse; series without a baseline are then left out).
create or replace macro cohort_series(cohort, instrument_name) as table
select
    series.*,
    baselines.baseline_score,
from int_treatment_series as series
left join int_baselines as baselines
    on baselines.series_id = series.series_id and baselines.instrument = instrument_name
where (cohort['sites'] is null or list_contains(cohort['sites'], series.site))
    and (cohort['routes'] is null or list_contains(cohort['routes'], series.route))
    and (cohort['indications'] is null or list_contains(cohort['indications'], series.indication))
    and (cohort['clinicians'] is null or list_contains(cohort['clinicians'], series.clinician_id))
    and (cohort['age_bands'] is null or list_contains(cohort['age_bands'], series.age_band))
    and (cohort['sexes'] is null or list_contains(cohort['sexes'], series.sex))
    and (not coalesce(cohort['first_series_only'], false) or series.series_number = 1)
    and (cohort['start_from'] is null or series.start_date >= cohort['start_from'])
    and (cohort['start_to'] is null or series.start_date <= cohort['start_to'])
    and (cohort['min_baseline'] is null or baselines.baseline_score >= cohort['min_baseline'])
