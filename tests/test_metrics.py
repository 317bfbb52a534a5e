"""Guards the clinical definitions (docs/metrics.md) at their boundaries: series gaps, the baseline
window, weeks, response, remission, reliable change, end of induction, dropout, intention to treat,
and the cohort filters. Each test builds a tiny clinic from text and checks values by hand."""

import math

import pandas as pd
import pytest

from ketamine_outcomes.ingest import mappings
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.ingest.pipeline import ingest_file
from ketamine_outcomes.metrics.marts import Cohort


@pytest.fixture
def clinic(con, export):
    """Given sessions ("patient,day[,status[,route[,site]]]" lines), outcomes ("patient,day,instrument,
    score[,item9]") and optional patients lines, a built database connection."""

    def build(sessions: str, outcomes: str = "", patients: str = ""):
        rows = []
        for line in filter(None, (ln.strip() for ln in sessions.splitlines())):
            parts = line.split(",") + [""] * 5
            rows.append(f"{parts[0]},{parts[1]},{parts[2] or 'completed'},{parts[3] or 'IV'},{parts[4] or 'North'}")
        files = [export("sessions.csv", "patient_id,session_day,status,route,site\n" + "\n".join(rows) + "\n")]
        if outcomes.strip():
            lines = [ln.strip() + ("," if ln.count(",") == 3 else "") for ln in outcomes.strip().splitlines()]
            files.append(export("outcomes.csv", "patient_id,assessment_day,instrument,score,item9\n"
                                + "\n".join(lines) + "\n"))
        if patients.strip():
            files.append(export("patients.csv", "patient_id,age_band,sex,primary_indication,site\n"
                                + patients.strip() + "\n"))
        for file in files:
            result = ingest_file(con, file)
            assert result.rows_rejected == 0 and result.refused is None, result.rejects
        marts.build(con)
        return con

    return build


def table(con, sql):
    return con.execute(sql).fetchall()


SIX_SESSIONS = "\n".join(f"P1,{d}" for d in (0, 2, 4, 7, 9, 11))


# Treatment series -------------------------------------------------------------------------------

def test_a_60_day_gap_continues_the_series_and_61_can_start_a_new_one(clinic):
    # P2's sessions after the 61-day gap are three within 21 days: a re-induction.
    con = clinic("P1,0\nP1,60\nP2,0\nP2,61\nP2,63\nP2,65")
    assert table(con, "select patient_id, session_day, series_number, session_number from int_series_sessions "
                      "order by 1, 2") == [("P1", 0, 1, 1), ("P1", 60, 1, 2), ("P2", 0, 1, 1), ("P2", 61, 2, 1),
                                           ("P2", 63, 2, 2), ("P2", 65, 2, 3)]


# Boosters and re-inductions (issue 22, item 1): after a gap over series_gap_days a new series starts only
# when a re-induction begins: reinduction_min_sessions (3) completed sessions within reinduction_window_days
# (21) of the first session after the gap, or a new baseline questionnaire before it.
def series_of(con):
    return table(con, "select session_day, series_number, session_number, is_first_run from int_series_sessions "
                      "order by session_day")


def test_a_lone_booster_at_day_75_is_a_maintenance_session_of_the_series_not_a_new_failed_one(clinic):
    # Induction days 0-11, responded (PHQ-9 20 -> 8 at day 14); one booster at day 75 (gap 64 > 60), still well.
    con = clinic(SIX_SESSIONS + "\nP1,75", "P1,0,PHQ-9,20\nP1,14,PHQ-9,8\nP1,75,PHQ-9,6")
    assert series_of(con)[-1] == (75, 1, 7, False)
    assert table(con, "select count(*), any_value(induction_day), any_value(sessions_completed), "
                      "any_value(first_run_sessions), bool_or(is_dropped_out) from int_treatment_series") \
        == [(1, 11, 7, 6, False)]
    # Still an intention-to-treat responder; the booster's score belongs to the series' follow-up.
    assert table(con, "select end_status from int_end_of_induction") == [("response",)]
    assert marts.maintenance(con).loc[0, ["n_boosters", "n_reinducted"]].tolist() == [1, 0]
    durability = marts.sustained_response(con, "PHQ-9")
    assert durability.n_events.sum() == 0  # the booster day's PHQ-9 6 keeps the response


def test_two_sessions_within_21_days_after_a_gap_are_boosters(clinic):
    con = clinic(SIX_SESSIONS + "\nP1,80\nP1,100")
    assert [row[1:3] for row in series_of(con)[-2:]] == [(1, 7), (1, 8)]


def test_three_sessions_within_21_days_after_a_gap_start_a_re_induction(clinic):
    # Day 80, 90 and 101: the third falls 21 days after the first (inside the window); 102 would not.
    con = clinic(SIX_SESSIONS + "\nP1,80\nP1,90\nP1,101\nP2,0\nP2,80\nP2,90\nP2,102")
    assert table(con, "select patient_id, series_number, start_day, sessions_completed from int_treatment_series "
                      "order by 1, 2") == [("P1", 1, 0, 6), ("P1", 2, 80, 3), ("P2", 1, 0, 4)]
    assert marts.maintenance(con).loc[0, "n_reinducted"] == 1


def test_a_real_second_course_90_days_later_is_a_re_induction(clinic):
    course = "\n".join(f"P1,{d}" for d in (101, 103, 105, 108, 110, 112))
    con = clinic(SIX_SESSIONS + "\n" + course, "P1,0,PHQ-9,20\nP1,14,PHQ-9,8\nP1,100,PHQ-9,19\nP1,115,PHQ-9,9")
    assert table(con, "select series_number, start_day, induction_day from int_treatment_series order by 1") \
        == [(1, 0, 11), (2, 101, 112)]
    assert table(con, "select series_id, baseline_score from int_baselines order by 1") == [("P1#1", 20), ("P1#2", 19)]


def test_a_new_baseline_before_one_session_after_a_gap_starts_a_new_series(clinic):
    # A PHQ-9 the day before the session after the gap (and after the last session before it): a new course
    # begins, even if only one session of it is in the data (the patient may have stopped after it).
    con = clinic(SIX_SESSIONS + "\nP1,90\nP2,0\nP2,90", "P1,89,PHQ-9,18\nP2,90,PHQ-9,6\nP2,60,PHQ-9,7")
    assert table(con, "select patient_id, series_number, start_day from int_treatment_series order by 1, 2") \
        == [("P1", 1, 0), ("P1", 2, 90), ("P2", 1, 0)]


def test_a_baseline_more_than_baseline_window_days_before_the_session_after_a_gap_is_not_a_new_one(clinic):
    # Day 75 is 15 days before the session at 90 (window 14): the session is a booster; at day 76 it is a baseline.
    con = clinic("P1,0\nP1,90\nP2,0\nP2,90", "P1,75,PHQ-9,18\nP2,76,PHQ-9,18")
    assert table(con, "select patient_id, count(*) from int_treatment_series group by 1 order by 1") \
        == [("P1", 1), ("P2", 2)]


def test_a_cadss_before_a_booster_is_not_a_new_baseline(clinic):
    con = clinic("P1,0\nP1,90", "P1,89,CADSS,10")
    assert table(con, "select count(*) from int_treatment_series") == [(1,)]


