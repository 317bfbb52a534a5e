"""Guards the NHS Talking Therapies measures on NHS's own denominators (issue 22, item 8): a finished course
is a series that ended after at least two completed sessions, paired on PHQ-9 and GAD-7 at baseline and its
last score; recovery is among the cases at the start; the national 50% recovery standard is drawn beside it
on the Response page, with its source."""

import json
import re
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.definitions import NATIONAL_STANDARDS
from ketamine_outcomes.ingest.pipeline import ingest_file

SIX = (0, 2, 4, 7, 9, 11)


def build(con, export, sessions: dict[str, tuple[int, ...]], scores: list[str]):
    lines = ["patient_id,session_day,status,route,site"] + [
        f"{p},{d},completed,IV,North" for p, days in sessions.items() for d in days]
    outcomes = ["patient_id,assessment_day,instrument,score"] + scores
    for name, text in (("sessions.csv", lines), ("outcomes.csv", outcomes)):
        assert ingest_file(con, export(name, "\n".join(text) + "\n")).rows_rejected == 0
    marts.build(con)
    return con


def test_a_course_finished_after_two_sessions_counts_with_its_last_score_and_one_session_does_not(con, export):
    # (PHQ-9, GAD-7) at baseline (day 0) -> last score. Z's session on day 60 closes every window (11 + 21 = 32).
    # A: six sessions, (15, 12) -> (4, 3) on day 14: a case, recovered.
    # B: stopped after two sessions (days 0, 3), (12, 10) -> (11, 9) on day 3: a finished course, not recovered.
    # C: stopped after one session: not a finished course, though (20, 15) -> (5, 4) would be a recovery.
    # D: six sessions, no score in the end-of-induction window but (14, 9) -> (8, 6) on day 7: its last, recovered.
    # E: six sessions, baseline only: a finished course without a pair.
    sessions = {"A": SIX, "B": (0, 3), "C": (0,), "D": SIX, "E": SIX, "Z": (60,)}
    scores = [f"{p},{day},{instrument},{score}" for p, pairs in {
        "A": ((0, 15, 12), (14, 4, 3)), "B": ((0, 12, 10), (3, 11, 9)), "C": ((0, 20, 15), (5, 5, 4)),
        "D": ((0, 14, 9), (7, 8, 6)), "E": ((0, 18, 12),)}.items()
        for day, phq9, gad7 in pairs for instrument, score in (("PHQ-9", phq9), ("GAD-7", gad7))]
    row = marts.talking_therapies(build(con, export, sessions, scores)).iloc[0]
    assert (row.n_finished, row.n_paired, row.n_cases, row.n_recovered) == (4, 3, 3, 2)
    assert row.recovery_rate == pytest.approx(2 / 3)
    # A and D fell 11 and 6 on PHQ-9 (reliable: 6 or more); B fell 1 and 1.
    assert (row.n_reliably_improved, row.n_reliably_recovered) == (2, 2)


def test_a_course_whose_window_is_still_open_is_not_finished(con, export):
    # P1 finished six sessions by day 11; the data ends on day 20 (its score), before its window closes (day 32).
    row = marts.talking_therapies(build(con, export, {"P1": SIX}, [
        "P1,0,PHQ-9,15", "P1,0,GAD-7,12", "P1,20,PHQ-9,4", "P1,20,GAD-7,3"]))
    assert row.empty


def test_a_score_after_the_course_window_is_not_its_last_score(con, export):
    # P1's only later score is on day 40, past 11 + 21 = 32: a finished course without a pair.
    row = marts.talking_therapies(build(con, export, {"P1": SIX, "Z": (60,)}, [
        "P1,0,PHQ-9,15", "P1,0,GAD-7,12", "P1,40,PHQ-9,4", "P1,40,GAD-7,3"])).iloc[0]
    assert (row.n_finished, row.n_paired) == (1, 0)


def test_none_paired_of_a_hidden_few_finished_is_not_said_in_words(con, export):
    # P1 finished a course (the one series: hidden) without a pair. "1 series finished, but none has both scores"
    # in any words would tell of every one of those few; the page says the few are too few to show.
    from ketamine_outcomes.disclosure import panels, response_panels

    built = build(con, export, {"P1": SIX, "Z": (60,)}, ["P1,0,PHQ-9,15", "P1,0,GAD-7,12", "P1,40,PHQ-9,4",
                                                         "P1,40,GAD-7,3"])
    read = panels.from_connection(built)
    words = {}
    for name, rule in (("suppressed", panels.disclosure_for(11, internal=False)),
                       ("internal", panels.disclosure_for(1, internal=True))):
        selection = panels.Selection("PHQ-9", marts.Cohort(), rule)
        words[name] = response_panels.talking_therapies(read, selection, NATIONAL_STANDARDS).empty
    assert words["suppressed"] == ("A hidden number of series finished a course (small-cell suppression): too few to "
                                   "show these measures.")
    assert words["internal"] == "1 series finished a course, but none has PHQ-9 and GAD-7 scores both at baseline and after it."


