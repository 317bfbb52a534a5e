"""Guards the case-mix adjusted comparison of sites and clinicians (ketamine_outcomes/metrics/casemix.py, Compare
cohorts): expected responders equal the hand-computed sums of each series' chance of response, and an
independent statsmodels fit; the O/E limits; the sentence saying which groups differ; and that small or
degenerate data (one group, no variation, too few series, separation, a single level) is said, not fitted."""

import base64
import json
import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from streamlit.testing.v1 import AppTest

from conftest import ROOT, numbers_in, shown
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import casemix
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.metrics import quality
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_file


def series(rows: list[tuple[str, str, int, int]], **constant) -> pd.DataFrame:
    """Given (group, route, n series, responders) blocks, one row per series as casemix_series gives them; the
    other case-mix columns are constant unless given."""
    frames = []
    for group, route, n, responders in rows:
        frames.append(pd.DataFrame({"group_value": group, "route": route,
                                    "is_response": [True] * responders + [False] * (n - responders)}))
    frame = pd.concat(frames, ignore_index=True)
    defaults = {"baseline_score": 18, "indication": "depression", "age_band": "35-44", "sex": "female"}
    return frame.assign(**{**defaults, **constant})


def named_outside(words: str) -> dict[str, tuple[str, list[float]]]:
    """The groups casemix.in_words names as outside the limits: group -> (above or below, the numbers it gives:
    limit, observed responders, expected responders, ratio)."""
    return {group: (side, numbers_in(f"{limit} {detail}")) for group, side, limit, detail
            in re.findall(r"(\S+) is (above|below) the ([\d.]+)% limit \(([^)]*)\)", words)}


def test_with_route_the_only_case_mix_expected_responders_are_each_series_route_rate_summed():
    # IV: 8 of 20 respond (0.4); oral: 12 of 20 (0.6). A logistic model on route alone fits each route's own rate,
    # so site A (15 IV, 5 oral) expects 15 x 0.4 + 5 x 0.6 = 9 and site B (5 IV, 15 oral) 5 x 0.4 + 15 x 0.6 = 11.
    given = series([("A", "IV", 15, 4), ("B", "IV", 5, 4), ("A", "oral", 5, 2), ("B", "oral", 15, 10)])
    adjusted = casemix.adjusted_comparison(given)
    groups = adjusted.groups.set_index("group")
    assert groups.expected.to_dict() == pytest.approx({"A": 9.0, "B": 11.0}, abs=1e-6)
    assert groups.observed.to_dict() == {"A": 6, "B": 14}
    assert groups.ratio.to_dict() == pytest.approx({"A": 6 / 9, "B": 14 / 11}, abs=1e-6)
    # Limits: 1 +/- z sqrt(E (1 - p)) / E with p = 20 / 40 = 0.5; A: sqrt(4.5) / 9 = 0.2357.
    assert groups.at["A", "lower_95%"] == pytest.approx(1 - 1.959964 * math.sqrt(4.5) / 9, abs=1e-6)
    assert groups.at["A", "upper_99.8%"] == pytest.approx(1 + 3.090232 * math.sqrt(4.5) / 9, abs=1e-6)
    assert groups.outside.tolist() == ["", ""]
    adjusted_for, one_value = re.match(r"Adjusted for (.+?) \((.+?): one value only here", adjusted.note).groups()
    assert adjusted_for == "route" and one_value.split(", ") == ["baseline severity", "indication", "age band", "sex"]
    words = casemix.in_words(adjusted, "site")
    assert "no site differs" in words and named_outside(words) == {}


def test_a_site_below_the_raw_funnel_only_for_its_patients_route_is_within_the_limits_after_adjustment():
    # A treats IV only (6 of 30 respond), B oral only (24 of 30). Raw: 20% against an overall 50%, below the 99.8%
    # limit (0.5 - 3.09 sqrt(0.25 / 30) = 0.218). Adjusted for route, A does exactly as IV patients do: ratio 1.
    given = series([("A", "IV", 30, 6), ("B", "oral", 30, 24)])
    raw = pd.DataFrame({"group_value": ["A", "B"], "responders": [6, 24], "n_scored": [30, 30]})
    units, _ = quality.funnel(raw, "group_value", "responders", "n_scored")
    assert units.outside.tolist() == ["below 99.8%", "above 99.8%"]
    adjusted = casemix.adjusted_comparison(given)
    assert adjusted.groups.ratio.tolist() == pytest.approx([1.0, 1.0], abs=1e-6)
    words = casemix.in_words(adjusted, "site", units)
    assert "no site differs" in words and named_outside(words) == {}
    assert re.search(r"(\S+(?:, \S+)*) are outside the raw funnel's limits but within them", words).group(1) == "A, B"