def test_a_dropout_followed_by_a_lone_booster_stays_a_dropout_without_an_induction(clinic):
    # Three of six sessions, then lone sessions 70 and 126 days later: they do not complete the induction.
    con = clinic("P1,0\nP1,2\nP1,4\nP1,74\nP1,200")
    assert table(con, "select sessions_completed, first_run_sessions, induction_day, is_dropped_out "
                      "from int_treatment_series") == [(5, 3, None, True)]


def test_a_cancelled_first_session_does_not_start_the_series(clinic):
    con = clinic("P1,0,cancelled\nP1,3,no_show\nP1,5\nP1,8")
    assert table(con, "select start_day, sessions_completed from int_treatment_series") == [(5, 2)]


def test_gap_is_measured_between_completed_sessions_only(clinic):
    # A cancelled session at day 40 does not bridge the gap: the course from day 80 is a re-induction.
    con = clinic("P1,0\nP1,40,cancelled\nP1,80\nP1,82\nP1,84\nP1,85,cancelled")
    assert table(con, "select series_number, start_day from int_treatment_series order by 1") == [(1, 0), (2, 80)]


def test_series_route_and_site_are_the_most_frequent_of_its_sessions(clinic):
    con = clinic("P1,0,,IV,North\nP1,2,,IM,South\nP1,4,,IM,South")
    assert table(con, "select route, site from int_treatment_series") == [("IM", "South")]


# Baseline and weeks ----------------------------------------------------------------------------

def test_baseline_14_days_before_the_start_counts_and_15_does_not(clinic):
    con = clinic("P1,100\nP2,100", "P1,86,PHQ-9,20\nP2,85,PHQ-9,20")
    assert table(con, "select series_id, baseline_score from int_baselines") == [("P1#1", 20)]
    assert table(con, "select count(*) from int_series_assessments where patient_id = 'P2'") == [(0,)]


def test_baseline_is_the_latest_score_up_to_and_including_the_first_session_day(clinic):
    con = clinic("P1,100", "P1,90,PHQ-9,22\nP1,100,PHQ-9,18\nP1,101,PHQ-9,15")
    assert table(con, "select baseline_score, baseline_day from int_baselines") == [(18, 100)]


def test_day_7_is_week_1_and_day_8_is_week_2(clinic):
    con = clinic("P1,0", "P1,1,PHQ-9,20\nP1,7,PHQ-9,19\nP1,8,PHQ-9,18\nP1,14,PHQ-9,17\nP1,15,PHQ-9,16")
    assert table(con, "select series_day, week from int_series_assessments order by 1") == [
        (1, 1), (7, 1), (8, 2), (14, 2), (15, 3)]


def test_when_scored_twice_in_a_week_the_last_score_counts(clinic):
    con = clinic("P1,0", "P1,0,PHQ-9,20\nP1,2,PHQ-9,8\nP1,6,PHQ-9,14")
    assert table(con, "select week, score, change from int_weekly_scores") == [(1, 14, -6)]


def test_an_assessment_in_the_baseline_window_of_a_second_series_belongs_to_the_second(clinic):
    # Series 1 starts day 0; series 2 starts day 200 (gap 200 > 60). Day 190 is in series 2's window.
    con = clinic("P1,0\nP1,200", "P1,0,PHQ-9,20\nP1,150,PHQ-9,12\nP1,190,PHQ-9,19\nP1,207,PHQ-9,9")
    assert table(con, "select series_number, week, score from int_series_assessments order by assessment_day") == [
        (1, 0, 20), (1, 22, 12), (2, 0, 19), (2, 1, 9)]
    assert table(con, "select series_id, baseline_score from int_baselines order by 1") == [("P1#1", 20), ("P1#2", 19)]


def test_a_patient_with_no_baseline_is_scored_but_not_paired(clinic):
    con = clinic("P1,0\nP2,0", "P1,0,PHQ-9,20\nP1,7,PHQ-9,10\nP2,7,PHQ-9,8")
    week1 = marts.weekly_outcomes(con, "PHQ-9").set_index("week").loc[1]
    assert (week1.n_scored, week1.n_paired, week1.responders) == (2, 1, 1)
    assert week1.mean_score == 9.0 and week1.mean_change == -10.0


# Response, remission and reliable change -------------------------------------------------------

def test_response_is_a_fall_to_half_of_baseline_or_less(clinic):
    con = clinic("P1,0\nP2,0", "P1,0,PHQ-9,20\nP1,7,PHQ-9,10\nP2,0,PHQ-9,20\nP2,7,PHQ-9,11")
    assert table(con, "select series_id, is_response from int_weekly_scores order by 1") == [
        ("P1#1", True), ("P2#1", False)]


def test_a_baseline_of_zero_never_counts_as_response(clinic):
    con = clinic("P1,0", "P1,0,PHQ-9,0\nP1,7,PHQ-9,0")
    assert table(con, "select is_response, is_remission from int_weekly_scores") == [(False, True)]


@pytest.mark.parametrize("instrument, remits, does_not", [
    ("PHQ-9", 4, 5), ("GAD-7", 4, 5), ("PCL-5", 32, 33), ("MADRS", 10, 11), ("QIDS-SR16", 5, 6),
])
def test_remission_cut_offs(clinic, instrument, remits, does_not):
    con = clinic("P1,0\nP2,0", f"P1,0,{instrument},20\nP1,7,{instrument},{remits}\n"
                               f"P2,0,{instrument},20\nP2,7,{instrument},{does_not}")
    assert table(con, "select series_id, is_remission from int_weekly_scores order by 1") == [
        ("P1#1", True), ("P2#1", False)]


@pytest.mark.parametrize("instrument, points", [("PHQ-9", 6), ("GAD-7", 4), ("PCL-5", 10)])
def test_reliable_improvement_and_deterioration_points(clinic, instrument, points):
    con = clinic("P1,0\nP2,0\nP3,0\nP4,0",
                 f"P1,0,{instrument},15\nP1,7,{instrument},{15 - points}\n"
                 f"P2,0,{instrument},15\nP2,7,{instrument},{15 - points + 1}\n"
                 f"P3,0,{instrument},10\nP3,7,{instrument},{10 + points}\n"
                 f"P4,0,{instrument},10\nP4,7,{instrument},{10 + points - 1}")
    assert table(con, "select series_id, is_reliable_improvement, is_reliable_deterioration from int_weekly_scores "
                      "order by 1") == [("P1#1", True, False), ("P2#1", False, False), ("P3#1", False, True),
                                        ("P4#1", False, False)]


def test_reliable_change_from_jacobson_truax_uses_the_published_sd_not_the_clinics(clinic):
    # MADRS has no points threshold. With a published r = 0.75 and SD = 10 the threshold is
    # 1.96 * sqrt(2) * 10 * sqrt(0.25) = 13.86 points: P1's fall of 14 is reliable, P2's and P3's 13 are not.
    # The clinic's own baselines (20, 34, 34: SD 8.08) would give 11.2 and call all three reliable.
    con = clinic("P1,0\nP2,0\nP3,0", "P1,0,MADRS,20\nP1,7,MADRS,6\nP2,0,MADRS,34\nP2,7,MADRS,21\n"
                 "P3,0,MADRS,34\nP3,7,MADRS,21")
    assert table(con, "select is_reliable_improvement from int_weekly_scores") == [(None,)] * 3
    con.execute("insert or replace into setting_overrides values ('reliability_madrs', 0.75)")
    marts.ensure_built(con)
    # r without a published SD: still not computed (never the clinic's own SD).
    assert table(con, "select is_reliable_improvement from int_weekly_scores") == [(None,)] * 3
    con.execute("insert or replace into setting_overrides values ('reliability_sd_madrs', 10)")
    marts.ensure_built(con)
    assert table(con, "select series_id, is_reliable_improvement from int_weekly_scores order by 1") == [
        ("P1#1", True), ("P2#1", False), ("P3#1", False)]


