-- The cohort every mart reads: the treatment series a user selected (macros.sql, in_cohort), with the
-- chosen instrument's baseline. Created as a table macro after the intermediate tables are built.
create or replace macro cohort_series(cohort, instrument_name) as table
select
    series.*,
    baselines.baseline_score,
from int_treatment_series as series
left join int_baselines as baselines
    on baselines.series_id = series.series_id and baselines.instrument = instrument_name
where in_cohort(cohort, series.site, series.route, series.indication, series.clinician_id, series.age_band,
                series.sex, series.series_number, series.start_date, baselines.baseline_score)
