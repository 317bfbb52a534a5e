"""Guards the safety figures at their boundaries, on tiny clinics computed by hand: PHQ-9 item 9 flags
inside and outside a series (not narrowed by the cohort), item 9 resolved and emergent and reliable
deterioration over the induction, blood-pressure rises and pre-dose readings (Spravato label), the
optional blood-pressure columns of a sessions export, and CADSS by session number."""

import math

import pandas as pd
import pytest

from ketamine_outcomes.charts import figures
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.definitions import INSTRUMENTS, OUTCOME_INSTRUMENTS, SETTINGS
from ketamine_outcomes.ingest.pipeline import ingest_file
from ketamine_outcomes.metrics.marts import Cohort
from ketamine_outcomes.disclosure import panels, safety_panels, suppress

SIX = (0, 2, 4, 7, 9, 11)  # an IV induction: its 6th session (day 11) ends it; window days 11-32


def rows(con, sql):
    return con.execute(sql).fetchall()


def build(con, export, sessions: str, outcomes: str = "", patients: str = ""):
    for name, text in (("sessions.csv", sessions), ("outcomes.csv", outcomes), ("patients.csv", patients)):
        if text:
            result = ingest_file(con, export(name, text))
            assert result.refused is None and result.rows_rejected == 0, (result.refused, result.rejects)
    marts.build(con)
    return con


def wilson(k, n):
    z = 1.96
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


# Item 9 flags --------------------------------------------------------------------------------------

def test_item9_outside_any_series_is_flagged_with_the_nearest_sessions_site_and_clinician(con, export):
    build(con, export,
          "patient_id,session_day,route,site,clinician_id\nP1,100,IV,North,C1\nP1,102,IV,North,C1\n",
          "patient_id,assessment_day,instrument,score,item9\n"
          "P1,85,PHQ-9,20,2\n"   # 15 days before the first session: outside the baseline window, in no series
          "P1,86,PHQ-9,19,1\n"   # 14 days before: the series' baseline
          "P1,102,PHQ-9,15,0\n"
          "P2,5,PHQ-9,12,3\n",   # a patient with no session at all: site from the patients export
          "patient_id,sex,site\nP2,female,South\n")
    flags = marts.item9_flags(con)
    assert flags[["patient_id", "is_in_series", "series_number", "week", "assessment_day", "site", "clinician_id",
                  "item9"]].astype(object).where(flags.notna(), None).values.tolist() == [
        ["P1", True, 1, 0, 86, "North", "C1", 1],
        ["P1", False, None, None, 85, "North", "C1", 2],
        ["P2", False, None, None, 5, "South", "unknown", 3],
    ]
    assert flags.is_rise.isna().tolist() == [False, True, True]  # a rise is measured only inside a series


def test_item9_flags_are_not_narrowed_by_the_cohort(con, export):
    build(con, export, "patient_id,session_day,route,site\nP1,0,IV,North\nP2,0,oral,South\n",
          "patient_id,assessment_day,instrument,score,item9\nP1,0,PHQ-9,20,1\nP2,0,PHQ-9,20,2\n")
    narrow = Cohort(sites=("North",), routes=("IV",), min_baseline=25)
    assert sorted(marts.item9_flags(con, narrow).patient_id) == ["P1", "P2"]


def test_the_packs_item9_counts_follow_the_filters_and_leave_out_answers_in_no_series(con, export):
    # The walk: `report --route oral` printed the whole clinic's item 9 counts under "route: oral".
    build(con, export,
          "patient_id,session_day,route,site\nP1,100,IV,North\nP1,102,IV,North\nP2,100,oral,South\nP3,100,IV,South\n",
          "patient_id,assessment_day,instrument,score,item9\n"
          "P1,80,PHQ-9,20,3\n"    # 20 days before P1's series: a screening, in no series
          "P1,99,PHQ-9,20,1\n"    # P1's baseline: item 9 of 1 (not a rise: the baseline itself)
          "P1,102,PHQ-9,18,2\n"   # a rise over the baseline's 1
          "P2,100,PHQ-9,15,1\n"   # the oral series' one flag
          "P3,100,PHQ-9,12,0\n")  # IV, South, no flag
    exact = suppress.Disclosure(0, 1)

    def panel(cohort, rule=exact):
        return safety_panels.item9_flags_in_period(panels.from_connection(con), panels.Selection("PHQ-9", cohort, rule))

    def counts(cohort):
        data = panel(cohort).data
        return data["flagged"], data["rises"], data["patients"]
    assert counts(Cohort()) == ("3", "1", "2")  # P1's two in the series and P2's; P1's screening in no series
    assert counts(Cohort(routes=("IV",))) == ("2", "1", "1")
    assert counts(Cohort(routes=("oral",))) == ("1", "0", "1")
    assert counts(Cohort(sites=("South",), routes=("IV",))) == ("0", "0", "0")
    assert "route: oral" in panel(Cohort(routes=("oral",))).data["when"]
    # Under the small-cell rule the same counts of 1-10 read hidden.
    shown = panel(Cohort(routes=("IV",)), suppress.Disclosure(11)).data
    assert (shown["flagged"], shown["patients"]) == ("hidden", "hidden")


