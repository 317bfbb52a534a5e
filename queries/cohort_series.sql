-- The cohort every mart reads. Created after the intermediate tables are built (macros bind then).
-- meets_min_baseline: the series' baseline on cohort['baseline_instrument'] is at least
-- cohort['min_baseline'] (e.g. PHQ-9 >= 10 for moderate or worse); with a minimum set, series with
-- no baseline on that instrument are left out. cohort_series: the series whose attributes match
-- (macros.sql, in_cohort) and that meet the minimum, with the baseline of `instrument_name`.
-- cohort['series_ids'] (a list, null for all) narrows it to those series: the series view asks the
-- marts about one series this way, so its classification is theirs.
-- cohort_sessions: the completed sessions of those series.
create or replace macro meets_min_baseline(cohort, series) as
    cohort['min_baseline'] is null or series in (
        select series_id from int_baselines
        where instrument = cohort['baseline_instrument'] and baseline_score >= cohort['min_baseline']
    );

-- The equity fields (ethnicity, area deprivation decile) are quasi-identifiers: a category held by fewer
-- patients than the min_cell_size setting, across the clinic, is shown (and filtered and split) as 'other'
-- (ketamine_outcomes/privacy.py, check_equity_view, says which combinations a view may use).
create or replace macro equity_group(category, patients) as
    case when category <> 'unknown' and patients < setting('min_cell_size') then 'other' else category end;

-- Every series, its equity fields grouped so (the only form in which marts read them).
create or replace macro equity_grouped_series() as table
select
    series.* replace (
        equity_group(series.ethnicity, count(distinct series.patient_id) over (partition by series.ethnicity))
            as ethnicity,
        equity_group(series.deprivation_decile,
                     count(distinct series.patient_id) over (partition by series.deprivation_decile))
            as deprivation_decile
    ),
from int_treatment_series as series;

create or replace macro in_equity_filters(cohort, ethnicity, deprivation_decile) as
    (cohort['ethnicities'] is null or list_contains(cohort['ethnicities'], ethnicity))
    and (cohort['deprivation_deciles'] is null or list_contains(cohort['deprivation_deciles'], deprivation_decile));

create or replace macro cohort_series(cohort, instrument_name) as table
select
    series.*,
    baselines.baseline_score,
from equity_grouped_series() as series
left join int_baselines as baselines
    on baselines.series_id = series.series_id and baselines.instrument = instrument_name
where in_cohort(cohort, series.site, series.route, series.indication, series.clinician_id, series.age_band,
                series.sex, series.series_number, series.start_date)
    and in_equity_filters(cohort, series.ethnicity, series.deprivation_decile)
    and meets_min_baseline(cohort, series.series_id)
    and (cohort['series_ids'] is null or list_contains(cohort['series_ids'], series.series_id));

create or replace macro cohort_sessions(cohort) as table
select series_sessions.*
from int_series_sessions as series_sessions
join cohort_series(cohort, null) as cohort using (patient_id, series_number);

-- Each series' scores on an instrument by week of the series, week 0 its baseline (int_baselines), weeks 1 on
-- the score that counts for the week (int_weekly_scores): the single series a trajectory chart draws
-- (marts/series_trajectories.sql) and the closed series the series view's expected range is drawn from
-- (care/expected_range_counts.sql), shaped once.
create or replace macro scored_weeks(instrument_name) as table
select series_id, 0 as week, baseline_score as score from int_baselines where instrument = instrument_name
union all
select series_id, week, score from int_weekly_scores where instrument = instrument_name;

-- The series a weekly or first-response figure counts: the cohort's, and with `evaluable_only` only those whose
-- end-of-induction window on `instrument_name` has closed or that dropped out (int_end_of_induction.is_evaluable),
-- as every end-of-induction figure counts them (the Response page's rates by week); without it every series
-- (the trajectories). weekly_outcomes, weekly_outcomes_itt and first_response_weeks read it.
create or replace macro counted_series(cohort, instrument_name, evaluable_only) as table
select *
from cohort_series(cohort, instrument_name)
where not evaluable_only or series_id in (
    select series_id from int_end_of_induction where instrument = instrument_name and is_evaluable
);
