"""Guards the clinical definitions (docs/metrics.md) at their boundaries: series gaps, the baseline
window, weeks, response, remission, reliable change, end of induction, dropout, intention to treat,
and the cohort filters. Each test builds a tiny clinic from text and checks values by hand."""

import math

import pytest

from ketamine_outcomes import metrics
from ketamine_outcomes.ingest import ingest_file
from ketamine_outcomes.metrics import Cohort


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
        metrics.build(con)
        return con

    return build


def table(con, sql):
    return con.execute(sql).fetchall()


SIX_SESSIONS = "\n".join(f"P1,{d}" for d in (0, 2, 4, 7, 9, 11))


# Treatment series -------------------------------------------------------------------------------

def test_a_60_day_gap_continues_the_series_and_61_starts_a_new_one(clinic):
    con = clinic("P1,0\nP1,60\nP2,0\nP2,61")
    assert table(con, "select patient_id, session_day, series_number, session_number from int_series_sessions "
                      "order by 1, 2") == [("P1", 0, 1, 1), ("P1", 60, 1, 2), ("P2", 0, 1, 1), ("P2", 61, 2, 1)]


def test_a_cancelled_first_session_does_not_start_the_series(clinic):
    con = clinic("P1,0,cancelled\nP1,3,no_show\nP1,5\nP1,8")
    assert table(con, "select start_day, sessions_completed from int_treatment_series") == [(5, 2)]


def test_gap_is_measured_between_completed_sessions_only(clinic):
    con = clinic("P1,0\nP1,40,cancelled\nP1,80")
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
    week1 = metrics.weekly_outcomes(con, "PHQ-9").set_index("week").loc[1]
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


def test_reliable_change_from_jacobson_truax_when_a_reliability_is_configured(clinic):
    # MADRS has no points threshold; with r = 0.75 and baselines 20 and 30 (SD 7.07), the threshold
    # is 1.96 * sqrt(2) * 7.07 * sqrt(0.25) = 9.8 points.
    con = clinic("P1,0\nP2,0", "P1,0,MADRS,20\nP1,7,MADRS,10\nP2,0,MADRS,30\nP2,7,MADRS,21")
    assert table(con, "select is_reliable_improvement from int_weekly_scores") == [(None,), (None,)]
    con.execute("insert or replace into setting_overrides values ('reliability_madrs', 0.75)")
    metrics.ensure_built(con)
    assert table(con, "select series_id, is_reliable_improvement from int_weekly_scores order by 1") == [
        ("P1#1", True), ("P2#1", False)]


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
    row = metrics.cohort_comparison(con, "PHQ-9").iloc[0]
    assert (row.n_series, row.n_evaluable, row.n_scored, row.responders) == (2, 2, 1, 1)
    assert (row.response_rate, row.itt_response_rate) == (1.0, 0.5)
    summary = metrics.series_summary(con, "PHQ-9").set_index("series_id")
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
    itt = metrics.weekly_outcomes_itt(con, "PHQ-9").set_index("week")
    assert itt.loc[2, "n_series"] == 2 and itt.loc[2, "mean_score"] == (14 + 10) / 2
    assert itt.loc[3, "responders"] == 1 and itt.loc[3, "response_rate"] == 0.5
    observed = metrics.weekly_outcomes(con, "PHQ-9").set_index("week")
    assert observed.loc[3, "response_rate"] == 1.0


def test_intention_to_treat_counts_a_series_only_once_it_started_w_weeks_ago(clinic):
    con = clinic("P1,0\nP2,90\nP9,100", "P1,0,PHQ-9,20\nP1,14,PHQ-9,12\nP2,90,PHQ-9,20")
    itt = metrics.weekly_outcomes_itt(con, "PHQ-9").set_index("week")
    assert itt.loc[0, "n_series"] == 2 and itt.loc[1, "n_series"] == 2 and itt.loc[2, "n_series"] == 1


# Weekly table, intervals, cohorts --------------------------------------------------------------