def test_a_site_that_does_worse_than_its_patients_predict_is_named_with_its_counts():
    # Each site treats both routes alike; C has 2 responders of 40 where its patients predict 40 x 0.45 = 18.
    given = series([("A", "IV", 40, 20), ("B", "IV", 40, 20), ("C", "IV", 40, 2), ("A", "oral", 40, 30),
                    ("B", "oral", 40, 30), ("C", "oral", 40, 6)])
    adjusted = casemix.adjusted_comparison(given)
    groups = adjusted.groups.set_index("group")
    # IV: 42 of 120 (0.35); oral: 66 of 120 (0.55); each site expects 40 x 0.35 + 40 x 0.55 = 36.
    assert groups.expected.tolist() == pytest.approx([36.0, 36.0, 36.0], abs=1e-6)
    assert groups.at["C", "outside"] == "below 99.8%"
    assert groups.at["A", "outside"] == "above 99.8%"
    words = casemix.in_words(adjusted, "site")
    # Each site outside is named with its limit, observed and expected responders and ratio. A and B treat
    # alike (50 of 80 each, 36 expected): both above, so no site is left for "every other site is within".
    assert named_outside(words) == {"A": ("above", [99.8, 50, 36.0, 1.39]), "B": ("above", [99.8, 50, 36.0, 1.39]),
                                    "C": ("below", [99.8, 8, 36.0, 0.22])}
    assert groups.at["B", "outside"] == "above 99.8%"
    assert not words.endswith("every other site is within the limits.")


def test_expected_responders_match_an_independent_statsmodels_formula_fit():
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({
        "group_value": rng.choice(["North", "South", "East", "West"], n),
        "baseline_score": rng.integers(10, 27, n),
        "route": rng.choice(["IV", "IM", "oral"], n),
        "sex": rng.choice(["female", "male"], n),
        "indication": "depression", "age_band": "35-44",
    })
    chance = 1 / (1 + np.exp(-(2.0 - 0.12 * frame.baseline_score + 0.5 * (frame.route == "oral"))))
    frame["is_response"] = rng.random(n) < chance
    adjusted = casemix.adjusted_comparison(frame)
    model = smf.logit("y ~ baseline_score + C(route) + C(sex)", frame.assign(y=frame.is_response.astype(int))).fit(disp=0)
    independent = frame.assign(p=model.predict(frame)).groupby("group_value").p.sum()
    assert adjusted.groups.set_index("group").expected.to_dict() == pytest.approx(independent.to_dict(), abs=1e-6)
    # A logistic model with an intercept predicts as many responders in all as were observed.
    assert adjusted.groups.expected.sum() == pytest.approx(frame.is_response.sum(), abs=1e-6)


def test_one_group_is_said_not_fitted():
    adjusted = casemix.adjusted_comparison(series([("A", "IV", 30, 10), ("A", "oral", 30, 20)]))
    assert not adjusted.fitted and adjusted.groups.empty
    assert adjusted.note.startswith("No adjusted comparison: fewer than two groups")


def test_everyone_responding_is_said_not_fitted():
    adjusted = casemix.adjusted_comparison(series([("A", "IV", 30, 30), ("B", "oral", 30, 30)]))
    assert not adjusted.fitted
    # The wording is the point: it tells a director why no adjusted funnel is drawn.
    assert adjusted.note == ("No adjusted comparison: every series scored at the end of induction responded, so "
                             "there is no variation for a model to explain.")


def test_too_few_non_responders_for_the_terms_is_said_with_the_counts():
    # Route (1 term) needs 5 of the rarer outcome: 4 non-responders are too few.
    adjusted = casemix.adjusted_comparison(series([("A", "IV", 15, 13), ("B", "oral", 15, 13)]))
    assert adjusted.note.startswith("No adjusted comparison: too few series for a model of 1 terms (4 non-responders; "
                                    "at least 5 needed")


def test_a_route_in_which_everyone_responded_is_named_as_separation():
    adjusted = casemix.adjusted_comparison(series([("A", "IV", 20, 8), ("B", "IV", 20, 8), ("A", "oral", 12, 12),
                                                   ("B", "IV", 10, 2)]))
    assert not adjusted.fitted
    assert "route oral (all responded)" in adjusted.note and "perfect separation" in adjusted.note


def test_a_level_of_three_series_joins_the_most_frequent_level_instead_of_separating_the_model():
    given = series([("A", "IV", 30, 12), ("B", "oral", 30, 18)])
    given.loc[:2, "sex"] = "other"  # three series, all responders
    given.loc[3:20, "sex"] = "male"
    pooled = casemix.pooled(given)
    assert pooled.sex.value_counts().to_dict() == {"female": 42, "male": 18}
    assert casemix.adjusted_comparison(given).fitted


