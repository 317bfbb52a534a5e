"""Words a fresh-eyes walk found wrong: every page says how recent the data is, and the care team's patient-level
pages and files say their counts are exact instead of claiming a suppression they do not apply."""

import re

import pandas as pd
import pytest

from streamlit.testing.v1 import AppTest

from conftest import ROOT, open_app, shown
from ketamine_outcomes.dashboard import filters, tables
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.metrics.marts import Cohort
from ketamine_outcomes.store import database


def last_day(db) -> str:
    con = database.connect(db)
    try:
        value = con.execute("select greatest((select max(session_date) from sessions), "
                            "(select max(assessment_date) from assessments))").fetchone()[0]
    finally:
        con.close()
    return f"{pd.Timestamp(value):%Y-%m-%d}"


def captions(app) -> list[str]:
    return [shown(c.value) for c in app.caption]


def open_page(db, monkeypatch, page: str, **params) -> AppTest:
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(db))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    for name, value in params.items():
        app.query_params[name] = value
    return app.switch_page(f"app_pages/{page}.py").run()


@pytest.mark.parametrize("page, params", [("series", {"series": "KP000003#1"}), ("data", {}), ("definitions", {})])
def test_the_series_data_and_definitions_pages_say_how_recent_the_data_is(clinic_db, monkeypatch, page, params):
    app = open_page(clinic_db, monkeypatch, page, **params)
    assert not app.exception
    expected = f"Data as of {last_day(clinic_db)} (the latest session or assessment stored)."
    assert captions(app).count(expected) == 1


@pytest.mark.parametrize("page", ["not_on_track", "follow_up"])
def test_patient_level_pages_say_their_counts_are_exact_not_suppressed(clinic_db, monkeypatch, page):
    app = open_app(clinic_db, monkeypatch, page)
    assert not app.exception
    [line] = [c for c in captions(app) if c.startswith("Filters:")]
    assert line.endswith("patient-level, exact counts")
    assert "suppressed" not in line


def view(min_cell=11, internal=False) -> filters.View:
    return filters.View(instrument="PHQ-9", cohort=Cohort(), min_cell=min_cell, internal=internal,
                        meeting_mode=False)


def test_a_patient_level_download_is_named_and_headed_exact_and_a_mart_table_still_suppressed():
    rows = pd.DataFrame({"patient_id": ["KP1", "KP2"], "item9": [1, 2]})
    name = tables.file_name("item 9 flags", view(), patient_level=True)
    assert name == "item-9-flags_PHQ-9_patient-level-exact-counts.csv"
    first = tables.csv_with_filters(rows, view(), "item 9 flags", patient_level=True).splitlines()[0]
    assert "patient-level; exact counts" in first and "suppress" not in first.replace("nothing suppressed", "")
    # A table of a mart's counts keeps its suppression in both.
    assert tables.file_name("weekly", view()) == "weekly_PHQ-9_suppressed-under-11-rounded-to-5.csv"
    assert "counts under 11 suppressed" in tables.csv_with_filters(rows, view(), "weekly").splitlines()[0]


def test_a_median_past_the_shown_curve_reads_beyond_its_last_day_with_the_words_in_its_caption(clinic_db, monkeypatch):
    # The sample's PHQ-9 sustained response: under suppression at 11 the curve stops before it falls to half.
    from ketamine_outcomes.disclosure import suppress
    from ketamine_outcomes.metrics import marts

    con = database.connect(clinic_db)
    try:
        curve = suppress.survival_curve(marts.sustained_response(con, "PHQ-9"), 11)
    finally:
        con.close()
    assert suppress.median_text(curve) == "past the shown curve"
    last = int(curve.day.max())
    app = open_app(clinic_db, monkeypatch, "durability")
    assert not app.exception
    tile = next(m for m in app.metric if m.label == "Median duration of response")
    # "hidden" is suppression's word for a group not drawn: the median is beyond the shown curve, as "not reached".
    assert tile.value == f"> {last} days"
    assert any(c.endswith(f"median not reached by day {last}, where the curve stops (after it fewer than 11 series "
                          "are at risk)") for c in captions(app))
    # Every tile on the page is a number of days or "hidden", never a phrase.
    assert all(re.fullmatch(r"hidden|(> )?\d+(-\d+)? days", m.value) for m in app.metric)


def test_the_safety_pages_item_9_count_says_it_is_exact_under_a_suppressed_filters_line(clinic_db, monkeypatch):
    from ketamine_outcomes.metrics import marts

    con = database.connect(clinic_db)
    try:
        n = len(marts.item9_flags(con))
    finally:
        con.close()
    app = open_app(clinic_db, monkeypatch, "safety")
    assert not app.exception
    assert any(c.replace("**", "").startswith(f"Whole clinic, not filtered: {n:,} PHQ-9 answers with item 9 (thoughts of self-harm) of 1 or more (patient-level, "
                            "exact counts)") for c in captions(app))


def test_the_response_pages_caption_names_the_week_its_rates_chart_ends_at(clinic_db, monkeypatch):
    # The walk: the sample's caption said week 17 while the axis ended at week 11.
    import json

    app = open_app(clinic_db, monkeypatch, "response")
    assert not app.exception
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    last = int(spec["layout"]["xaxis"]["range"][1] - 0.5)  # week_axis: the last week drawn, half a week of margin
    [note] = [c for c in captions(app) if "rests on" in c]
    weeks = re.findall(r"week (\d+) rests on", note)
    assert weeks == [str(last)]
    # Its axis-end sentence is panels.axis_end_note's, as on the other pages: the sample's evaluable series were
    # scored against a baseline up to week 36, every rate after week 11 hidden, so the sentence names both weeks.
    assert last == 11
    assert ("The axis ends at the last week with an observed response rate shown (week 11): series were scored after "
            "it, up to week 36, but every line's value there is hidden (small-cell suppression).") in note


def test_the_one_series_page_in_meeting_mode_says_its_data_as_of_as_every_page_does(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "overview")
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    overview_as_of = [c.value for c in app.caption if c.value.startswith("Data as of")]
    app = app.switch_page("app_pages/series.py").run()
    assert not app.exception
    assert any("Hidden in meeting mode" in i.value for i in app.info)
    assert [c.value for c in app.caption if c.value.startswith("Data as of")] == overview_as_of != []