def test_weekly_table_counts_and_wilson_interval(clinic):
    sessions = "\n".join(f"P{n},0" for n in range(10))
    outcomes = "\n".join(f"P{n},0,PHQ-9,20\nP{n},7,PHQ-9,{8 if n < 5 else 16}" for n in range(10))
    con = clinic(sessions, outcomes)
    week1 = metrics.weekly_outcomes(con, "PHQ-9").set_index("week").loc[1]
    assert (week1.n_scored, week1.n_paired, week1.responders, week1.remitters) == (10, 10, 5, 0)
    assert week1.response_rate == 0.5
    # Wilson 95% interval for 5 of 10: 0.2366 to 0.7634.
    assert round(week1.response_rate_low, 4) == 0.2366 and round(week1.response_rate_high, 4) == 0.7634
    # Mean 12, SD 4.216: 95% CI 12 +/- 1.96 * 4.216 / sqrt(10).
    assert math.isclose(week1.mean_ci_low, 12 - 1.96 * 4.2164 / math.sqrt(10), abs_tol=1e-3)


def test_cohort_filters(clinic):
    con = clinic("P1,0,,IV,North\nP2,0,,IM,South\nP3,0,,IV,South\nP3,200,,IV,South",
                 "P1,0,PHQ-9,22\nP1,7,PHQ-9,10\nP2,0,PHQ-9,8\nP2,7,PHQ-9,4\nP3,0,PHQ-9,15\nP3,7,PHQ-9,14\n"
                 "P3,200,PHQ-9,16\nP3,207,PHQ-9,6",
                 "P1,25-34,female,depression,North\nP2,35-44,male,PTSD,South\nP3,25-34,male,depression,South")

    def week1(**filters):
        return metrics.weekly_outcomes(con, "PHQ-9", Cohort(**filters)).set_index("week").loc[1, "n_scored"]

    assert week1() == 4
    assert week1(sites=("South",)) == 3
    assert week1(routes=("IM",)) == 1
    assert week1(indications=("depression",)) == 3
    assert week1(sexes=("male",), age_bands=("25-34",)) == 2
    assert week1(first_series_only=True) == 3
    assert week1(min_baseline=10) == 3


def test_cohort_comparison_by_dimension(clinic):
    con = clinic(SIX_SESSIONS + "\n" + "\n".join(f"P2,{d},,IM" for d in (0, 2, 4, 7, 9, 11)) + "\nP9,200",
                 "P1,0,PHQ-9,20\nP1,14,PHQ-9,4\nP2,0,PHQ-9,20\nP2,14,PHQ-9,15")
    by_route = metrics.cohort_comparison(con, "PHQ-9", by="route").set_index("group_value")
    assert by_route.loc["IV", ["responders", "remitters", "n_scored"]].tolist() == [1, 1, 1]
    assert by_route.loc["IM", ["responders", "remitters", "n_scored"]].tolist() == [0, 0, 1]
    with pytest.raises(ValueError):
        metrics.cohort_comparison(con, "PHQ-9", by="name")


def test_attrition_counts_series_reaching_each_session_and_scored_week(clinic):
    con = clinic(SIX_SESSIONS + "\nP2,0\nP2,2", "P1,0,PHQ-9,20\nP1,7,PHQ-9,15\nP2,0,PHQ-9,20\nP2,7,PHQ-9,18\n"
                                                "P1,14,PHQ-9,12")
    attrition = metrics.attrition(con, "PHQ-9")
    sessions = attrition[attrition.stage == "session"].set_index("step").n_series.to_dict()
    weeks = attrition[attrition.stage == "week"].set_index("step").n_series.to_dict()
    assert sessions == {1: 2, 2: 2, 3: 1, 4: 1, 5: 1, 6: 1}
    assert weeks == {1: 2, 2: 1}


# Safety ----------------------------------------------------------------------------------------