# End of induction, dropout, intention to treat -------------------------------------------------

def test_end_of_induction_window_runs_from_the_sixth_session_to_21_days_after(clinic):
    con = clinic("\n".join(f"{p},{d}" for p in ("P1", "P2", "P3") for d in (0, 2, 4, 7, 9, 11)),
                 "P1,0,PHQ-9,20\nP1,11,PHQ-9,9\n"      # on the 6th session's day: counts
                 "P2,0,PHQ-9,20\nP2,32,PHQ-9,9\n"      # 21 days after: counts
                 "P3,0,PHQ-9,20\nP3,33,PHQ-9,9")       # 22 days after: does not
    assert table(con, "select series_id, end_score, is_response from int_end_of_induction order by 1") == [
        ("P1#1", 9, True), ("P2#1", 9, True), ("P3#1", None, False)]


def test_series_short_of_six_sessions_has_no_end_score_and_counts_against_in_intention_to_treat(clinic):
    five = "\n".join(f"P2,{d}" for d in (0, 2, 4, 7, 9))
    con = clinic(SIX_SESSIONS + "\n" + five + "\nP9,200",
                 "P1,0,PHQ-9,20\nP1,14,PHQ-9,8\nP2,0,PHQ-9,20\nP2,9,PHQ-9,6")
    row = marts.cohort_comparison(con, "PHQ-9").iloc[0]
    assert (row.n_series, row.n_evaluable, row.n_scored, row.responders) == (2, 2, 1, 1)
    assert (row.response_rate, row.itt_response_rate) == (1.0, 0.5)
    summary = marts.series_summary(con, "PHQ-9").set_index("series_id")
    assert summary.loc["P2#1", "end_status"] == "not reached"
    assert summary.loc["P1#1", "end_status"] == "response"


def test_dropped_out_means_short_of_induction_and_quiet_for_28_days(clinic):
    # The data's last day is 100 (P9). P1 stopped at day 71 (29 days quiet), P2 at day 72 (28 days).
    con = clinic("P1,70\nP1,71\nP2,70\nP2,72\nP9,100")
    assert table(con, "select patient_id, is_dropped_out from int_treatment_series order by 1") == [
        ("P1", True), ("P2", False), ("P9", False)]


def test_intention_to_treat_carries_the_last_score_forward(clinic):
    # Data end day 100. P1 scored weeks 1 and 3; P2 dropped after baseline.
    con = clinic("P1,0\nP2,0\nP9,100", "P1,0,PHQ-9,20\nP1,7,PHQ-9,14\nP1,21,PHQ-9,8\nP2,0,PHQ-9,10")
    itt = marts.weekly_outcomes_itt(con, "PHQ-9").set_index("week")
    assert itt.loc[2, "n_series"] == 2 and itt.loc[2, "mean_score"] == (14 + 10) / 2
    assert itt.loc[3, "responders"] == 1 and itt.loc[3, "response_rate"] == 0.5
    observed = marts.weekly_outcomes(con, "PHQ-9").set_index("week")
    assert observed.loc[3, "response_rate"] == 1.0


def test_intention_to_treat_ends_at_the_end_of_induction_and_never_draws_a_finished_course_at_baseline(clinic):
    # P1: IV, six sessions (last day 11), baseline 20, scored 8 in week 3 (day 18) and 7 at a booster on day 84
    # (week 12). P2: IV, one session (dropped out), baseline 20. P3: intranasal, eight doses to day 24, baseline
    # 18, scored 9 on day 28 (week 4). P9 ends the data on day 200. IV's intention to treat runs to week 6
    # (21-day induction + 21-day scoring window), intranasal's to week 7 (28 + 21).
    sessions = "\n".join(f"P1,{d}" for d in (0, 2, 4, 7, 9, 11)) + "\n" + "\n".join(
        f"P3,{d},,intranasal" for d in (0, 3, 7, 10, 14, 17, 21, 24)) + "\nP2,0\nP1,84\nP9,200"
    con = clinic(sessions, "P1,0,PHQ-9,20\nP1,18,PHQ-9,8\nP1,84,PHQ-9,7\nP2,0,PHQ-9,20\nP3,0,PHQ-9,18\n"
                           "P3,28,PHQ-9,9")
    itt = marts.weekly_outcomes_itt(con, "PHQ-9").set_index("week")
    assert itt.index.max() == 7
    # Week 6: P1's finished course carries its last score (8) past the 14 days (not its baseline); P2 is imputed.
    assert itt.loc[6, ["n_series", "n_carried", "n_imputed", "responders"]].tolist() == [3, 2, 1, 2]
    assert itt.loc[6, "mean_score"] == (8 + 20 + 9) / 3
    assert itt.loc[7, ["n_series", "responders"]].tolist() == [1, 1]  # only the intranasal series is still in it
    # After it, observed follow-up only, with its own n: week 12 rests on one series.
    observed = marts.weekly_outcomes(con, "PHQ-9").set_index("week")
    assert observed.loc[12, ["n_scored", "mean_score"]].tolist() == [1, 7]


def test_intention_to_treat_counts_a_series_only_once_it_started_w_weeks_ago(clinic):
    con = clinic("P1,0\nP2,90\nP9,100", "P1,0,PHQ-9,20\nP1,14,PHQ-9,12\nP2,90,PHQ-9,20")
    itt = marts.weekly_outcomes_itt(con, "PHQ-9").set_index("week")
    assert itt.loc[0, "n_series"] == 2 and itt.loc[1, "n_series"] == 2 and itt.loc[2, "n_series"] == 1


def test_an_oral_series_completing_4_sessions_reaches_its_end_of_induction(clinic):
    # Data end day 200 (P9). Oral induction: 4 sessions (Hull 2022); intranasal: 8 doses (Spravato label).
    oral = "\n".join(f"P1,{d},,oral" for d in (0, 7, 14, 21))
    three_oral = "\n".join(f"P2,{d},,oral" for d in (0, 7, 14))
    six_intranasal = "\n".join(f"P3,{d},,intranasal" for d in (0, 3, 7, 10, 14, 17))
    con = clinic(f"{oral}\n{three_oral}\n{six_intranasal}\nP9,200",
                 "P1,0,PHQ-9,20\nP1,21,PHQ-9,8\nP2,0,PHQ-9,20\nP2,14,PHQ-9,8\nP3,0,PHQ-9,20\nP3,17,PHQ-9,8")
    assert table(con, "select patient_id, induction_sessions, induction_day, is_dropped_out from int_treatment_series "
                      "where patient_id <> 'P9' order by 1") == [
        ("P1", 4, 21, False), ("P2", 4, None, True), ("P3", 8, None, True)]
    status = marts.series_summary(con, "PHQ-9").set_index("series_id").end_status.to_dict()
    assert (status["P1#1"], status["P2#1"], status["P3#1"]) == ("response", "not reached", "not reached")
    by_route = marts.cohort_comparison(con, "PHQ-9", by="route").set_index("group_value")
    assert by_route.loc["oral", ["n_evaluable", "n_scored", "responders", "itt_response_rate"]].tolist() == [
        2, 1, 1, 0.5]
    attrition = marts.attrition(con, "PHQ-9")
    assert attrition[attrition.stage == "induction"].n_series.tolist() == [1]  # P1 only (P9: 1 of 6 IV)


