"""Guards the published comparison when the series mix routes (issue 22, item 6): each route with a published
result of its own route is set beside it (never one reference weighted by the route mix), with the clinic's
observed rate per route from cohort_comparison, and a route hidden under small cells says "hidden"."""

import base64
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.metrics.marts import Cohort


def values(v):
    return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist() if isinstance(v, dict) else v


REFERENCES = pd.DataFrame({
    "study": ["McInnes", "Oliver", "Hull"], "route": ["IV", "IV", "oral"], "instrument": ["PHQ-9"] * 3,
    "n": [537, 424, 1247], "response_rate": [0.536, 0.5, 0.628], "remission_rate": [0.289, 0.2, 0.326],
    "reported": ["observed", "Kaplan-Meier", "observed"]})


def by_route(rows):
    frame = pd.DataFrame(rows, columns=["group_value", "n_scored", "responders", "remitters"])
    for measure, k in (("response", "responders"), ("remission", "remitters")):
        frame[f"{measure}_rate"] = frame[k] / frame.n_scored
        frame[f"{measure}_rate_low"], frame[f"{measure}_rate_high"] = frame[f"{measure}_rate"] - 0.1, frame[
            f"{measure}_rate"] + 0.1
    return frame


def test_each_route_is_set_beside_its_own_papers_only():
    figure = figures.published_by_route(by_route([("IV", 40, 20, 8), ("IM", 30, 15, 6), ("oral", 20, 12, 5)]),
                                       REFERENCES, "PHQ-9")
    papers = {(x, y) for t in figure.data if t.name == "published" for x, y in zip(t.x, t.y)}
    assert papers == {("IV: response", 0.536), ("IV: response", 0.5), ("oral: response", 0.628),
                      ("IV: remission", 0.289), ("IV: remission", 0.2), ("oral: remission", 0.326)}
    clinic = {t.x[0]: t.y[0] for t in figure.data if t.name.startswith("this clinic")}
    # IM has no published result of its own route: not drawn at all (no IV paper beside IM series).
    assert clinic == {"IV: response": 0.5, "oral: response": 0.6, "IV: remission": 0.2, "oral: remission": 0.25}


def test_the_routes_left_off_the_by_route_chart_are_named_and_their_names_escaped():
    from ketamine_outcomes.disclosure import panels
    rows = by_route([("IV", 40, 20, 8), ("*IM*", 30, 15, 6), ("oral", 20, 12, 5)])
    assert panels.not_drawn_routes(rows, REFERENCES, "PHQ-9") == (
        "Not drawn: \\*IM\\* (no published PHQ-9 figure for that route to set beside).")
    assert panels.not_drawn_routes(rows[rows.group_value != "*IM*"], REFERENCES, "PHQ-9") == ""


def test_a_hidden_route_reads_hidden_beside_its_papers():
    rows = by_route([("IV", 40, 20, 8), ("oral", 20, 12, 5)])
    rows.loc[1, ["response_rate", "remission_rate"]] = np.nan  # as for_chart leaves a hidden route
    figure = figures.published_by_route(rows, REFERENCES, "PHQ-9", 11)
    hidden = next(t for t in figure.data if t.text and "hidden" in t.text)
    assert list(hidden.x) == ["oral: response", "oral: remission"]
    assert not [t for t in figure.data if t.name.startswith("this clinic") and t.x[0].startswith("oral")]


def test_overview_draws_every_routes_observed_rate_beside_its_papers_by_default(tmp_path, sample_db, monkeypatch):
    path = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(path))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    with database.open_file(path, read_only=True) as con:
        routes = marts.cohort_comparison(con, "PHQ-9", by="route",
                                           cohort=Cohort(min_baseline=10, baseline_instrument="PHQ-9"))
    shown = suppress.for_chart(routes, "cohort_comparison", 11, rows_add_up=True).set_index("group_value")
    # The headline cohort (PHQ-9 10 or more at baseline): IV 56 of 127 responded (44%); oral's 16 of 26 is hidden
    # (10 did not respond), and with it the smallest other route, as the routes add up to the headline.
    assert routes.set_index("group_value").loc["IV", ["responders", "n_scored"]].tolist() == [56, 127]
    assert pd.isna(shown.at["oral", "response_rate"])
    chart = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                 if "by route" in json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " "))
    clinic = {t["x"][0]: values(t["y"])[0] for t in chart["data"] if t["name"].startswith("this clinic")}
    # Drawn to whole percents under rounding (docs/metrics.md, Small cells, rule 3): 56 / 127 is drawn 0.44.
    assert clinic == {"IV: response": pytest.approx(round(56 / 127, 2)), "IV: remission": pytest.approx(
        shown.at["IV", "remission_rate"])}
    hidden = next(t for t in chart["data"] if t.get("text") and "hidden" in t["text"])
    assert hidden["x"] == ["oral: response", "oral: remission"]
    papers = sorted(y for t in chart["data"] if t["name"] == "published" for y in values(t["y"]))
    assert papers == [0.2, 0.289, 0.326, 0.5, 0.536, 0.628]
    # The walk: IM and intranasal have no published PHQ-9 figure, so the chart leaves them out, and says so.
    assert any("Not drawn: IM, intranasal (no published PHQ-9 figure for those routes" in c.value
               for c in app.caption)
