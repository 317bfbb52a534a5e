-- How series ended their induction, for the Response page.
-- Grain: one row per end-of-induction status, for $instrument and the cohort ($cohort). For evaluable
-- series: remission, response, no response, no score or not reached (int_end_of_induction defines them;
-- these add up to cohort_comparison's n_evaluable, the n of every end-of-induction rate); outside that n,
-- 'not yet evaluable' (a baseline, but the end-of-induction window is still open and the series has not
-- dropped out) and 'no baseline'. Until issue 21 this was response_timing's 'end_status' measure.
with

cohort as (
    select * from cohort_series($cohort, $instrument)
),

end_of_induction as (
    select * from int_end_of_induction where instrument = $instrument
),

statuses as (
    select
        case
            when end_of_induction.series_id is null then 'no baseline'
            when not end_of_induction.is_evaluable then 'not yet evaluable'
            else end_of_induction.end_status
        end as end_status,
    from cohort
    left join end_of_induction using (series_id)
),

final as (
    select end_status, count(*) as n_series,
    from statuses
    group by end_status
)

select * from final
order by end_status