def test_each_route_has_its_own_induction_setting(clinic):
    oral = "\n".join(f"P1,{d},,oral" for d in (0, 7, 14, 21))
    con = clinic(oral + "\n" + SIX_SESSIONS.replace("P1", "P2"))
    con.execute("insert or replace into setting_overrides values ('induction_sessions_oral', 6)")
    marts.build(con)
    assert table(con, "select route, induction_sessions, induction_day from int_treatment_series order by 1") == [
        ("IV", 6, 11), ("oral", 6, None)]


def test_an_older_database_keeps_its_induction_sessions_override_for_iv_and_im(con):
    from ketamine_outcomes.store import database
    con.execute("insert into setting_overrides values ('induction_sessions', 8)")
    database.write_definitions(con)
    assert table(con, "select name, value from settings where name like 'induction_sessions%' order by 1") == [
        ("induction_sessions_im", 8), ("induction_sessions_intranasal", 8), ("induction_sessions_iv", 8),
        ("induction_sessions_oral", 4)]


def test_an_older_database_keeps_its_response_fraction_for_every_instrument(con):
    from ketamine_outcomes.store import database
    con.execute("insert into setting_overrides values ('response_fraction', 0.6)")
    database.write_definitions(con)
    assert table(con, "select name, value from settings where name like 'response_fraction%' order by 1") == [
        ("response_fraction_gad7", 0.6), ("response_fraction_madrs", 0.6), ("response_fraction_pcl5", 0.6),
        ("response_fraction_phq9", 0.6), ("response_fraction_qidssr16", 0.6)]


def test_pcl5_response_is_a_30_percent_fall_and_phq9_stays_at_50(clinic):
    # PCL-5 baseline 50: 35 is a 30% fall (responds), 36 is not. PHQ-9 baseline 20: 10 responds, 11 does not.
    con = clinic("P1,0\nP2,0\nP3,0\nP4,0", "P1,0,PCL-5,50\nP1,7,PCL-5,35\nP2,0,PCL-5,50\nP2,7,PCL-5,36\n"
                 "P3,0,PHQ-9,20\nP3,7,PHQ-9,10\nP4,0,PHQ-9,20\nP4,7,PHQ-9,11")
    assert table(con, "select series_id, instrument, is_response from int_weekly_scores order by 1") == [
        ("P1#1", "PCL-5", True), ("P2#1", "PCL-5", False), ("P3#1", "PHQ-9", True), ("P4#1", "PHQ-9", False)]
    con.execute("insert or replace into setting_overrides values ('response_fraction_pcl5', 0.5)")
    marts.ensure_built(con)
    assert table(con, "select count(*) from int_weekly_scores where is_response") == [(1,)]  # P3 only


def test_intention_to_treat_carries_a_score_at_most_14_days_after_the_last_session(clinic):
    # P1's last session is day 14: a week ending by day 28 carries its score, week 5 (to day 35) does not.
    # P2's last session is day 13: its week 4 (to day 28) is already past the 14 days. P3 (one session,
    # day 0) is scored again only in week 5, without change. Data end day 100.
    con = clinic("P1,0\nP1,14\nP2,0\nP2,13\nP3,0\nP9,100",
                 "P1,0,PHQ-9,20\nP1,7,PHQ-9,8\nP2,0,PHQ-9,20\nP2,7,PHQ-9,8\nP3,0,PHQ-9,20\nP3,35,PHQ-9,20")
    itt = marts.weekly_outcomes_itt(con, "PHQ-9").set_index("week")
    assert itt.loc[1, ["n_observed", "n_carried", "responders"]].tolist() == [2, 1, 2]
    assert itt.loc[4, ["n_series", "n_observed", "n_carried", "n_imputed", "responders"]].tolist() == [3, 0, 1, 2, 1]
    assert itt.loc[4, "mean_score"] == (8 + 20 + 20) / 3  # P2 and P3 imputed: baseline carried (BOCF)
    assert itt.loc[5, ["n_observed", "n_carried", "n_imputed", "responders", "remitters"]].tolist() == [1, 0, 2, 0, 0]
    assert itt.loc[5, "mean_change"] == 0
    con.execute("insert or replace into setting_overrides values ('itt_carry_days', 7)")
    marts.build(con)
    assert marts.weekly_outcomes_itt(con, "PHQ-9").set_index("week").loc[3, "n_carried"] == 1  # P1, to day 21


# Durability and maintenance (Kaplan-Meier by hand) --------------------------------------------

def test_kaplan_meier_macro_by_hand_with_ties_of_events_and_censoring(con):
    # Group A: events on days 3, 5, 10; censored on days 3 (tied with an event: still at risk that day)
    # and 8. Day 3: 5 at risk, 1 event -> 0.8; day 5: 3 at risk -> 0.8 x 2/3; day 8: censoring only;
    # day 10: the last one at risk has the event -> 0. Median: day 10 (day 5 is 0.533, above half).
    # Group B: an event on day 2 of 2 at risk -> exactly 0.5, so the median is day 2.
    rows = con.execute("""
        with durations as (
            select * from (values ('A', 3, true), ('A', 3, false), ('A', 5, true), ('A', 8, false),
                                  ('A', 10, true), ('B', 2, true), ('B', 4, false)) as t(group_value, day, is_event)
        )
        select group_value, day, n_at_risk, n_events, n_censored, round(survival, 4), median_days
        from kaplan_meier('durations') order by group_value, day""").fetchall()
    assert rows == [("A", 3, 5, 1, 1, 0.8, 10), ("A", 5, 3, 1, 0, 0.5333, 10), ("A", 8, 2, 0, 1, 0.5333, 10),
                    ("A", 10, 1, 1, 0, 0.0, 10), ("B", 2, 2, 1, 0, 0.5, 2), ("B", 4, 1, 0, 1, 0.5, 2)]


def test_sustained_response_kaplan_meier_with_censoring_and_a_reinduction(clinic):
    # Five IV series of six sessions (last day 11), baseline 20; end-of-induction score day 14 (its
    # window runs to day 32). P1 responds, loses it on day 40 (12 > 10): event at 26 days. P2 still
    # responding at day 50: censored at 36 days. P3 still responding at day 40, re-inducted on day 80:
    # event at 66 days (three sessions from day 80: a re-induction). P4 responds with no later score:
    # censored at 0. P5 does not respond: not in the curve.
    sessions = "\n".join(f"P{n},{d}" for n in range(1, 6) for d in (0, 2, 4, 7, 9, 11)) + "\nP3,80\nP3,82\nP3,84\nP9,200"
    outcomes = "\n".join(f"P{n},0,PHQ-9,20" for n in range(1, 6)) + "\n" + "\n".join(
        f"P{n},14,PHQ-9,{8 if n < 5 else 15}" for n in range(1, 6)) + "\nP1,40,PHQ-9,12\nP2,40,PHQ-9,9\nP2,50,PHQ-9,9\nP3,40,PHQ-9,8"
    con = clinic(sessions, outcomes)
    curve = marts.sustained_response(con, "PHQ-9")
    assert curve[["day", "n_at_risk", "n_events", "n_censored"]].values.tolist() == [
        [0, 4, 0, 1], [26, 3, 1, 0], [36, 2, 0, 1], [66, 1, 1, 0]]
    assert [round(s, 4) for s in curve.survival] == [1.0, 0.6667, 0.6667, 0.0]
    assert curve.median_days.tolist() == [66] * 4


