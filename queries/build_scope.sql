-- The patients whose series an incremental build (marts.ensure_built) computes again, and why.
-- Grain: one row per patient and reason. Every row of the metric tables depends on its own patient's
-- stored rows and on facts read across patients: the settings, the definitions, int_indications and
-- int_data_extent. The reasons:
-- * sessions, assessments, patients: that stored table's rows of the patient changed (stale_patients,
--   written by each ingest and undo in its own transaction); `any` for a row recorded without its table.
-- * last_day: the data's last day moved ($last_day_moved), and the patient has a series it can carry over
--   a line measured from it: dropped out (treatment_series: a last completed session more than
--   dropout_quiet_days before the last day) or evaluable (end_of_induction: an induction's end
--   end_of_induction_days or more before it). Such a series has a completed session on or after the
--   earlier of the two last days minus the longer of those two settings.
-- metrics.READS says which metric tables each reason makes compute again.
select distinct patient_id, coalesce(source, 'any') as reason from stale_patients
union
select distinct patient_id, 'last_day' from sessions
where $last_day_moved
    and status = 'completed'
    and session_day >= least($built_last_day, $last_day)
        - greatest(setting('dropout_quiet_days'), setting('end_of_induction_days'))
