-- The data's last day: what "recent" and "started at least w weeks ago" are measured against.
-- Grain: one row. Read across patients: when it moves, a build recomputes the series whose dropped-out or
-- evaluable status it can change (queries/build_scope.sql) and sets it on every series.
select greatest(
    (select max(session_day) from sessions),
    (select max(assessment_day) from assessments)
) as data_last_day