def test_item9_flags_show_a_date_when_the_export_has_dates_and_the_day_otherwise(con, export):
    build(con, export, "patient_id,session_date,route,clinician_id\nP1,2025-03-01,IV,C7\n",
          "patient_id,assessment_date,instrument,score,item9\nP1,2025-02-01,PHQ-9,14,1\n")
    flag = marts.item9_flags(con).iloc[0]
    # The day of a dated row counts from 1970 and means nothing: the mart has no column of days for a dated export.
    assert (str(flag.assessment_date)[:10], "assessment_day" in flag) == ("2025-02-01", False)
    assert (bool(flag.is_in_series), flag.clinician_id) == (False, "C7")  # 28 days before: no series; next session


# Item 9 course over the induction ------------------------------------------------------------------

def course_clinic(con, export):
    """Seven IV series; the data's last day is 33, so inductions ending on day 11 (window to day 32) are
    evaluable and G's (ending day 31) is not."""
    sessions = ["patient_id,session_day,route,site"]
    for patient in "ABCDEF":
        sessions += [f"{patient},{d},IV,North" for d in SIX]
    sessions += [f"G,{d + 20},IV,North" for d in SIX]
    outcomes = """patient_id,assessment_day,instrument,score,item9
A,0,PHQ-9,20,2
A,32,PHQ-9,8,0
B,0,PHQ-9,20,1
B,20,PHQ-9,18,1
B,33,PHQ-9,9,0
C,0,PHQ-9,10,0
C,5,PHQ-9,12,1
C,20,PHQ-9,16,0
D,0,PHQ-9,10,0
D,20,PHQ-9,15,0
E,0,PHQ-9,20,1
E,20,PHQ-9,12,
F,0,PHQ-9,10,0
F,20,PHQ-9,10,0
F,33,PHQ-9,9,2
G,20,PHQ-9,20,1
G,33,PHQ-9,5,0
"""
    return build(con, export, "\n".join(sessions) + "\n", outcomes)


def test_item9_resolved_emergent_and_reliable_deterioration_by_hand(con, export):
    course_clinic(con, export)
    frame = marts.item9_course(con).set_index("measure")
    # Resolved: A (0 on day 32, the window's last day) yes; B no (its last answer in the window, day 20, is 1;
    # day 33 is outside); E has no item 9 at the end; G's window is still open (not evaluable).
    assert frame.loc["item9_resolved", ["n_series", "n_meeting"]].tolist() == [2, 1]
    # Emergent: C (1 on day 5) yes; D and F no (F's 2 on day 33 falls after its window).
    assert frame.loc["item9_emergent", ["n_series", "n_meeting"]].tolist() == [3, 1]
    # Reliable deterioration (6 PHQ-9 points): C rose 10 -> 16 (exactly 6) yes; D rose 5 no; A, B, E, F fell or held.
    assert frame.loc["reliable_deterioration", ["n_series", "n_meeting"]].tolist() == [6, 1]
    low, high = wilson(1, 3)
    assert frame.loc["item9_emergent", "measure_rate"] == pytest.approx(1 / 3)
    assert (frame.loc["item9_emergent", "measure_rate_low"], frame.loc["item9_emergent", "measure_rate_high"]) == (
        pytest.approx(low), pytest.approx(high))


def test_item9_course_follows_the_cohort_and_splits_by_route(con, export):
    course_clinic(con, export)
    assert marts.item9_course(con, cohort=Cohort(sites=("South",))).empty
    by_route = marts.item9_course(con, by="route")
    assert set(by_route.group_value) == {"IV"} and len(by_route) == 3
    with pytest.raises(ValueError):
        marts.item9_course(con, by="clinician")


# Blood pressure ---------------------------------------------------------------------------------------

BP_HEADER = "patient_id,session_day,route,systolic_bp_pre,systolic_bp_peak,diastolic_bp_pre,diastolic_bp_peak\n"