def test_only_keeps_the_groups_the_raw_funnel_shows():
    adjusted = casemix.adjusted_comparison(series([("A", "IV", 15, 4), ("B", "IV", 5, 4), ("A", "oral", 5, 2),
                                                   ("B", "oral", 15, 10)]))
    assert casemix.only(adjusted, ["B"]).groups.group.tolist() == ["B"]
    # Every group hidden: the sentence says so instead of describing a model whose results are not shown.
    # The wording is the point: nothing of the hidden groups' model may be said.
    assert casemix.in_words(casemix.only(adjusted, []), "site") == (
        "No adjusted comparison can be shown: every group is hidden (small-cell suppression).")


# The mart the model reads ----------------------------------------------------------------------------

def test_casemix_series_holds_the_evaluable_scored_series_with_their_case_mix(con, export):
    sessions = ["patient_id,session_day,status,route,site"]
    for patient, site in (("P1", "North"), ("P2", "South"), ("P3", "South")):
        sessions += [f"{patient},{day},completed,IV,{site}" for day in (0, 2, 4, 7, 9, 11)]
    outcomes = ["patient_id,assessment_day,instrument,score",
                "P1,0,PHQ-9,20", "P1,14,PHQ-9,8",  # a response at the end of induction
                "P2,0,PHQ-9,16", "P2,14,PHQ-9,12",  # no response
                "P3,0,PHQ-9,18",  # not scored in the window: not in the model's series
                "P1,40,PHQ-9,9"]  # the data's last day (40) closes every window (11 + 21 = 32)
    patients = ["patient_id,age_band,sex,primary_indication", "P1,25-34,female,depression",
                "P2,45-54,male,PTSD", "P3,45-54,male,depression"]
    for name, lines in (("patients.csv", patients), ("sessions.csv", sessions), ("outcomes.csv", outcomes)):
        assert ingest_file(con, export(name, "\n".join(lines) + "\n")).rows_rejected == 0
    marts.build(con)
    rows = marts.casemix_series(con, "PHQ-9", by="site")
    assert rows[["group_value", "series_id", "is_response", "baseline_score", "route", "indication", "age_band",
                 "sex"]].values.tolist() == [["North", "P1#1", True, 20, "IV", "depression", "25-34", "female"],
                                             ["South", "P2#1", False, 16, "IV", "PTSD", "45-54", "male"]]
    with pytest.raises(ValueError, match="case-mix comparison is split by one of all, site, clinician"):
        marts.casemix_series(con, "PHQ-9", by="route")


# The Compare cohorts page ----------------------------------------------------------------------------

def adjusted_points(app: AppTest) -> dict[str, tuple[float, float]]:
    """The adjusted funnel's points as drawn: group -> (expected, ratio)."""
    chart = next(c for c in app.get("plotly_chart")
                 if "Adjusted for case mix" in json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " "))
    points = {}
    for trace in json.loads(chart.proto.spec)["data"]:
        if trace.get("mode") != "markers+text":
            continue
        xs, ys = ([*np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])] if isinstance(v, dict) else v
                  for v in (trace["x"], trace["y"]))
        points.update({row[0]: (x, y) for row, x, y in zip(trace["customdata"], xs, ys)})
    return points


@pytest.fixture
def compare_page(tmp_path, sample_db, monkeypatch):
    """The Compare cohorts page on a private copy of the sample clinic."""
    path = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(path))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    return app.switch_page("app_pages/compare.py").run(), path