def test_sustained_response_shows_who_was_followed_up_and_a_bound_counting_loss_to_follow_up_as_loss(clinic):
    # Four IV responders (baseline 20, 8 at day 14). P1 is scored 9 at a lone booster on day 80 (still responding:
    # the booster keeps the response) and 15 on day 120 (lost: event at 106 days). P2 is scored 8 on day 44
    # (censored at 30). P3 and P4 have no later score (censored at 0). Followed up: 2 of 4.
    # Kaplan-Meier: day 0, 4 at risk, 2 censored; day 30, 2 at risk, 1 censored; day 106, 1 at risk, 1 event:
    # 1.0, 1.0, 0.0. Bound (censored = lost): 2/4 = 0.5 at day 0, 0.5 x 1/2 = 0.25 at day 30, 0 at day 106.
    sessions = "\n".join(f"P{n},{d}" for n in range(1, 5) for d in (0, 2, 4, 7, 9, 11)) + "\nP1,80\nP9,200"
    outcomes = "\n".join(f"P{n},0,PHQ-9,20\nP{n},14,PHQ-9,8" for n in range(1, 5)) \
        + "\nP1,80,PHQ-9,9\nP1,120,PHQ-9,15\nP2,44,PHQ-9,8"
    con = clinic(sessions, outcomes)
    curve = marts.sustained_response(con, "PHQ-9")
    assert curve[["day", "n_at_risk", "n_events", "n_censored"]].values.tolist() == [
        [0, 4, 0, 2], [30, 2, 0, 1], [106, 1, 1, 0]]
    assert curve.survival.tolist() == [1.0, 1.0, 0.0]
    assert curve.survival_if_lost.tolist() == pytest.approx([0.5, 0.25, 0.0])
    assert (curve.n_responders.iloc[0], curve.n_followed_up.iloc[0]) == (4, 2)
    assert table(con, "select count(*) from int_treatment_series where patient_id = 'P1'") == [(1,)]


def test_time_to_first_response_without_dropouts_is_one_minus_kaplan_meier(clinic):
    # A responds at day 14; B is last scored (not responding) at day 7; C is never scored after
    # baseline (censored at 0); D responds at day 7; E has no baseline (not counted). The data end on day 14,
    # so no series has been quiet long enough to have dropped out: nothing competes, and the cumulative
    # incidence is 1 - Kaplan-Meier.
    con = clinic("A,0\nB,0\nC,0\nD,0\nE,0", "A,0,PHQ-9,20\nA,7,PHQ-9,15\nA,14,PHQ-9,9\nB,0,PHQ-9,20\n"
                 "B,7,PHQ-9,18\nC,0,PHQ-9,20\nD,0,PHQ-9,20\nD,7,PHQ-9,10\nE,7,PHQ-9,5")
    curve = marts.time_to_response(con, "PHQ-9")
    assert curve[["day", "n_at_risk", "n_events", "n_censored"]].values.tolist() == [
        [0, 4, 0, 1], [7, 3, 1, 1], [14, 1, 1, 0]]
    assert [round(s, 4) for s in curve.share_responded] == [0.0, 0.3333, 1.0]
    assert curve.median_days.tolist() == [14] * 3


def test_time_to_first_response_counts_dropout_as_a_competing_event(clinic):
    # IV, six-session induction; P9's session on day 200 ends the data, so B and E (fewer than six sessions,
    # quiet since) dropped out. E: one session, never scored again: dropout at day 0. B: sessions 0 and 2,
    # scored 18 on day 7: dropout at day 7 (its last score). D responds on day 7 (10 <= 0.5 x 20), A on
    # day 14. C completes its six sessions, not responding at day 14: censored there. F has no baseline.
    # By hand (Aalen-Johansen): day 0, 5 at risk, 1 dropout: still neither 4/5. Day 7, 4 at risk, 1
    # response, 1 dropout: responded 0.8 x 1/4 = 0.2, neither 0.8 x 2/4 = 0.4. Day 14, 2 at risk, 1
    # response: responded 0.2 + 0.4 x 1/2 = 0.4. 1 - Kaplan-Meier with dropouts censored would say 0.625.
    six = (0, 2, 4, 7, 9, 11)
    sessions = "\n".join(f"{p},{d}" for p in "ACD" for d in six) + "\nB,0\nB,2\nE,0\nF,0\nP9,200"
    con = clinic(sessions, "A,0,PHQ-9,20\nA,7,PHQ-9,15\nA,14,PHQ-9,9\nB,0,PHQ-9,20\nB,7,PHQ-9,18\n"
                 "C,0,PHQ-9,20\nC,7,PHQ-9,18\nC,14,PHQ-9,16\nD,0,PHQ-9,20\nD,7,PHQ-9,10\nE,0,PHQ-9,20\n"
                 "F,7,PHQ-9,5")
    curve = marts.time_to_response(con, "PHQ-9")
    assert curve[["day", "n_at_risk", "n_events", "n_dropped", "n_censored"]].values.tolist() == [
        [0, 5, 0, 1, 0], [7, 4, 1, 1, 0], [14, 2, 1, 0, 1]]
    assert curve.share_responded.tolist() == pytest.approx([0.0, 0.2, 0.4])
    assert curve.share_dropped.tolist() == pytest.approx([0.2, 0.4, 0.4])
    assert curve.median_days.isna().all()  # 40% responded: the median is not reached


def test_aalen_johansen_macro_equals_lifelines(con):
    """The macro against lifelines' AalenJohansenFitter on 300 random durations in two groups (distinct
    times: lifelines jitters tied times of different kinds, which would change its answer, not ours)."""
    import numpy as np
    from lifelines import AalenJohansenFitter

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"group_value": rng.choice(["a", "b"], 300), "day": rng.permutation(300) + rng.random(300),
                          "code": rng.choice([0, 1, 2], 300, p=[0.3, 0.45, 0.25])})
    frame["outcome"] = frame.code.map({0: "censored", 1: "event", 2: "competing"})
    con.register("frame", frame)
    con.execute("create temp table durations as select group_value, day, outcome from frame")
    ours = con.execute("select * from aalen_johansen('durations') order by group_value, day").df()
    for group, rows in frame.groupby("group_value"):
        fitter = AalenJohansenFitter(calculate_variance=False).fit(rows.day, rows.code, event_of_interest=1)
        theirs = fitter.cumulative_density_.iloc[:, 0]
        mine = ours[ours.group_value == group].set_index("day").incidence
        assert mine.values == pytest.approx(theirs.reindex(mine.index).values)
        competing = AalenJohansenFitter(calculate_variance=False).fit(rows.day, rows.code, event_of_interest=2)
        assert ours[ours.group_value == group].competing_incidence.values == pytest.approx(
            competing.cumulative_density_.iloc[:, 0].reindex(mine.index).values)


