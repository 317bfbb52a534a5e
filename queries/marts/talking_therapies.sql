-- NHS Talking Therapies outcome measures at the end of induction (NHS Talking Therapies manual), set
-- beside the product's own response and remission. Grain: one row per group ($by: 'all', 'route' or
-- 'site') of the cohort ($cohort). Always PHQ-9 and GAD-7 together, as the standard defines them.
-- Paired (n_paired): evaluable series (int_end_of_induction: the window has closed, or the series dropped
-- out) with a baseline and an end-of-induction score on both.
-- Case at baseline: PHQ-9 >= setting('phq9_caseness') (10) or GAD-7 >= setting('gad7_caseness') (8).
-- Among the cases (n_cases), at the end of induction:
--   recovered: below both thresholds;
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
        reliable_change_points('PHQ-9') as phq9_reliable,
        reliable_change_points('GAD-7') as gad7_reliable,
        (select mcid from instruments where instrument = 'PHQ-9') as phq9_mcid,
),

paired as (
    select
        series_id,
        max(baseline_score) filter (where instrument = 'PHQ-9') as phq9_start,
        max(end_score) filter (where instrument = 'PHQ-9') as phq9_end,
        max(baseline_score) filter (where instrument = 'GAD-7') as gad7_start,
        max(end_score) filter (where instrument = 'GAD-7') as gad7_end,
    from int_end_of_induction
    where instrument in ('PHQ-9', 'GAD-7') and is_evaluable and end_score is not null
    group by series_id
    having count(*) = 2
),

judged as (
    select
        series_group($by, cohort) as group_value,
        paired.phq9_start >= rules.phq9_case or paired.gad7_start >= rules.gad7_case as is_case,
        paired.phq9_end < rules.phq9_case and paired.gad7_end < rules.gad7_case as is_below_caseness_at_end,
        paired.phq9_start - paired.phq9_end >= rules.phq9_reliable
            or paired.gad7_start - paired.gad7_end >= rules.gad7_reliable as is_reliable_fall,
        paired.phq9_end - paired.phq9_start >= rules.phq9_reliable
            or paired.gad7_end - paired.gad7_start >= rules.gad7_reliable as is_reliable_rise,
        paired.phq9_start - paired.phq9_end >= rules.phq9_mcid as is_mcid_fall,
    from paired
    join cohort using (series_id)
    cross join rules
),

final as (
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
)

select * from final
order by group_value
