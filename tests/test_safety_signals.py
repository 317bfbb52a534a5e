"""Guards "Any safety signal?" (issue 22, item 9): the share of series with each adverse event over the
induction against the published range for its route (counted once per series, only in the induction's
sessions, only once the induction is decided), item 9 emerging and blood-pressure peaks against a
reference of none, each saying whether it is above its reference, and the Safety page showing them."""

import math
import re
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, numbers_in
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.metrics import signals
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_file

EIGHT = (0, 3, 7, 10, 14, 17, 21, 24)  # an intranasal induction: twice weekly, 8 doses


def wilson_low(k, n):
    z, p = 1.96, k / n
    return (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def build(con, export, sessions: list[tuple[str, int, str]]):
    lines = ["patient_id,session_day,status,route,site,adverse_events"] + [
        f"{p},{day},completed,intranasal,North,{events}" for p, day, events in sessions]
    assert ingest_file(con, export("sessions.csv", "\n".join(lines) + "\n")).rows_rejected == 0
    marts.build(con)
    return con


def test_each_series_counts_once_for_an_event_in_its_induction_against_the_published_range(con, export):
    # S1: nausea at doses 2 and 5 (once), dissociation at dose 1. S2: dissociation at dose 3, nausea only at a
    # 9th dose (a booster, after the induction: not counted). S3: dissociation at dose 8. S4 is still in
    # induction (3 doses, the last on the data's last day): not counted, though it had vomiting.
    sessions = [("S1", d, {0: "dissociation", 3: "nausea", 14: "nausea"}.get(d, "")) for d in EIGHT]
    sessions += [("S2", d, {7: "dissociation"}.get(d, "")) for d in EIGHT] + [("S2", 30, "nausea")]
    sessions += [("S3", d, {24: "dissociation"}.get(d, "")) for d in EIGHT]
    sessions += [("S4", d, "vomiting") for d in (60, 63, 66)]
    rows = marts.adverse_event_incidence(build(con, export, sessions)).set_index("event")
    assert rows.n_series.unique().tolist() == [3]
    assert rows.loc[["dissociation", "nausea", "vomiting", "dizziness"], "n_with_event"].tolist() == [3, 1, 0, 0]
    # Dissociation 3 of 3: the Wilson interval's low end (0.44) is above the trials' top (38.6%): above.
    assert wilson_low(3, 3) == pytest.approx(rows.at["dissociation", "incidence_rate_low"])
    assert rows.at["dissociation", "reference_status"] == "above"
    # Nausea 1 of 3 (33.3%) is above the trials' 29.4-33.3% (0.3333 > 0.333), but its interval reaches it.
    assert rows.at["nausea", "reference_status"] == "possibly above"
    assert rows.at["vomiting", "reference_status"] == "not above"
    # The stored dizziness includes vertigo, which the trials count apart: not judged.
    assert rows.at["dizziness", "reference_status"] == "no reference"
    assert (rows.at["nausea", "reference_low"], rows.at["nausea", "reference_high"]) == (0.294, 0.333)


def test_a_hidden_share_is_said_hidden_and_not_judged():
    incidence = pd.DataFrame({"route": ["IV"], "event": ["nausea"], "n_series": [30], "n_with_event": [4],
                              "incidence_rate": [4 / 30], "incidence_rate_low": [0.05], "incidence_rate_high": [0.3],
                              "reference_low": [0.133], "reference_high": [0.133], "reference_study": ["R"],
                              "reference_source": ["R's paper"], "reference_status": ["possibly above"]})
    shown = suppress.for_chart(incidence, "adverse_event_incidence", 11)
    item9 = pd.DataFrame({"measure": ["item9_emergent"], "n_series": [40], "n_meeting": [0]})
    pressure = signals.pressure_totals(pd.DataFrame({
        "route": ["IV", "oral"], "n_sessions": [100, 50], "n_measured": [90, 40], "n_high_peaks": [0, 0],
        "n_rise_measured": [80, 30], "n_rises": [12, 0], "n_pre_measured": [85, 35], "n_pre_raised": [20, 3]}))
    thresholds = {"bp_peak_systolic": 180, "bp_rise_systolic": 40, "bp_rise_diastolic": 25,
                  "bp_pre_systolic_above": 140, "bp_pre_diastolic_above": 90}
    summary = signals.safety_signals(shown, item9, suppress.for_chart(pressure, "blood_pressure", 11), thresholds)
    by_signal = summary.set_index("signal")
    assert by_signal.at["nausea, IV", "status"] == "hidden"
    assert by_signal.at["nausea, IV", "finding"].startswith("hidden")
    # No emergent item 9 and no peak of 180: not above their reference of none.
    assert by_signal.at["PHQ-9 item 9 emerged (thoughts of self-harm, from 0 at baseline)", "status"] == "not above"
    peak = by_signal.at["blood pressure: systolic peak of 180 mmHg or more", "finding"]
    assert numbers_in(peak) == [0, 0, 130] and "measured sessions" in peak
    rise = by_signal.at["blood pressure: rise of 40 systolic or 25 diastolic after dosing", "finding"]
    assert numbers_in(rise) == [11, 15, 110]  # the exact 12/110 = 11%, beside the count rounded to 5
    # The wording is the point: the headline the Safety page opens with when nothing is above its reference.
    assert signals.headline(summary) == "No signal: nothing with a reference is above it."


def test_any_emergent_item9_is_above_its_reference_of_none():
    item9 = pd.DataFrame({"measure": ["item9_emergent"], "n_series": [120], "n_meeting": [13]})
    summary = signals.safety_signals(pd.DataFrame(columns=["reference_status"]), item9, pd.DataFrame(), {})
    assert summary.status.tolist() == ["above"] and numbers_in(summary.finding[0]) == [11, 13, 120]
    headline = signals.headline(summary)
    assert headline.startswith("Yes") and numbers_in(headline) == [1]


def test_safety_page_opens_with_the_signals_of_the_marts(tmp_path, sample_db, monkeypatch):
    path = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(path))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    app = app.switch_page("app_pages/safety.py").run()
    assert not app.exception
    with database.open_file(path, read_only=True) as con:
        incidence = marts.adverse_event_incidence(con).set_index(["route", "event"])
    # The sample clinic: 116 of 145 intranasal series had dissociation in the induction, above the trials' 27-39%.
    assert incidence.loc[("intranasal", "dissociation"), ["n_with_event", "n_series"]].tolist() == [116, 145]
    shown = [re.sub(r"\\(.)", r"\1", m.value) for m in app.markdown]
    assert shown[0].startswith("**Yes") and numbers_in(shown[0]) == [9, 2]  # above; possibly above
    lines = shown[1].splitlines()
    # The exact share (116 / 145 = 80%) beside counts rounded to 5 (docs/metrics.md, Small cells), and the
    # published range it is above.
    [dissociation] = [line for line in lines if line.startswith("- :red[**above**]: dissociation, intranasal:")]
    assert numbers_in(dissociation) == [80, 115, 145, 27, 39, 3]  # ..., the trials' phase 3
    assert any(line.startswith("- :orange[**possibly above**]: dizziness, IV: 48% (160 of 335 series)") for line in lines)
    assert app.subheader[0].value == "Any safety signal?"


def test_item9_emerged_reads_the_exact_rate_the_chart_shows_beside_rounded_counts():
    # The walk's clinic: 32 of 418 series with item 9 emerging = 7.66%, which the chart and its CSV show as 8%.
    # Counts are shown rounded to 5 (30 of 420 = 7.1%): a rate of those would read 7%.
    item9 = pd.DataFrame({"group_value": ["all"], "measure": ["item9_emergent"], "n_series": [418],
                          "n_meeting": [32], "measure_rate": [32 / 418], "measure_rate_low": [0.055],
                          "measure_rate_high": [0.106]})
    shown = suppress.for_chart(item9, "item9_course", 11)
    summary = signals.safety_signals(pd.DataFrame(columns=["reference_status"]), shown, pd.DataFrame(), {})
    assert numbers_in(summary.finding[0]) == [8, 30, 420]