def test_maintenance_counts_boosters_after_the_route_induction_and_reinductions(clinic):
    iv = "\n".join(f"P{n},{d}" for n in (1, 2) for d in (0, 2, 4, 7, 9, 11))
    oral = "\n".join(f"P3,{d},,oral" for d in (0, 7, 14, 21, 50))
    # P2's three sessions from day 200 are a re-induction (an unfinished one: not in the maintenance cohort).
    con = clinic(f"{iv}\nP1,40\nP1,70\nP2,200\nP2,202\nP2,204\n{oral}")
    row = marts.maintenance(con).iloc[0]
    assert (row.n_series, row.n_with_boosters, row.n_boosters, row.mean_boosters) == (3, 2, 3, 1.0)
    assert (row.median_days_to_first_booster, row.median_days_between_boosters) == (29, 30)
    assert (row.n_reinducted, round(row.reinduction_rate, 4)) == (1, 0.3333)
    by_route = marts.maintenance(con, by="route").set_index("group_value")
    assert by_route.n_boosters.to_dict() == {"IV": 2, "oral": 1}


def test_protocol_adherence_counts_inductions_completed_within_the_route_window(clinic):
    # IV: six sessions, the sixth 21 days after the first counts, 22 does not; oral: four in 28 days.
    con = clinic("\n".join(f"P1,{d}" for d in (0, 4, 8, 12, 16, 21)) + "\n"
                 + "\n".join(f"P2,{d}" for d in (0, 4, 8, 12, 16, 22)) + "\n"
                 + "\n".join(f"P3,{d},,oral" for d in (0, 9, 18, 28)) + "\nP4,0\nP4,3\nP9,200")
    row = marts.protocol_adherence(con).iloc[0]
    assert (row.group_value, row.n_series, row.n_completed, row.n_within_window) == ("North", 4, 3, 2)
    assert (row.completion_rate, row.adherence_rate) == (0.75, 0.5)


def test_nhs_talking_therapies_measures_at_end_of_induction_by_hand(clinic):
    # Six IV sessions each (last day 11); baseline day 0, end of induction day 14. (PHQ-9, GAD-7):
    # A (10, 8) -> (4, 7): a case at both thresholds exactly; recovered, PHQ-9 fell 6 (reliable): reliably
    #   recovered; MCID met.
    # B (9, 7) -> (4, 3): not a case (one under each threshold): in no rate.
    # C (20, 12) -> (15, 8): GAD-7 at 8 is still a case at the end (not recovered); GAD-7 fell 4 (reliable),
    #   PHQ-9 fell 5 (MCID met, not reliable).
    # D (12, 10) -> (18, 5): GAD-7 fell reliably but PHQ-9 rose 6: reliable deterioration, not improvement.
    # E: PHQ-9 only: not paired. Z's session on day 40 ends the data after every window (to day 32): all evaluable.
    sessions = "\n".join(f"{p},{d}" for p in "ABCDE" for d in (0, 2, 4, 7, 9, 11)) + "\nZ,40"
    scores = {"A": (10, 8, 4, 7), "B": (9, 7, 4, 3), "C": (20, 12, 15, 8), "D": (12, 10, 18, 5)}
    outcomes = "\n".join(f"{p},0,PHQ-9,{a}\n{p},0,GAD-7,{b}\n{p},14,PHQ-9,{c}\n{p},14,GAD-7,{d}"
                         for p, (a, b, c, d) in scores.items()) + "\nE,0,PHQ-9,20\nE,14,PHQ-9,5"
    row = marts.talking_therapies(clinic(sessions, outcomes)).iloc[0]
    assert (row.n_paired, row.n_cases, row.n_recovered, row.n_reliably_improved, row.n_reliably_recovered,
            row.n_reliably_deteriorated, row.n_mcid_improved) == (4, 3, 1, 2, 1, 1, 2)
    assert (round(row.recovery_rate, 4), round(row.reliable_improvement_rate, 4)) == (0.3333, 0.6667)


# Weekly table, intervals, cohorts --------------------------------------------------------------

def test_weekly_table_counts_and_wilson_interval(clinic):
    sessions = "\n".join(f"P{n},0" for n in range(10))
    outcomes = "\n".join(f"P{n},0,PHQ-9,20\nP{n},7,PHQ-9,{8 if n < 5 else 16}" for n in range(10))
    con = clinic(sessions, outcomes)
    week1 = marts.weekly_outcomes(con, "PHQ-9").set_index("week").loc[1]
    assert (week1.n_scored, week1.n_paired, week1.responders, week1.remitters) == (10, 10, 5, 0)
    assert week1.response_rate == 0.5
    # Wilson 95% interval for 5 of 10: 0.2366 to 0.7634.
    assert round(week1.response_rate_low, 4) == 0.2366 and round(week1.response_rate_high, 4) == 0.7634
    # Mean 12, SD 4.216: 95% CI 12 +/- 1.96 * 4.216 / sqrt(10).
    assert math.isclose(week1.mean_ci_low, 12 - 1.96 * 4.2164 / math.sqrt(10), abs_tol=1e-3)


def test_the_weekly_table_split_by_route_has_each_routes_weeks_and_they_add_up_to_the_unsplit_table(clinic):
    # IV: P1 20 -> 8 (responds), P2 20 -> 15. IM: P3 16 -> 6 (responds), P4 scored in week 1 without a baseline.
    con = clinic("P1,0,,IV\nP2,0,,IV\nP3,0,,IM\nP4,0,,IM",
                 "P1,0,PHQ-9,20\nP1,7,PHQ-9,8\nP2,0,PHQ-9,20\nP2,7,PHQ-9,15\nP3,0,PHQ-9,16\nP3,7,PHQ-9,6\n"
                 "P4,7,PHQ-9,10")
    split = marts.weekly_outcomes(con, "PHQ-9", by="route").set_index(["group_value", "week"])
    assert split.n_scored.to_dict() == {("IM", 0): 1, ("IM", 1): 2, ("IV", 0): 2, ("IV", 1): 2}
    week1 = split.xs(1, level="week")
    assert week1[["n_paired", "responders"]].to_dict("index") == {"IM": {"n_paired": 1, "responders": 1},
                                                                   "IV": {"n_paired": 2, "responders": 1}}
    assert week1.mean_score.to_dict() == {"IM": 8, "IV": 11.5}  # (6 + 10) / 2, (8 + 15) / 2
    whole = marts.weekly_outcomes(con, "PHQ-9")
    assert "group_value" not in whole  # unsplit: one row per week, as before the split
    assert whole.set_index("week").n_scored.to_dict() == {0: 3, 1: 4}
    split = split.reset_index()
    assert split.groupby("week").n_scored.sum().tolist() == whole.n_scored.tolist()
    assert marts.weekly_outcomes(con, "PHQ-9", by="all").group_value.tolist() == ["all", "all"]
    with pytest.raises(ValueError):
        marts.weekly_outcomes(con, "PHQ-9", by="name")


