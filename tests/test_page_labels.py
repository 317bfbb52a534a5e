"""Guards what a reader sees on the pages in words: adverse events by name (not the stored code), mart downloads by
what they hold, an open period drawn as open, and one word for a hidden cell. Streamlit's AppTest on the sample
clinic, and the chart functions on frames small enough to check by hand."""

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ketamine_outcomes.charts import figures
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.definitions import ADVERSE_EVENT_LABELS, ALIASES
from conftest import open_app


def figure(app: AppTest, key: str) -> dict:
    """A chart's figure JSON by its key, numeric arrays decoded."""
    chart = next(c for c in app.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id)
    spec = json.loads(chart.proto.spec)

    def decode(values):
        if isinstance(values, dict) and "bdata" in values:
            return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
        return values

    spec["data"] = [{k: decode(v) for k, v in trace.items()} for trace in spec["data"]]
    return spec


def test_every_adverse_event_code_has_words():
    assert set(ADVERSE_EVENT_LABELS) == set(ALIASES["adverse_event"])


def test_the_adverse_event_chart_names_events_in_words():
    frame = pd.DataFrame({"group_value": ["IV", "IV"], "event": ["elevated_bp", "nausea"], "n_sessions": [200, 200],
                          "n_events": [0, 30], "event_rate": [None, 0.15], "event_rate_low": [None, 0.1],
                          "event_rate_high": [None, 0.2]})
    fig = figures.adverse_events(frame, "route", 11)
    bars = [t for t in fig.data if t.type == "bar"]
    hidden = [t for t in fig.data if t.name and t.name.startswith("hidden")]
    assert list(bars[0].x) == ["increased blood pressure", "nausea"]
    assert list(hidden[0].x) == ["increased blood pressure"]
    by_session = figures.adverse_events_by_session(frame.assign(group_value=["1", "1"], group_order=[1, 1]))
    assert sorted(t.name for t in by_session.data) == ["increased blood pressure", "nausea"]


def test_the_safety_page_shows_no_adverse_event_code(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "safety")
    events = [x for trace in figure(app, "safety_events")["data"] for x in trace.get("x", [])]
    assert "increased blood pressure" in events and "elevated_bp" not in events
    app.selectbox(key="safety_by").set_value("session number").run()
    names = {trace["name"] for trace in figure(app, "safety_events")["data"]}
    assert "increased blood pressure" in names and "elevated_bp" not in names


def test_the_quarter_still_being_scored_is_drawn_apart_and_left_out_of_the_centre_line(clinic_db, monkeypatch):
    con = database.connect(clinic_db)
    # The headline cohort, as the page and the pack count it: cases at baseline (PHQ-9 10 or more).
    quarters = marts.cohort_comparison(con, "PHQ-9", by="start_quarter", cohort=marts.Cohort(min_baseline=10))
    con.close()
    quarters = quarters[quarters.group_value != "unknown"].reset_index(drop=True)
    still_open = quarters[quarters.n_evaluable < quarters.n_series].group_value.tolist()
    # The sample clinic's last two quarters; 2025-Q4 has no series scored yet, so no point at all.
    assert still_open == ["2025-Q3", "2025-Q4"] and quarters.n_scored.iloc[-1] == 0
    hidden = suppress.hidden_cells(quarters, "cohort_comparison", 11, "responders", "n_scored")
    closed = quarters[~hidden & ~quarters.group_value.isin(still_open)]
    app = open_app(clinic_db, monkeypatch, "quality_review")
    assert app.radio(key="quality_period").value == "quarter"
    traces = {t.get("name"): t for t in figure(app, "quality_p_chart")["data"]}
    hollow = traces["still open: quarter still being scored"]
    assert hollow["x"] == ["2025-Q3"] and hollow["text"] == ["still open"] and hollow["marker"]["symbol"] == "circle-open"
    assert "2025-Q3" not in traces["rate"]["x"]
    # The centre line is the closed quarters' rate, worked from the mart; 2025-Q3 has no limit.
    closed = closed[closed.n_scored > 0]
    # 2024-Q1 to 2025-Q2: 17 + 22 + 16 + 16 + 18 + 23 of 34 + 40 + 30 + 34 + 39 + 38
    assert closed.responders.sum() / closed.n_scored.sum() == pytest.approx(112 / 215)
    assert traces["mean"]["y"] == pytest.approx([round(112 / 215, 2)] * 7)  # drawn to whole percents
    limits = dict(zip(traces["control limits"]["x"], traces["control limits"]["y"]))
    assert limits["2025-Q3"] is None or np.isnan(limits["2025-Q3"])
    assert any(c.value.startswith("Still open: 2025-Q3.") and "left out of the centre line" in c.value
               for c in app.caption)


def test_individual_series_are_drawn_only_over_the_weeks_whose_mean_is_shown(clinic_db, monkeypatch):
    # The sample's 13 series of sex "other": 13 scored at baseline, 12 in week 1, then 10, 6, 4, ... (all hidden).
    app = open_app(clinic_db, monkeypatch, "trajectories")
    app.multiselect(key="filters_sexes").set_value(["other"]).run()
    app.toggle(key="trajectories_spaghetti").set_value(True).run()
    traces = figure(app, "trajectories_chart")["data"]
    mean = next(t for t in traces if t.get("name") == "all series")
    shown_weeks = {w for w, m in zip(mean["x"], mean["y"]) if m is not None and m == m}
    assert shown_weeks == {0, 1}
    lines = next(t for t in traces if t.get("name", "").startswith("individual series"))
    assert {w for w in lines["x"] if w is not None and w == w} == {0, 1}  # no line runs into week 2 or later
    assert any("drawn only over the weeks whose mean is shown" in c.value for c in app.caption)
    # Meeting mode turns the view off.
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    assert app.toggle(key="trajectories_spaghetti").disabled
    assert not any(t.get("name", "").startswith("individual series") for t in figure(app, "trajectories_chart")["data"])


