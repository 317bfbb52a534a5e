-- The change from baseline at the end of induction, counted: how many evaluable series ended at each % change,
-- by end status. What the Response page's change-per-series chart bins (disclosure/response_panels.change_bins),
-- without handing it one row per series (at 1M patients series_summary is a million rows, copied at each view).
-- Grain: one row per end_status and end_pct_change of the cohort ($cohort) for $instrument. Only what the chart
-- counts: evaluable series (series_summary's is_evaluable) with an end-of-induction score and a baseline above 0;
-- end_pct_change and end_status exactly as series_summary defines them, so the bins are the same.
with

cohort as (
    select series_id, baseline_score from cohort_series($cohort, $instrument)
),

end_of_induction as (
    select series_id, end_score, end_status, is_evaluable from int_end_of_induction where instrument = $instrument
),

per_series as (
    select
        coalesce(end_of_induction.end_status, 'no baseline') as end_status,
        (end_of_induction.end_score - cohort.baseline_score) / cohort.baseline_score as end_pct_change,
    from cohort
    join end_of_induction using (series_id)
    where end_of_induction.is_evaluable and end_of_induction.end_score is not null and cohort.baseline_score > 0
),

final as (
    select end_status, end_pct_change, count(*) as n_series,
    from per_series
    group by end_status, end_pct_change
)

select * from final
order by end_status, end_pct_change