def test_finished_minus_paired_small_is_not_given_away_by_the_shown_counts():
    # 42 courses finished, 37 paired: the 5 without a pair must not follow from the two shown side by side.
    # Both read rounded to 5 (docs/metrics.md, Small cells): 40 and 35 are also what 38-42 and 33-37 read.
    import pandas as pd

    frame = pd.DataFrame({"n_finished": [42], "n_paired": [37], "n_cases": [20], "n_recovered": [12],
                          "recovery_rate": [0.6], "caseness_rate": [20 / 37]})
    table = suppress.for_table(frame, "talking_therapies", 11).iloc[0]
    assert (table.n_finished, table.n_paired) == ("40", "35")


def test_the_chart_draws_the_50_percent_recovery_standard_over_the_recovery_bar():
    import pandas as pd

    row = pd.Series({"recovery_rate": 0.42, "recovery_rate_low": 0.35, "recovery_rate_high": 0.49,
                     "reliable_improvement_rate": 0.6, "reliable_recovery_rate": 0.4,
                     "reliable_deterioration_rate": float("nan"), "mcid_improvement_rate": 0.55})
    figure = figures.talking_therapies(row, NATIONAL_STANDARDS, 11)
    standard = next(t for t in figure.data if t.name == "NHS standard: 50% recovery")
    assert list(standard.x) == ["recovery"] and list(standard.y) == [0.5]
    bars = figure.data[0]
    assert dict(zip(bars.x, bars.y))["recovery"] == 0.42 and "reliable deterioration" not in bars.x
    hidden = next(t for t in figure.data if t.text and "hidden" in t.text)
    assert list(hidden.x) == ["reliable deterioration"]


def test_response_page_draws_the_recovery_standard_beside_the_clinics_recovery(tmp_path, sample_db, monkeypatch):
    path = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(path))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    app = app.switch_page("app_pages/response.py").run()
    with database.open_file(path, read_only=True) as con:
        nhs = marts.talking_therapies(con).iloc[0]
    # The sample clinic: 463 courses finished, 375 paired, all cases; 113 recovered (30%).
    assert (nhs.n_finished, nhs.n_paired, nhs.n_cases, nhs.n_recovered) == (463, 375, 375, 113)
    chart = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                 if "NHS Talking Therapies" in json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " "))
    standard = next(t for t in chart["data"] if t.get("name") == "NHS standard: 50% recovery")
    assert standard["y"] == [0.5]
    assert {m.label: m.value for m in app.metric}["Recovery"] == "30%"
    captions = " ".join(c.value for c in app.caption)
    # Counts read rounded to 5 (375 and 465); the rate is the exact one.
    assert re.search(r"Of (\S+) series that were cases at baseline", captions).group(1) == "375"
    assert re.search(r"of (\S+) series that finished a course", captions).group(1) == "465"
    assert "england.nhs.uk/2016/07/psychological-therapies" in captions.replace("\\", "")


def test_the_chart_runs_to_100_percent_and_makes_room_above_only_for_a_label_with_no_tick_past_it():
    import pandas as pd

    row = pd.Series({"recovery_rate": 0.42, "recovery_rate_low": 0.35, "recovery_rate_high": 0.49,
                     "reliable_improvement_rate": 0.6, "reliable_recovery_rate": 0.4,
                     "reliable_deterioration_rate": 0.05, "mcid_improvement_rate": 0.55})
    axis = figures.talking_therapies(row, NATIONAL_STANDARDS, 11).layout.yaxis
    assert tuple(axis.range) == (0, 1.0) and max(axis.tickvals) == 1.0
    # 95% improved by the MCID: its label "95%" sits above the bar, so the axis leaves room, but ticks stop at 100%.
    axis = figures.talking_therapies(pd.concat([row.drop("mcid_improvement_rate"),
                                                pd.Series({"mcid_improvement_rate": 0.95})]),
                                     NATIONAL_STANDARDS, 11).layout.yaxis
    assert tuple(axis.range) == (0, 1.1) and max(axis.tickvals) == 1.0