def test_blood_pressure_rise_and_pre_dose_thresholds_by_route(con, export):
    build(con, export, BP_HEADER + (
        "P1,0,IV,120,159,80,104\n"     # rise 39 / 24: below both thresholds
        "P1,1,IV,120,160,80,90\n"      # systolic rise 40: a rise
        "P1,2,IV,120,130,80,105\n"     # diastolic rise 25: a rise
        "P1,3,IV,140,150,90,95\n"      # pre-dose 140/90: not above
        "P1,4,IV,141,150,,\n"          # pre-dose systolic 141: raised
        "P1,5,IV,,170,,\n"             # a peak alone: in neither denominator
        "P2,0,intranasal,130,,91,100\n"  # pre-dose diastolic 91: raised; diastolic rise 9
    ))
    frame = marts.blood_pressure(con).set_index("route")
    assert frame.loc["IV", ["n_sessions", "n_rise_measured", "n_rises", "n_pre_measured", "n_pre_raised"]].tolist() == [
        6, 5, 2, 5, 1]
    assert frame.loc["intranasal", ["n_rise_measured", "n_rises", "n_pre_measured", "n_pre_raised"]].tolist() == [
        1, 0, 1, 1]
    assert frame.loc["IV", "rise_rate"] == pytest.approx(0.4)
    assert (frame.loc["IV", "rise_rate_low"], frame.loc["IV", "rise_rate_high"]) == tuple(
        pytest.approx(v) for v in wilson(2, 5))


def test_blood_pressure_thresholds_are_settings(con, export):
    build(con, export, BP_HEADER + "P1,0,IV,120,159,80,104\n")
    assert marts.blood_pressure(con).n_rises.tolist() == [0]
    con.execute("insert or replace into setting_overrides values ('bp_rise_systolic', 39)")
    marts.build(con)
    assert marts.blood_pressure(con).n_rises.tolist() == [1]
    setting = SETTINGS["bp_pre_systolic_above"]
    assert (setting.value, setting.minimum, setting.maximum) == (140, 50, 300) and "Spravato" in setting.source


def test_the_high_peak_level_is_a_setting_used_by_the_mart_and_the_chart(con, export):
    """Peaks of 179, 180 and 195: two reach the default 180; at 179 all three, at 190 one."""
    build(con, export, BP_HEADER + "P1,0,IV,,179,,\nP1,2,IV,,180,,\nP1,4,IV,,195,,\n")
    assert marts.blood_pressure(con)[["n_measured", "n_high_peaks"]].values.tolist() == [[3, 2]]
    for value, expected in ((179, 3), (190, 1)):
        con.execute("insert or replace into setting_overrides values ('bp_peak_systolic', $v)", {"v": value})
        marts.build(con)
        assert marts.blood_pressure(con).n_high_peaks.tolist() == [expected]
    figure = figures.blood_pressure(marts.blood_pressure(con), {"bp_peak_systolic": 190})
    assert figure.layout.title.text.startswith("Sessions with a systolic peak of 190 mmHg or more")
    setting = SETTINGS["bp_peak_systolic"]
    assert (setting.value, setting.minimum, setting.maximum) == (180, 100, 300) and "ACC/AHA 2017" in setting.source


def test_blood_pressure_readings_out_of_range_are_stored_empty_with_a_reason(con, export):
    result = ingest_file(con, export("s.csv", BP_HEADER + "P1,0,IV,49,150,19,201\nP1,1,IV,abc,150,80,200\n"))
    assert result.rows_rejected == 0 and result.rows_inserted == 2
    assert rows(con, "select systolic_bp_pre, systolic_bp_peak, diastolic_bp_pre, diastolic_bp_peak from sessions "
                     "order by session_day") == [(None, 150, None, None), (None, 150, 80, 200)]
    assert result.warnings[["line_number", "column_name", "value", "reason"]].values.tolist() == [
        [2, "diastolic_bp_peak", "201", "blood pressure not read, stored empty: expected a whole number from 20 to 200"],
        [2, "diastolic_bp_pre", "19", "blood pressure not read, stored empty: expected a whole number from 20 to 200"],
        [2, "systolic_bp_pre", "49", "blood pressure not read, stored empty: expected a whole number from 50 to 300"],
        [3, "systolic_bp_pre", "abc", "blood pressure not read, stored empty: expected a whole number from 50 to 300"],
    ]


