-- A wide outcomes export (one row per visit, a score column per instrument) in the long form of the
-- outcomes staging query. Grain: one row per non-empty score cell; the line number is the visit's.
-- Item 9 belongs to PHQ-9 only.
with

raw as (
    select * from raw_export
),

cells as (
    unpivot raw
    on score_phq9, score_gad7, score_pcl5, score_madrs, score_qidssr16, score_cadss
    into name score_column value score
),

final as (
    select
        cells.line_number,
        cells.patient_id,
        cells.date_text,
        cells.day_text,
        instruments.instrument,
        cells.score,
        case when instruments.instrument = 'PHQ-9' then cells.item9 end as item9,
        cells.score_column,
    from cells
    join instruments on 'score_' || instruments.key = cells.score_column
    where clean(cells.score) is not null
)

select * from final