def test_a_clinic_term_for_an_indication_is_one_group_whatever_its_case(con, clinic):
    # Free text outside the vocabulary is stored as 'other' (issue 23); the clinic adds its own terms.
    mappings.add_terms(con, "clinic", "primary_indication", ["Chronic Pain", "Bipolar II"])
    con = clinic("P1,0\nP2,0\nP3,0\nP4,0",
                 "P1,0,PHQ-9,20\nP1,7,PHQ-9,9\nP2,0,PHQ-9,20\nP2,7,PHQ-9,15\nP3,0,PHQ-9,20\nP3,7,PHQ-9,8\n"
                 "P4,0,PHQ-9,20\nP4,7,PHQ-9,19",
                 "P1,,,Chronic Pain,\nP2,,,chronic pain,\nP3,,,Chronic Pain,\nP4,,,Bipolar II,")
    assert table(con, "select primary_indication from patients order by patient_id") == [
        ("Chronic Pain",), ("Chronic Pain",), ("Chronic Pain",), ("Bipolar II",)]
    # One group, under the term's spelling.
    by_indication = marts.cohort_comparison(con, "PHQ-9", by="indication").set_index("group_value")
    assert by_indication.n_series.to_dict() == {"Bipolar II": 1, "Chronic Pain": 3}
    # Filtered whatever the case: 3 series scored in week 1, 2 responders (P1 20 -> 9, P3 20 -> 8).
    week1 = marts.weekly_outcomes(con, "PHQ-9", Cohort(indications=("CHRONIC-PAIN",))).set_index("week").loc[1]
    assert (week1.n_scored, week1.responders) == (3, 2)


def test_cohort_filters(clinic):
    # P3's second series: a new baseline (day 199) before its session on day 200.
    con = clinic("P1,0,,IV,North\nP2,0,,IM,South\nP3,0,,IV,South\nP3,200,,IV,South",
                 "P1,0,PHQ-9,22\nP1,7,PHQ-9,10\nP2,0,PHQ-9,8\nP2,7,PHQ-9,4\nP3,0,PHQ-9,15\nP3,7,PHQ-9,14\n"
                 "P3,199,PHQ-9,16\nP3,207,PHQ-9,6",
                 "P1,25-34,female,depression,North\nP2,35-44,male,PTSD,South\nP3,25-34,male,depression,South")

    def week1(**filters):
        return marts.weekly_outcomes(con, "PHQ-9", Cohort(**filters)).set_index("week").loc[1, "n_scored"]

    assert week1() == 4
    assert week1(sites=("South",)) == 3
    assert week1(routes=("IM",)) == 1
    assert week1(indications=("depression",)) == 3
    assert week1(sexes=("male",), age_bands=("25-34",)) == 2
    assert week1(first_series_only=True) == 3
    assert week1(min_baseline=10) == 3


def test_rates_are_of_series_with_a_baseline_and_those_without_are_counted_beside_them(clinic):
    # Four IV series of six sessions; P9 ends the data on day 200. P1 (baseline 20) responds; P2 (baseline 8,
    # under caseness) does not; P3 has no baseline and is evaluable; P4 has no baseline and has not reached
    # the end of its induction (two sessions, the last on day 190: not dropped out, not evaluable).
    six = (0, 2, 4, 7, 9, 11)
    sessions = "\n".join(f"{p},{d}" for p in ("P1", "P2", "P3") for d in six) + "\nP4,188\nP4,190\nP9,200"
    con = clinic(sessions, "P1,0,PHQ-9,20\nP1,14,PHQ-9,4\nP2,0,PHQ-9,8\nP2,14,PHQ-9,7\nP3,14,PHQ-9,3")
    row = marts.cohort_comparison(con, "PHQ-9").iloc[0]
    assert (row.n_series, row.n_evaluable, row.responders, row.itt_response_rate, row.n_evaluable_no_baseline) \
        == (2, 2, 1, 0.5, 1)
    # Under caseness (PHQ-9 >= 10) P2 leaves the rate; P3 is still counted beside it (its caseness is unknown).
    cases = marts.cohort_comparison(con, "PHQ-9", cohort=Cohort(min_baseline=10)).iloc[0]
    assert (cases.n_evaluable, cases.responders, cases.n_evaluable_no_baseline) == (1, 1, 1)
    by_route = marts.cohort_comparison(con, "PHQ-9", by="route").set_index("group_value")
    assert by_route.loc["IV", "n_evaluable_no_baseline"] == 1


def test_cohort_comparison_by_dimension(clinic):
    con = clinic(SIX_SESSIONS + "\n" + "\n".join(f"P2,{d},,IM" for d in (0, 2, 4, 7, 9, 11)) + "\nP9,200",
                 "P1,0,PHQ-9,20\nP1,14,PHQ-9,4\nP2,0,PHQ-9,20\nP2,14,PHQ-9,15")
    by_route = marts.cohort_comparison(con, "PHQ-9", by="route").set_index("group_value")
    assert by_route.loc["IV", ["responders", "remitters", "n_scored"]].tolist() == [1, 1, 1]
    assert by_route.loc["IM", ["responders", "remitters", "n_scored"]].tolist() == [0, 0, 1]
    with pytest.raises(ValueError):
        marts.cohort_comparison(con, "PHQ-9", by="name")


def test_attrition_counts_series_reaching_each_session_and_scored_week(clinic):
    con = clinic(SIX_SESSIONS + "\nP2,0\nP2,2", "P1,0,PHQ-9,20\nP1,7,PHQ-9,15\nP2,0,PHQ-9,20\nP2,7,PHQ-9,18\n"
                                                "P1,14,PHQ-9,12")
    attrition = marts.attrition(con, "PHQ-9")
    sessions = attrition[attrition.stage == "session"].set_index("step").n_series.to_dict()
    weeks = attrition[attrition.stage == "week"].set_index("step").n_series.to_dict()
    assert sessions == {1: 2, 2: 2, 3: 1, 4: 1, 5: 1, 6: 1}
    assert weeks == {1: 2, 2: 1}


# Safety ----------------------------------------------------------------------------------------

def test_adverse_event_rate_per_completed_session(export, con):
    ingest_file(con, export("s.csv", "patient_id,session_day,route,status,adverse_events,dose_mg_per_kg\n"
                                     "P1,0,IV,,nausea;dissociation,0.5\nP1,2,IV,,nausea,0.5\n"
                                     "P1,4,IV,cancelled,nausea,0.5\nP1,5,IV,,,0.8\n"))
    marts.build(con)
    frame = marts.adverse_events(con, by="route").set_index("event")
    assert frame.loc["nausea", ["n_sessions", "n_events"]].tolist() == [3, 2]
    assert frame.loc["headache", "n_events"] == 0
    bands = marts.adverse_events(con, by="dose_band")
    assert bands[bands.event == "nausea"][["group_value", "n_events"]].values.tolist() == [
        ["0.5-0.74 mg/kg", 2], ["0.75-0.99 mg/kg", 0]]


def test_blood_pressure_peaks_of_180_or_more(export, con):
    ingest_file(con, export("s.csv", "patient_id,session_day,route,systolic_bp_peak\n"
                                     "P1,0,IV,179\nP1,2,IV,180\nP1,4,IV,\n"))
    marts.build(con)
    row = marts.blood_pressure(con).iloc[0]
    assert (row.n_sessions, row.n_measured, row.n_high_peaks, row.high_peak_rate) == (3, 2, 1, 0.5)


def test_item9_flags_list_every_nonzero_item9_and_whether_it_rose(clinic):
    con = clinic("P1,0\nP2,0", "P1,0,PHQ-9,20,1\nP1,7,PHQ-9,18,1\nP1,14,PHQ-9,22,2\nP2,7,PHQ-9,9,0")
    flags = marts.item9_flags(con)
    assert flags[["patient_id", "week", "item9", "baseline_item9", "is_rise"]].values.tolist() == [
        ["P1", 2, 2, 1, True], ["P1", 1, 1, 1, False], ["P1", 0, 1, 1, False]]


