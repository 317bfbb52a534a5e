-- NHS Talking Therapies outcome measures on NHS's own denominators (NHS Talking Therapies manual; NHS
-- Digital's glossary: a referral that has finished a course of treatment has ended having had at least two
-- attended treatment appointments), set beside the product's own response and remission. Grain: one row per
-- group ($by: 'all', 'route' or 'site') of the cohort ($cohort). Always PHQ-9 and GAD-7 together, as the
-- standard defines them.
-- Finished course (n_finished): the series has ended for this purpose (evaluable, int_end_of_induction: the
-- end-of-induction window has closed, or the series dropped out) after at least two completed sessions.
-- Paired (n_paired): of those, a baseline and a last score on both PHQ-9 and GAD-7. The last score is the
-- course's last after the baseline's day, up to setting('end_of_induction_days') (21) after the course's last
-- session: the induction's last session, or the series' last when it stopped before it (so a dropout after two
-- sessions counts, with its last score, as NHS counts an ended referral).
-- Case at baseline: PHQ-9 >= setting('phq9_caseness') (10) or GAD-7 >= setting('gad7_caseness') (8).
-- Among the cases (n_cases), at the last score:
--   recovered: below both thresholds (the national standard: at least 50% of cases who finish a course,
--     NHS England);
--   reliably improved: PHQ-9 fell by at least its reliable change (6) or GAD-7 by at least its (4),
--     and neither rose by as much;
--   reliably deteriorated: PHQ-9 rose by at least 6 or GAD-7 by at least 4;
--   reliably recovered: recovered and reliably improved;
--   PHQ-9 MCID: PHQ-9 fell by at least its minimal clinically important difference (5, Löwe 2004),
--     shown beside reliable improvement (a fall of 5 matters to a patient but is within measurement error).
with

cohort as (
    select * from cohort_series($cohort, null)
),

rules as (
    select
        setting('phq9_caseness') as phq9_case,
        setting('gad7_caseness') as gad7_case,
        (select mcid from instruments where instrument = 'PHQ-9') as phq9_mcid,
),

finished as (
    -- Evaluable is a fact of the series, the same on every instrument's row.
    select distinct cohort.series_id
    from cohort
    join int_end_of_induction as end_of_induction using (series_id)
    where end_of_induction.is_evaluable and cohort.sessions_completed >= 2
),

last_scores as (
    select
        placed.series_id,
        placed.instrument,
        baselines.baseline_score,
        arg_max(placed.score, placed.assessment_day) as last_score,
    from int_series_assessments as placed
    join int_baselines as baselines using (series_id, instrument)
    join cohort using (series_id)
    where placed.instrument in ('PHQ-9', 'GAD-7')
        and placed.series_id in (select series_id from finished)
        and placed.assessment_day > baselines.baseline_day
        and placed.assessment_day <= coalesce(cohort.induction_day, cohort.last_session_day)
            + setting('end_of_induction_days')
    group by placed.series_id, placed.instrument, baselines.baseline_score
),

paired as (
    select
        series_id,
        max(baseline_score) filter (where instrument = 'PHQ-9') as phq9_start,
        max(last_score) filter (where instrument = 'PHQ-9') as phq9_end,
        max(baseline_score) filter (where instrument = 'GAD-7') as gad7_start,
        max(last_score) filter (where instrument = 'GAD-7') as gad7_end,
    from last_scores
    group by series_id
    having count(*) = 2
),

groups as (
    select
        finished.series_id,
        series_group($by, cohort) as group_value,
    from finished
    join cohort using (series_id)
),

judged as (
    select
        groups.group_value,
        paired.phq9_start >= rules.phq9_case or paired.gad7_start >= rules.gad7_case as is_case,
        paired.phq9_end < rules.phq9_case and paired.gad7_end < rules.gad7_case as is_below_caseness_at_end,
        -- Reliable change on either instrument, by the rule every mart shares (macros.sql).
        is_reliable_improvement('PHQ-9', paired.phq9_end, paired.phq9_start)
            or is_reliable_improvement('GAD-7', paired.gad7_end, paired.gad7_start) as is_reliable_fall,
        is_reliable_deterioration('PHQ-9', paired.phq9_end, paired.phq9_start)
            or is_reliable_deterioration('GAD-7', paired.gad7_end, paired.gad7_start) as is_reliable_rise,
        paired.phq9_start - paired.phq9_end >= rules.phq9_mcid as is_mcid_fall,
    from paired
    join groups using (series_id)
    cross join rules
),

finished_counts as (
    select group_value, count(*) as n_finished,
    from groups
    group by group_value
),

counted as (
    select
        group_value,
        count(*) as n_paired,
        count(*) filter (where is_case) as n_cases,
        rate(n_cases, n_paired) as caseness_rate,
        count(*) filter (where is_case and is_below_caseness_at_end) as n_recovered,
        rate(n_recovered, n_cases) as recovery_rate,
        wilson_low(n_recovered, n_cases) as recovery_rate_low,
        wilson_high(n_recovered, n_cases) as recovery_rate_high,
        count(*) filter (where is_case and is_reliable_fall and not is_reliable_rise) as n_reliably_improved,
        rate(n_reliably_improved, n_cases) as reliable_improvement_rate,
        count(*) filter (where is_case and is_below_caseness_at_end and is_reliable_fall and not is_reliable_rise)
            as n_reliably_recovered,
        rate(n_reliably_recovered, n_cases) as reliable_recovery_rate,
        count(*) filter (where is_case and is_reliable_rise) as n_reliably_deteriorated,
        rate(n_reliably_deteriorated, n_cases) as reliable_deterioration_rate,
        count(*) filter (where is_case and is_mcid_fall) as n_mcid_improved,
        rate(n_mcid_improved, n_cases) as mcid_improvement_rate,
    from judged
    group by group_value
),

final as (
    -- Every group with a finished course, paired or not: a group whose courses all lack a pair shows 0 of n.
    select
        finished_counts.group_value,
        finished_counts.n_finished,
        coalesce(counted.n_paired, 0) as n_paired,
        coalesce(counted.n_cases, 0) as n_cases,
        counted.* exclude (group_value, n_paired, n_cases),
    from finished_counts
    left join counted using (group_value)
)

select * from final
order by group_value
