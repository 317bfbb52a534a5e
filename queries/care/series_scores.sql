-- One treatment series' scores by week, every instrument, for the series view's chart.
-- Grain: one row per instrument and week of the series $series_id: week 0 is the baseline
-- (int_baselines), weeks 1 on the score that counts for the week (int_weekly_scores, the last in the
-- week), with the response and remission rules the population marts apply and the severity band of
-- the score (severity_bands). Reads that series' rows only.
with

baselines as (
    select * from int_baselines where series_id = $series_id
),

weekly as (
    select * from int_weekly_scores where series_id = $series_id
),

bands as (
    select * from main.severity_bands
),

scores as (
    select instrument, 0 as week, baseline_day as assessment_day, baseline_score as score, baseline_item9 as item9,
        null::boolean as is_response, null::boolean as is_remission,
    from baselines
    union all
    select instrument, week, assessment_day, score, item9, is_response, is_remission,
    from weekly
),

final as (
    select
        scores.instrument,
        scores.week,
        scores.assessment_day,
        scores.score,
        scores.item9,
        scores.is_response,
        scores.is_remission,
        bands.band,
    from scores
    left join bands
        on bands.instrument = scores.instrument and scores.score between bands.band_min and bands.band_max
)

select * from final
order by instrument, week