def test_compare_by_site_draws_each_sites_observed_over_expected_and_says_who_differs(compare_page):
    app, path = compare_page
    with database.open_file(path, read_only=True) as con:
        # The page's cohort control ("Headline rates: cases only", on by default): both funnels count the cases
        # at baseline (PHQ-9 10 or more), the raw one and the adjusted one beside it.
        cases = marts.caseness_cohort(con, marts.Cohort(), "PHQ-9")
        adjusted = marts.casemix_comparison(con, "PHQ-9", by="site", cohort=cases)
        raw = marts.cohort_comparison(con, "PHQ-9", by="site", cohort=cases).set_index("group_value")
    groups = adjusted.groups.set_index("group")
    # The sample clinic's cases: Lakeview 42 of 90 (45.8 expected), Northside 40 of 72 (38.6), Riverside 43 of 77
    # (40.6): the same series the raw funnel places (its n scored and responders).
    assert groups.observed.to_dict() == {"Lakeview": 42, "Northside": 40, "Riverside": 43}
    assert groups.n.to_dict() == raw.n_scored.to_dict() == {"Lakeview": 90, "Northside": 72, "Riverside": 77}
    assert groups.observed.to_dict() == raw.responders.to_dict()
    drawn = adjusted_points(app)
    # Drawn as counts are shown (suppression on): at the expected responders rounded to 5 and the ratio to two
    # decimals, so that ratio x expected does not give the exact responders back.
    assert drawn == {g: (suppress.rounded(round(row.expected), 11), pytest.approx(round(row.ratio, 2)))
                     for g, row in groups.iterrows()} == {"Lakeview": (45, 0.92), "Northside": (40, 1.04),
                                                          "Riverside": (40, 1.06)}
    assert groups.expected.round(1).to_dict() == {"Lakeview": 45.8, "Northside": 38.6, "Riverside": 40.6}
    said = [re.sub(r"\\(.)", r"\1", m.value) for m in app.markdown]
    assert any("no site differs" in line and named_outside(line) == {} for line in said)
    model = next(shown(c.value) for c in app.caption if "logistic model" in c.value)
    assert re.match(r"Adjusted for (.+?):", model).group(1).split(", ") == [
        "baseline severity", "route", "indication", "age band", "sex"]
    assert numbers_in(model.split(": ", 1)[1])[:2] == [12, 240]  # terms, series fitted on (239, shown rounded)


def test_with_cases_only_cleared_both_funnels_count_every_series_and_say_so(compare_page):
    app, path = compare_page
    app.checkbox(key="filters_cases_only").set_value(False).run()
    with database.open_file(path, read_only=True) as con:
        adjusted = marts.casemix_comparison(con, "PHQ-9", by="site")
    groups = adjusted.groups.set_index("group")
    # Every series with a baseline: Lakeview 44 of 93, Northside 41 of 74, Riverside 44 of 78.
    assert groups.observed.to_dict() == {"Lakeview": 44, "Northside": 41, "Riverside": 44}
    assert adjusted_points(app) == {g: (suppress.rounded(round(row.expected), 11), pytest.approx(round(row.ratio, 2)))
                                    for g, row in groups.iterrows()}
    captions = [c.value for c in app.caption]
    # The cohort sentence is said twice: under the raw funnel and under the adjusted one.
    assert sum(c == "All series with a PHQ-9 baseline." for c in captions) == 2


def test_compare_by_clinician_leaves_off_the_adjusted_funnel_the_groups_the_raw_funnel_hides(compare_page):
    app, _ = compare_page
    app.selectbox(key="compare_by").set_value("clinician").run()
    # L02 (1 scored) is hidden in the raw funnel, so it is not drawn adjusted either. N01 is shown: counts are
    # rounded to 5, so the total no longer gives L02 away (docs/metrics.md, Small cells).
    assert sorted(adjusted_points(app)) == ["L01", "N01", "R01"]
    said = " ".join(m.value for m in app.markdown)
    assert "L02" not in said


def test_compare_by_route_has_no_adjusted_funnel_since_route_is_in_the_model(compare_page):
    app, _ = compare_page
    app.selectbox(key="compare_by").set_value("route").run()
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " ") for c in app.get("plotly_chart")]
    assert not any("Adjusted for case mix" in t for t in titles) and not app.exception


def test_the_model_note_shown_under_rounding_states_no_exact_count_whatever_its_wording():
    # 103 series, 7 non-responders: a model of route (1 term), with the caution (under 10 per term). Shown under
    # rounding the note is made from the counts as shown (105, not 103) and does not give 7 per term.
    from ketamine_outcomes.disclosure import panels
    adjusted = casemix.adjusted_comparison(series([("A", "IV", 52, 48), ("B", "oral", 51, 48)]))
    assert adjusted.fitted and "fitted on 103 series" in adjusted.note
    assert "7.0 non-responders per term" in adjusted.note
    note = panels.adjusted_as_shown(adjusted, suppress.Disclosure(11)).note
    assert "fitted on 105 series" in note and "fewer than 10 non-responders per term" in note
    constants = {1, 10, 1996}  # the model's terms, the caution threshold, the paper's year: no count of people
    assert all(v in constants or (v % 5 == 0 and v >= 15) for v in numbers_in(note)), note
    # Too few for a model: its 4 non-responders read hidden, never exact.
    few = casemix.adjusted_comparison(series([("A", "IV", 15, 13), ("B", "oral", 15, 13)]))
    shown_few = panels.adjusted_as_shown(few, suppress.Disclosure(11)).note
    assert "(hidden non-responders;" in shown_few and " 4 " not in shown_few
    assert all(v in {1, 5, 2007} for v in numbers_in(shown_few)), shown_few