def test_an_unchanged_re_upload_records_the_version_without_rebuilding(clinic, export):
    con = clinic("P1,0", "P1,0,PHQ-9,20")
    # A mark the rebuild would undo: the intermediate table loses its one row by hand.
    con.execute("delete from int_treatment_series")
    again = ingest_file(con, export("again.csv", "patient_id,session_day,status,route,site\nP1,0,completed,IV,North\n"))
    assert (again.rows_inserted, again.rows_replaced, again.rows_duplicate) == (0, 0, 1)
    assert not marts.is_built(con)  # a new batch: the dashboard's caches must see it (its history row)
    marts.ensure_built(con)
    assert marts.is_built(con)
    assert table(con, "select count(*) from int_treatment_series") == [(0,)]  # not rebuilt: nothing changed
    ingest_file(con, export("new.csv", "patient_id,session_day,status,route,site\nP2,0,completed,IV,North\n"))
    marts.ensure_built(con)
    assert table(con, "select count(*) from int_treatment_series") == [(2,)]  # rebuilt from the stored rows


def test_ensure_built_rebuilds_after_new_data(clinic, export):
    con = clinic("P1,0", "P1,0,PHQ-9,20")
    assert marts.is_built(con)
    ingest_file(con, export("more.csv", "patient_id,session_day,route\nP2,0,IV\n"))
    assert not marts.is_built(con)
    marts.ensure_built(con)
    assert table(con, "select count(*) from int_treatment_series") == [(2,)]


def test_minimum_baseline_filters_marts_that_chart_no_instrument(clinic):
    con = clinic("P1,0\nP2,0\nP3,0", "P1,0,PHQ-9,22\nP1,0,GAD-7,5\nP1,7,GAD-7,4\nP2,0,PHQ-9,8\nP2,0,GAD-7,15\n"
                                     "P2,7,GAD-7,6\nP3,7,GAD-7,9")
    moderate = Cohort(min_baseline=10, baseline_instrument="PHQ-9")
    assert marts.activity(con, moderate).n_series.iloc[0] == 1
    assert marts.adverse_events(con, cohort=moderate).n_sessions.iloc[0] == 1
    # The minimum follows its own instrument, whatever instrument the weekly table shows.
    gad7 = marts.weekly_outcomes(con, "GAD-7", moderate).set_index("week")
    assert gad7.loc[1, "n_scored"] == 1 and gad7.loc[1, "mean_score"] == 4
    assert marts.weekly_outcomes(con, "GAD-7").set_index("week").loc[1, "n_scored"] == 3


def test_end_statuses_and_first_response_weeks(clinic):
    five = "\n".join(f"P2,{d}" for d in (0, 2, 4, 7, 9))
    con = clinic(SIX_SESSIONS + "\n" + five + "\nP3,0\nP9,200",
                 "P1,0,PHQ-9,20\nP1,7,PHQ-9,12\nP1,14,PHQ-9,9\nP1,21,PHQ-9,3\nP2,0,PHQ-9,20\nP2,7,PHQ-9,8")
    statuses = dict(marts.end_statuses(con, "PHQ-9").values.tolist())
    assert statuses == {"remission": 1, "not reached": 1, "no baseline": 2}
    assert marts.first_response_weeks(con, "PHQ-9").values.tolist() == [[1, 1], [2, 1]]
    summary = marts.series_summary(con, "PHQ-9")
    assert summary.end_status.value_counts().to_dict() == statuses


def test_published_results_are_matched_by_route(clinic):
    # An IV series and an oral one: the whole clinic mixes routes, so nothing is set beside it; the IV
    # cohort gets the IV papers (McInnes 2022, Oliver 2022), the oral cohort Hull 2022, each saying how
    # the paper reported its figure.
    con = clinic("P1,0,,IV\nP2,0,,oral")
    assert not marts.published_results(con, "PHQ-9").is_matched.any()
    iv = marts.published_results(con, "PHQ-9", Cohort(routes=("IV",)))
    assert iv[iv.is_matched].study.tolist() == ["McInnes 2022 (ORKA-1)", "Oliver 2022"]
    assert iv[iv.is_matched].reported.tolist() == ["observed", "Kaplan-Meier"]
    oral = marts.published_results(con, "PHQ-9", Cohort(routes=("oral",)))
    assert oral[oral.is_matched][["study", "response_rate", "remission_rate"]].values.tolist() == [
        ["Hull 2022 (Mindbloom)", 0.628, 0.326]]
    assert marts.published_results(con, "GAD-7", Cohort(routes=("IV",))).is_matched.sum() == 0


def test_a_series_whose_end_of_induction_window_is_open_is_outside_every_end_of_induction_n(clinic):
    # P1: induction ends day 11, window to day 32; P2: sessions from day 30, induction ends day 41, window to
    # day 62. The data end on day 42 (P2's last score), so P1 is evaluable and P2, still in treatment, is not.
    # Both responded (PHQ-9 20 -> 8, GAD-7 15 -> 5) in their window.
    p2 = "\n".join(f"P2,{d}" for d in (30, 32, 34, 37, 39, 41))
    con = clinic(SIX_SESSIONS + "\n" + p2,
                 "P1,0,PHQ-9,20\nP1,0,GAD-7,15\nP1,14,PHQ-9,8\nP1,14,GAD-7,5\n"
                 "P2,30,PHQ-9,20\nP2,30,GAD-7,15\nP2,42,PHQ-9,8\nP2,42,GAD-7,5")
    rates = marts.cohort_comparison(con, "PHQ-9").iloc[0]
    assert (rates.n_series, rates.n_evaluable, rates.n_scored, rates.responders) == (2, 1, 1, 1)
    assert dict(marts.end_statuses(con, "PHQ-9").values.tolist()) == {"response": 1, "not yet evaluable": 1}
    assert marts.severity_transitions(con, "PHQ-9").n_series.sum() == 1
    assert marts.talking_therapies(con).n_paired.iloc[0] == 1
    summary = marts.series_summary(con, "PHQ-9").set_index("patient_id")
    # The series list keeps P2's provisional status, marked not evaluable.
    assert summary.is_evaluable.to_dict() == {"P1": True, "P2": False}
    assert summary.end_status.to_dict() == {"P1": "response", "P2": "response"}


def test_the_caseness_rule_is_one_function_for_the_dashboard_and_the_pack(clinic):
    con = clinic("P1,0", "P1,0,PHQ-9,12")
    con.execute("insert or replace into setting_overrides values ('phq9_caseness', 12)")
    cases = marts.caseness_cohort(con, Cohort(), "PHQ-9")
    assert (cases.min_baseline, cases.baseline_instrument) == (12, "PHQ-9")
    assert marts.with_caseness(Cohort(), "PHQ-9", {"PHQ-9": 12}) == cases
    chosen = Cohort(min_baseline=15)  # a minimum the user chose is kept; PCL-5 has no caseness threshold
    assert marts.with_caseness(chosen, "PHQ-9", {"PHQ-9": 12}) is chosen
    assert marts.with_caseness(Cohort(), "PCL-5", {"PHQ-9": 12}) == Cohort()