def test_every_hidden_point_of_response_by_week_carries_the_hidden_mark(clinic_db, monkeypatch):
    # The sample clinic, PHQ-9: week 1 has 409 paired but 4 responders and 2 remitters (both hidden); remission is
    # hidden from week 8 (7 remitters), response in weeks 9 and 10 (19 and 13 paired).
    app = open_app(clinic_db, monkeypatch, "response")
    marks = {a["x"]: a["text"] for a in figure(app, "response_rates")["layout"]["annotations"]}
    assert marks[1] == "hidden"
    assert marks[8] == "hidden: remission observed" and marks[11] == "hidden: remission observed"
    assert marks[9] == marks[10] == "hidden: observed"
    assert not set(marks) - set(range(1, 12))  # the axis ends at week 11, the last response shown
    assert any("A week with neither a point nor a mark had no series scored against a baseline" in c.value
               for c in app.caption)


@pytest.mark.slow
def test_the_overview_and_the_response_page_show_the_same_evaluable_n_rounded(clinic_db, monkeypatch):
    """First series only, every series counted: 536 evaluable of 544 with a baseline (8 windows still open: small).
    The old rule hid the intention-to-treat n and rates for that difference; under rounding both pages show the
    same n (535, never the exact 536 beside 545), and the intention-to-treat rates stay."""
    con = database.connect(clinic_db)
    rates = marts.cohort_comparison(con, "PHQ-9", cohort=marts.Cohort(first_series_only=True)).iloc[0]
    con.close()
    assert 0 < rates.n_series - rates.n_evaluable < 11 and rates.n_scored == 224
    app = open_app(clinic_db, monkeypatch)
    app.checkbox(key="filters_cases_only").uncheck().run()
    app.checkbox(key="filters_first_series_only").check().run()
    itt = [m for m in app.metric if m.label in ("Response", "Remission")][2:]
    assert [m.value for m in itt] == [f"{rates.itt_response_rate:.0%}", f"{rates.itt_remission_rate:.0%}"]
    shown_n = suppress.count_text(rates.n_evaluable, 11)
    assert [c.value for c in app.caption if c.value.startswith("n = ")][2] .startswith(f"n = {shown_n}")
    app.switch_page("app_pages/response.py").run()
    note = next(c.value for c in app.caption if "evaluable series (the end-of-induction window" in c.value)
    assert note.startswith(f"n = {shown_n} evaluable series") and str(int(rates.n_evaluable)) not in note


@pytest.mark.slow
def test_every_hidden_cell_reads_the_one_word_hidden_on_every_page(clinic_db, monkeypatch):
    """A small count used to read "<11" in tables, "suppressed" in tiles and "hidden" on charts. Lakeview's IM series
    hide cells on every chart page: each says "hidden", and nothing says "<11" or shows "suppressed" as a value."""
    app = open_app(clinic_db, monkeypatch)
    app.multiselect(key="filters_sites").set_value(["Lakeview"]).run()
    app.multiselect(key="filters_routes").set_value(["IM"]).run()
    said_hidden = set()
    for page in ("overview", "trajectories", "response", "compare", "durability", "quality_review", "safety"):
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, page
        texts = [m.value for m in app.metric] + [c.value for c in app.caption] + [m.value for m in app.markdown]
        for chart in app.get("plotly_chart"):
            spec = json.loads(chart.proto.spec)
            texts += [a.get("text", "") for a in spec["layout"].get("annotations", [])]
            texts += [str(t.get("name", "")) for t in spec["data"]]
            texts += [str(v) for t in spec["data"] if isinstance(t.get("text"), list) for v in t["text"]]
        assert not [t for t in texts if "<11" in t or "&lt;11" in t], page
        assert "suppressed" not in {m.value for m in app.metric}, page
        said_hidden |= {page for t in texts if "hidden" in t}
        for table in app.dataframe:
            assert table.proto.placeholder in ("", "hidden"), page
    assert said_hidden == {"overview", "trajectories", "response", "compare", "durability", "quality_review", "safety"}


def test_every_response_chart_title_names_the_instrument_chosen(clinic_db, monkeypatch):
    """walk2/walk3: "Week of first response" was the one chart of the Response page without its instrument, while
    the others read "GAD-7: …"; a first response on GAD-7 is not one on PHQ-9."""
    app = open_app(clinic_db, monkeypatch, "response")
    app.selectbox(key="filters_instrument").set_value("GAD-7").run()
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " ") for c in app.get("plotly_chart")]
    assert "GAD-7: week of first response" in titles
    # The NHS Talking Therapies chart is PHQ-9 and GAD-7 together, whatever is chosen, and its title says so.
    assert titles and all(title.startswith(("GAD-7: ", "PHQ-9 and GAD-7 together: ")) for title in titles), titles