def test_an_export_without_the_new_columns_ingests_as_before(con, export):
    result = ingest_file(con, export("s.csv", "patient_id,session_day,route,systolic_bp_peak\nP1,0,IV,150\nP1,2,IV,\n"))
    assert (result.rows_inserted, result.rows_rejected, result.rows_with_warnings, result.columns_ignored) == (
        2, 0, 0, [])
    assert rows(con, "select session_day, systolic_bp_peak, systolic_bp_pre, diastolic_bp_pre, diastolic_bp_peak "
                     "from sessions order by 1") == [(0, 150, None, None, None), (2, None, None, None, None)]
    again = ingest_file(con, export("s.csv", "patient_id,session_day,route,systolic_bp_peak\nP1,0,IV,150\nP1,2,IV,\n"))
    assert (again.rows_inserted, again.rows_duplicate, again.rows_replaced) == (0, 2, 0)
    marts.build(con)
    row = marts.blood_pressure(con).iloc[0]
    assert (row.n_measured, row.n_rise_measured, row.n_pre_measured) == (1, 0, 0)


def test_a_database_from_before_the_new_columns_gains_them_keeps_its_rows_and_rebuilds(db_path, export):
    con = database.connect(db_path)
    ingest_file(con, export("s.csv", "patient_id,session_day,route,systolic_bp_peak\nP1,0,IV,150\n"))
    marts.build(con)
    # The database as an earlier release left it: no new columns, a unique index (DuckDB alters no indexed
    # table), metric tables built.
    for column in ("systolic_bp_pre", "diastolic_bp_pre", "diastolic_bp_peak"):
        con.execute(f"alter table sessions drop column {column}")
    con.execute("create unique index sessions_natural_key on sessions (patient_id, session_day, session_id)")
    con.execute("create or replace table int_series_sessions as select * exclude (systolic_bp_pre, "
                "diastolic_bp_pre, diastolic_bp_peak) from int_series_sessions")
    con.close()
    con = database.connect(db_path)
    assert rows(con, "select patient_id, systolic_bp_peak, systolic_bp_pre, diastolic_bp_peak from sessions") == [
        ("P1", 150, None, None)]
    assert rows(con, "select count(*) from duckdb_indexes() where index_name = 'sessions_natural_key'") == [(0,)]
    assert not marts.is_built(con)
    marts.ensure_built(con)
    assert marts.blood_pressure(con)[["n_measured", "n_rise_measured"]].values.tolist() == [[1, 0]]
    con.close()


# CADSS ----------------------------------------------------------------------------------------------------

def test_cadss_is_stored_but_is_no_outcome_instrument(con, export):
    assert "CADSS" in INSTRUMENTS and "CADSS" not in OUTCOME_INSTRUMENTS
    assert (INSTRUMENTS["CADSS"].min_score, INSTRUMENTS["CADSS"].max_score) == (0, 92)
    result = ingest_file(con, export("o.csv", "patient_id,assessment_day,instrument,score\n"
                                              "P1,0,CADSS,92\nP1,2,cadss total,0\nP1,4,CADSS,93\n"))
    assert (result.rows_inserted, result.rows_rejected) == (2, 1)
    assert result.rejects.reason.tolist() == ["score out of range: CADSS is scored 0 to 92"]


def test_a_sessions_export_with_a_cadss_column_is_still_a_sessions_export(con, export):
    result = ingest_file(con, export("s.csv", "patient_id,session_day,route,CADSS\nP1,0,IV,12\n"))
    assert (result.kind, result.rows_inserted, result.columns_ignored) == ("sessions", 1, ["CADSS"])


def test_mean_cadss_by_session_number_with_its_n(con, export):
    build(con, export, "patient_id,session_day,route\nP1,0,IV\nP1,2,IV\nP2,10,intranasal\nP2,13,intranasal\n",
          "patient_id,assessment_day,instrument,score\n"
          "P1,0,CADSS,20\nP1,2,CADSS,10\nP2,10,CADSS,30\nP2,13,CADSS,0\n"
          "P2,14,CADSS,50\n")  # no session on day 14: not charted
    frame = marts.dissociation(con)
    assert frame[["session_number", "n_sessions", "mean_score"]].values.tolist() == [[1, 2, 25.0], [2, 2, 5.0]]
    by_route = marts.dissociation(con, by="route")
    assert by_route[["group_value", "session_number", "mean_score"]].values.tolist() == [
        ["IV", 1, 20.0], ["IV", 2, 10.0], ["intranasal", 1, 30.0], ["intranasal", 2, 0.0]]
    assert marts.dissociation(con, cohort=Cohort(routes=("IV",))).n_sessions.tolist() == [1, 1]