def test_adverse_event_rate_per_completed_session(export, con):
    ingest_file(con, export("s.csv", "patient_id,session_day,route,status,adverse_events,dose_mg_per_kg\n"
                                     "P1,0,IV,,nausea;dissociation,0.5\nP1,2,IV,,nausea,0.5\n"
                                     "P1,4,IV,cancelled,nausea,0.5\nP1,5,IV,,,0.8\n"))
    metrics.build(con)
    frame = metrics.adverse_events(con, by="route").set_index("event")
    assert frame.loc["nausea", ["n_sessions", "n_events"]].tolist() == [3, 2]
    assert frame.loc["headache", "n_events"] == 0
    bands = metrics.adverse_events(con, by="dose_band")
    assert bands[bands.event == "nausea"][["group_value", "n_events"]].values.tolist() == [
        ["0.5-0.74 mg/kg", 2], ["0.75-0.99 mg/kg", 0]]


def test_blood_pressure_peaks_of_180_or_more(export, con):
    ingest_file(con, export("s.csv", "patient_id,session_day,route,systolic_bp_peak\n"
                                     "P1,0,IV,179\nP1,2,IV,180\nP1,4,IV,\n"))
    metrics.build(con)
    row = metrics.blood_pressure(con).iloc[0]
    assert (row.n_sessions, row.n_measured, row.n_peaks_180, row.peak_180_rate) == (3, 2, 1, 0.5)


def test_item9_flags_list_every_nonzero_item9_and_whether_it_rose(clinic):
    con = clinic("P1,0\nP2,0", "P1,0,PHQ-9,20,1\nP1,7,PHQ-9,18,1\nP1,14,PHQ-9,22,2\nP2,7,PHQ-9,9,0")
    flags = metrics.item9_flags(con)
    assert flags[["patient_id", "week", "item9", "baseline_item9", "is_rise"]].values.tolist() == [
        ["P1", 2, 2, 1, True], ["P1", 1, 1, 1, False], ["P1", 0, 1, 1, False]]


def test_ensure_built_rebuilds_after_new_data(clinic, export):
    con = clinic("P1,0", "P1,0,PHQ-9,20")
    assert metrics.is_built(con)
    ingest_file(con, export("more.csv", "patient_id,session_day,route\nP2,0,IV\n"))
    assert not metrics.is_built(con)
    metrics.ensure_built(con)
    assert table(con, "select count(*) from int_treatment_series") == [(2,)]


def test_minimum_baseline_filters_marts_that_chart_no_instrument(clinic):
    con = clinic("P1,0\nP2,0\nP3,0", "P1,0,PHQ-9,22\nP1,0,GAD-7,5\nP1,7,GAD-7,4\nP2,0,PHQ-9,8\nP2,0,GAD-7,15\n"
                                     "P2,7,GAD-7,6\nP3,7,GAD-7,9")
    moderate = Cohort(min_baseline=10, baseline_instrument="PHQ-9")
    assert metrics.activity(con, moderate).n_series.iloc[0] == 1
    assert metrics.adverse_events(con, cohort=moderate).n_sessions.iloc[0] == 1
    # The minimum follows its own instrument, whatever instrument the weekly table shows.
    gad7 = metrics.weekly_outcomes(con, "GAD-7", moderate).set_index("week")
    assert gad7.loc[1, "n_scored"] == 1 and gad7.loc[1, "mean_score"] == 4
    assert metrics.weekly_outcomes(con, "GAD-7").set_index("week").loc[1, "n_scored"] == 3


def test_response_timing_counts_statuses_and_first_response_weeks(clinic):
    five = "\n".join(f"P2,{d}" for d in (0, 2, 4, 7, 9))
    con = clinic(SIX_SESSIONS + "\n" + five + "\nP3,0\nP9,200",
                 "P1,0,PHQ-9,20\nP1,7,PHQ-9,12\nP1,14,PHQ-9,9\nP1,21,PHQ-9,3\nP2,0,PHQ-9,20\nP2,7,PHQ-9,8")
    timing = metrics.response_timing(con, "PHQ-9")
    statuses = dict(timing[timing.measure == "end_status"][["value", "n_series"]].values.tolist())
    assert statuses == {"remission": 1, "not reached": 1, "no baseline": 2}
    weeks = dict(timing[timing.measure == "first_response_week"][["value", "n_series"]].values.tolist())
    assert weeks == {"1": 1, "2": 1}
    summary = metrics.series_summary(con, "PHQ-9")
    assert summary.end_status.value_counts().to_dict() == statuses
