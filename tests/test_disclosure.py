"""Guards the disclosure-control layer (docs/metrics.md, "Small cells"): counts 1-10 hidden and every other
count rounded to 5, so nothing shown gives a small count by subtraction; rates kept for large groups;
curves that follow the Kaplan-Meier and Aalen-Johansen estimates (checked against lifelines); the pack and the Quality review
page drawing the same panel; a role that cannot lower the clinic's floor."""

import math
import re
from dataclasses import replace
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter

from conftest import settle, wait_for_app

from ketamine_outcomes.disclosure import panels, suppress
from ketamine_outcomes.metrics import declarations
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.metrics import quality
from ketamine_outcomes.charts import figures
from ketamine_outcomes.report import pack
from ketamine_outcomes.metrics.marts import Cohort

RULE = suppress.Disclosure(11)


@pytest.fixture(scope="module")
def sample(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    yield con
    con.close()


def shown_count_ok(text: str) -> bool:
    """A count as a reader sees it: hidden, zero, or a multiple of 5 (never an exact count of 1-10)."""
    if text in ("hidden", "", "0", "-"):
        return True
    value = int(text.replace(",", ""))
    return value % 5 == 0 and value >= 15


# --- the method ------------------------------------------------------------------------------------------

def test_counts_of_1_to_10_are_hidden_and_the_others_rounded_to_5():
    assert [suppress.count_text(n, RULE) for n in (0, 1, 10, 11, 12, 13, 339, 1234)] == \
        ["0", "hidden", "hidden", "15", "15", "15", "340", "1,235"]  # 11 and 12 never read 10
    assert suppress.count_text(12, suppress.Disclosure(11, round_to=1)) == "12"  # the analyst's internal view
    assert suppress.count_text(7, suppress.Disclosure(0, round_to=1)) == "7"  # suppression off


def test_a_large_group_keeps_its_rates_when_a_small_difference_sits_between_its_totals():
    # The route IV: 339 series, 337 evaluable (2 still in induction). The old rule hid the evaluable and
    # both intention-to-treat rates; now the counts are rounded and the rates stay.
    frame = pd.DataFrame({"group_value": ["all"], "n_series": [339], "n_evaluable": [337], "n_scored": [132],
                          "responders": [59], "remitters": [26], "response_rate": [59 / 132],
                          "remission_rate": [26 / 132], "itt_response_rate": [59 / 337],
                          "itt_remission_rate": [26 / 337]})
    table = suppress.for_table(frame, "cohort_comparison", RULE).iloc[0]
    assert (table.n_series, table.n_evaluable, table.n_scored, table.responders) == ("340", "335", "130", "60")
    assert (table.itt_response_rate, table.itt_remission_rate, table.response_rate) == ("18%", "8%", "45%")


def test_a_rate_is_hidden_when_its_numerator_or_complement_is_small_and_its_counts_stay_rounded():
    # 45 of 53: 53 and 45 read 55 and 45, which leave the 8 who did not respond at 6-14: responders stay. The
    # remission rate goes with the response rate (rule 3b): 38% of 53-57 scored fits 18-22 remitters only up to 56.
    frame = pd.DataFrame({"n_series": [60, 60], "n_evaluable": [60, 60], "n_scored": [53, 50],
                          "responders": [45, 6], "remitters": [20, 20], "response_rate": [45 / 53, 0.12],
                          "remission_rate": [20 / 53, 0.4]})
    table = suppress.for_table(frame, "cohort_comparison", RULE)
    assert table.response_rate.tolist() == ["hidden", "hidden"]  # 8 did not respond; 6 responded
    assert table.responders.tolist() == ["45", "hidden"]
    assert table.remission_rate.tolist() == ["hidden", "40%"]


def test_a_chart_carries_rates_to_whole_percents_under_rounding_and_exact_in_an_internal_view():
    # 42 of 92: beside the n shown (90), 0.45652... would give 92 and 42 back (only 42/92 makes it); 0.46 does not.
    rows = pd.DataFrame({"group_value": ["a"], "n_scored": [92], "responders": [42], "response_rate": [42 / 92],
                         "response_rate_low": [0.3593], "response_rate_high": [0.5572]})
    shown = suppress.for_chart(rows, "cohort_comparison", RULE).iloc[0]
    assert (shown.n_scored, shown.responders) == (90, 40)
    assert (shown.response_rate, shown.response_rate_low, shown.response_rate_high) == (0.46, 0.36, 0.56)
    candidates = [(k, n) for n in range(88, 93) for k in range(n + 1) if round(k / n, 2) == shown.response_rate]
    assert len(candidates) > 1  # (41, 89), (42, 91), (42, 92), ... : the exact pair is not given back
    exact = suppress.for_chart(rows, "cohort_comparison", suppress.Disclosure(11, 1)).iloc[0]
    assert exact.response_rate == 42 / 92 and exact.n_scored == 92


def test_rounding_replaces_the_second_hidden_cell_of_a_total_but_exact_counts_keep_it():
    frame = pd.DataFrame({"group_value": ["a", "b", "c"], "n_series": [4, 183, 190]})
    rounded = suppress.for_table(frame, "series_counts", RULE, rows_add_up=True).n_series.tolist()
    assert rounded == ["hidden", "185", "190"]
    internal = suppress.for_table(frame, "series_counts", suppress.Disclosure(11, 1), rows_add_up=True)
    assert internal.n_series.tolist() == ["hidden", "hidden", "190"]  # exact: 377 - 190 would give a


def test_every_declared_rate_names_counts_of_its_mart():
    for name, mart in declarations.MARTS.items():
        for rate, (numerator, denominator) in mart.rates.items():
            assert {numerator, denominator} <= set(mart.counts), (name, rate)
        for mean, base in mart.means.items():
            assert base in mart.counts, (name, mean)
    assert set(declarations.FILES) <= set(marts.MARTS)


# --- curves ----------------------------------------------------------------------------------------------

def lifelines_fit(rows: pd.DataFrame, value: str):
    """lifelines' estimate on the individual series the mart's rows count: Kaplan-Meier of survival, or, where the
    mart has dropouts as a competing event (time to response), Aalen-Johansen's cumulative incidence of response.
    Returns the estimate as a function of the day, and every series' day."""
    dropped = rows.n_dropped if "n_dropped" in rows else 0 * rows.n_events
    days = np.concatenate([np.repeat(rows.day, rows.n_events), np.repeat(rows.day, dropped),
                           np.repeat(rows.day, rows.n_censored)])
    events = np.concatenate([np.ones(int(rows.n_events.sum())), np.full(int(dropped.sum()), 2),
                             np.zeros(int(rows.n_censored.sum()))])
    if value == "survival":
        fitted = KaplanMeierFitter().fit(days, events == 1)
        return (lambda t: float(fitted.predict(t))), days
    # lifelines jitters tied days of different kinds (responses and dropouts on one day), which changes its
    # answer: on the sample's tied days the reference is Aalen-Johansen by hand (checked against lifelines on
    # distinct days below).
    curve = aalen_johansen(days, events)
    return (lambda t: float(curve[curve.index <= t].iloc[-1]) if (curve.index <= t).any() else 0.0), days


def aalen_johansen(days: np.ndarray, events: np.ndarray) -> pd.Series:
    """Cumulative incidence of kind 1 with kind 2 competing (0: censored), day by day: at each day, incidence grows
    by (still event-free) x responses / at risk, and event-free falls by (responses + dropouts) / at risk."""
    free, incidence, out = 1.0, 0.0, {}
    for day in np.unique(days):
        at_risk = (days >= day).sum()
        first, other = ((days == day) & (events == 1)).sum(), ((days == day) & (events == 2)).sum()
        incidence += free * first / at_risk
        free *= 1 - (first + other) / at_risk
        out[day] = incidence
    return pd.Series(out)


def test_the_hand_aalen_johansen_is_lifelines_on_distinct_days():
    rng = np.random.default_rng(3)
    days = rng.permutation(200) + rng.random(200)
    events = rng.choice([0, 1, 2], 200, p=[0.3, 0.45, 0.25])
    theirs = AalenJohansenFitter(calculate_variance=False).fit(days, events, event_of_interest=1)
    ours = aalen_johansen(days, events)
    assert ours.values == pytest.approx(theirs.cumulative_density_.iloc[:, 0].reindex(ours.index).values)


def check_curve(frame: pd.DataFrame, value: str, rule=RULE) -> int:
    """Every group's shown curve against lifelines: within 5 points wherever 11 or more are at risk, drawn
    to the last such day, numbers at risk within the rounding. Returns the points checked."""
    shown = suppress.survival_curve(frame, rule)
    checked = 0
    for group, rows in frame.groupby("group_value"):
        estimate, days = lifelines_fit(rows, value)
        at_risk_days = [t for t in range(int(days.max()) + 1) if (days >= t).sum() >= rule.min_cell]
        curve = shown[shown.group_value == group]
        if not at_risk_days or at_risk_days[-1] == 0:  # 11 at risk on day 0 at most: no curve to draw
            assert curve.empty
            continue
        assert curve.day.max() == at_risk_days[-1], group  # extends to the last day with 11 or more at risk
        for t in at_risk_days:
            truth = estimate(t)
            drawn = curve[curve.day <= t][value].iloc[-1]
            assert abs(drawn - truth) <= 0.05, (group, t, drawn, truth)
            checked += 1
        for point in curve.itertuples():
            true = (days >= point.day).sum()
            assert point.n_at_risk % 5 == 0 and (abs(point.n_at_risk - true) <= 2 or point.n_at_risk == 15 and true >= 11)
    return checked


@pytest.mark.parametrize("by", ["all", "route", "site"])
@pytest.mark.parametrize("rule", [RULE, suppress.Disclosure(11, round_to=1)], ids=["meeting", "internal"])
def test_no_responder_or_remitter_count_is_shown_beside_a_hidden_number_paired(sample, rule, by):
    # The walk of the Trajectories page by route found "IV, week 9: paired hidden, responders 0": a 0% rate of a
    # group of 1-10. Every count built on the series paired goes with it, zero included, split or not.
    bands = sample.execute("select * from severity_bands where instrument = 'PHQ-9' order by band_min").df()
    panel = panels.trajectories(lambda name, **kw: getattr(marts, name)(sample, **kw),
                                panels.Selection("PHQ-9", Cohort(), rule), by, "group", bands)
    # (With exact counts a large number paired may be hidden to protect another route's: its responders, if 11 or
    # more, tell of no small group and stay; a 0 there goes too.)
    for rows in (panel.rows.numbers, panel.data["drawn"]):
        paired_hidden = rows.n_paired.isna() & (rows.week > 0)
        assert paired_hidden.any()
        for column in ("responders", "remitters"):
            shown = rows.loc[paired_hidden, column].dropna()
            assert (shown >= rule.min_cell).all(), rows.loc[paired_hidden & rows[column].notna()]
        for column in ("response_rate", "remission_rate"):
            assert rows.loc[paired_hidden, column].isna().all()
        # The walk's "IV, week 28: scored hidden, paired 0": none of a hidden few had a baseline.
        assert not (rows.n_scored.isna() & rows.n_paired.eq(0)).any()


@pytest.mark.parametrize("mart", ["sustained_response", "time_to_response"])
@pytest.mark.parametrize("instrument", ["PHQ-9", "GAD-7"])
def test_suppressed_curves_follow_lifelines_kaplan_meier_on_the_sample_clinic(sample, mart, instrument):
    for by in ("all", "route", "site"):
        frame = getattr(marts, mart)(sample, instrument, by=by)
        value = "survival" if mart == "sustained_response" else "share_responded"
        assert check_curve(frame, value) > 0 or by == "site"


def test_the_durability_curve_is_the_estimate_at_day_14_and_84_not_a_flat_100_percent(sample):
    # The issue: the suppressed curve read a flat 100% to day 90 with "at risk 61" under every tick, where the
    # Kaplan-Meier is about 96% at day 14 and 78-81% at day 84.
    frame = marts.sustained_response(sample, "PHQ-9")
    shown = suppress.survival_curve(frame, RULE).set_index("day")
    for day in (14, 56, 84):  # the estimate to whole percents (rounded counts: docs/metrics.md, rule 6)
        assert shown.survival[day] == round(suppress.estimate_on(frame, day, "survival"), 2)
        assert abs(shown.n_at_risk[day] - suppress.at_risk_on(frame, day)) <= 2
    assert shown.survival[14] == pytest.approx(0.96, abs=0.015) and shown.survival[84] == pytest.approx(0.8, abs=0.03)
    assert shown.survival.min() < 0.75  # it falls where events happened


def test_a_large_synthetic_curve_follows_lifelines_under_suppression():
    rng = np.random.default_rng(7)
    n = 400
    loss = rng.exponential(120, n).round().astype(int)
    follow = rng.uniform(0, 200, n).round().astype(int)
    day, event = np.minimum(loss, follow), (loss <= follow).astype(int)
    rows = pd.DataFrame({"day": day, "event": event}).groupby("day").agg(
        n_events=("event", "sum"), n_censored=("event", lambda e: int((e == 0).sum()))).reset_index()
    rows["n_at_risk"] = n - rows.n_events.cumsum().shift(fill_value=0) - rows.n_censored.cumsum().shift(fill_value=0)
    rows["survival"] = (1 - rows.n_events / rows.n_at_risk).cumprod()
    rows["group_value"], rows["median_days"] = "all", rows.day[rows.survival <= 0.5].min()
    assert check_curve(rows, "survival") > 150


def sums_fitting(mean: float, n: int) -> bool:
    """Whether some whole-number total of n scores has this mean to a tenth: n is then as likely as any other."""
    totals = range(math.floor((mean - 0.05) * n), math.ceil((mean + 0.05) * n) + 1)
    return any(round(total / n, 1) == mean for total in totals)


def trajectories_panel(sample, rule: suppress.Disclosure) -> panels.Panel:
    """The Trajectories page's panel for every series, PHQ-9, as the page asks for it."""
    bands = sample.execute("select * from severity_bands where instrument = 'PHQ-9' order by band_min").df()
    return panels.trajectories(lambda name, **kw: getattr(marts, name)(sample, **kw),
                               panels.Selection("PHQ-9", Cohort(), rule), "all", "group", bands)


def test_a_mean_on_the_trajectories_panel_has_one_decimal_and_every_n_its_rounded_n_allows_fits_it(sample):
    # A mean of whole scores to full precision is total / n: 14.2307... = 185 / 13 gives the exact n back beside its
    # rounded one. To a tenth, every n within the rounding of the n shown (n shown - 2 to n shown + 2) fits it.
    panel = trajectories_panel(sample, RULE)
    exact = marts.weekly_outcomes(sample, "PHQ-9").set_index("week")
    rows = panel.rows.numbers.dropna(subset=["mean_score"]).set_index("week")
    assert len(rows) >= 8
    for week, row in rows.iterrows():
        for column in ("mean_score", "mean_ci_low", "mean_ci_high", "mean_change"):
            if pd.isna(row[column]):  # week 0 has no change from baseline
                continue
            assert row[column] == round(row[column], 1) and abs(row[column] - exact.at[week, column]) <= 0.05 + 1e-9
        n = int(row.n_scored)
        assert all(sums_fitting(row.mean_score, m) for m in range(max(n - 2, 11), n + 3)), (week, row.mean_score, n)
    drawn = [y for trace in panel.figure.data if trace.mode == "lines+markers+text" for y in trace.y if y == y]
    assert drawn and all(y == round(y, 1) for y in drawn)  # the hover's mean is the table's
    internal = trajectories_panel(sample, suppress.Disclosure(11, round_to=1))
    assert (internal.rows.numbers.mean_score.dropna() != internal.rows.numbers.mean_score.dropna().round(1)).any()


@pytest.mark.parametrize("rule", [RULE, suppress.Disclosure(5, round_to=1)], ids=["meeting", "internal"])
def test_the_trajectories_panel_by_route_reads_one_split_table_and_each_line_is_its_routes_own(sample, rule):
    asked = []

    def read(name, **options):
        asked.append((name, options.get("by")))
        return getattr(marts, name)(sample, **options)

    bands = sample.execute("select * from severity_bands where instrument = 'PHQ-9' order by band_min").df()
    panel = panels.trajectories(read, panels.Selection("PHQ-9", Cohort(), rule), "route", "route", bands)
    assert asked == [("weekly_outcomes", "route")]  # one query for every line
    assert [trace.name for trace in panel.figure.data if trace.mode == "lines+markers+text"] == [
        "IM", "IV", "intranasal", "oral"]
    rows = panel.rows.numbers
    for route in ("IM", "IV", "intranasal", "oral"):
        # What the page drew before the split, one route's cohort at a time: the same series in every week.
        own = marts.weekly_outcomes(sample, "PHQ-9", Cohort(routes=(route,)))
        shown = rows[rows.route == route].set_index("week")
        assert shown.index.tolist() == own.week.tolist()
        if rule.round_to == 1:  # exact counts: a shown count is the route's own
            kept = shown.n_scored.notna()
            assert shown.n_scored[kept].tolist() == own.set_index("week").n_scored[kept].tolist()
    # Week by week the routes add up to the whole clinic: with exact counts, of a week's routes one is never hidden
    # alone (the clinic's n minus the others would give it), unless it is the week's only route.
    if rule.round_to == 1:
        per_week = rows.groupby("week").n_scored.agg(routes="size", hidden=lambda n: n.isna().sum())
        assert 0 < len(per_week[(per_week.routes > 1) & (per_week.hidden > 0)])
        assert (per_week[per_week.routes > 1].hidden != 1).all()


@pytest.mark.parametrize("mart", ["sustained_response", "time_to_response"])
def test_a_curve_shown_under_rounding_is_in_whole_percents_within_half_a_point_of_the_mart(sample, mart):
    value = "survival" if mart == "sustained_response" else "share_responded"
    for by in ("all", "route"):
        frame = getattr(marts, mart)(sample, "PHQ-9", by=by)
        shown = suppress.survival_curve(frame, RULE)
        assert len(shown) > 5
        for point in shown.itertuples():
            truth = suppress.estimate_on(frame[frame.group_value == point.group_value], point.day, value)
            drawn = getattr(point, value)
            assert drawn == round(drawn, 2) and abs(drawn - truth) <= 0.005 + 1e-9, (by, point)


# --- the pack and the page ---------------------------------------------------------------------------------

def pack_counts(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r'<td class="count">(.*?)</td>', html, re.S)]


@pytest.mark.parametrize("period", ["2025-Q1", "2025-Q2", "2025-Q3"])
def test_no_count_in_the_pack_is_exact_so_none_gives_a_small_one_by_subtraction(sample, period):
    meeting_pack = pack.build(sample, period=pack.parse_period(period))
    html = pack.render(meeting_pack)
    counts = pack_counts(html)
    assert counts and all(shown_count_ok(c) for c in counts), [c for c in counts if not shown_count_ok(c)]
    for row in meeting_pack["headline"]["rows"]:
        for key in ("started", "active", "evaluable", "scored"):
            assert shown_count_ok(row[key]), (key, row[key])
    for funnel in meeting_pack["funnels"]:
        for row in funnel["rows"]:
            assert shown_count_ok(row["n"]) and shown_count_ok(row["k"])


def test_two_packs_a_day_apart_report_on_the_same_whole_months(sample):
    one = pack.parse_period(start=date(2025, 4, 1), end=date(2025, 6, 14))
    two = pack.parse_period(start=date(2025, 4, 1), end=date(2025, 6, 15))
    assert (one.start, one.end) == (two.start, two.end) == (date(2025, 4, 1), date(2025, 6, 30))


def test_the_pack_and_the_quality_review_panel_agree_for_the_same_quarter(sample):
    meeting_pack = pack.build(sample, period=pack.parse_period("2025-Q2"))
    caseness = {"PHQ-9": 10.0, "GAD-7": 8.0}
    selection = panels.Selection("PHQ-9", Cohort(), RULE, True, caseness)
    page = panels.period_numbers(panels.from_connection(sample), selection, date(2025, 4, 1), date(2025, 6, 30),
                                 "2025-Q2")
    now = meeting_pack["headline"]["rows"][0]
    counts = page.data["counts"]
    assert (now["evaluable"], now["scored"]) == (counts.n_evaluable, counts.n_scored)
    assert now["response"].startswith(page.tiles[0].value) and now["itt_response"].startswith(page.tiles[2].value)
    assert meeting_pack["headline"]["cohort"] == page.cohort and page.cohort.startswith("Cases at baseline")
    rates = marts.cohort_comparison(sample, "PHQ-9", cohort=Cohort(start_from=date(2025, 4, 1),
                                                                    start_to=date(2025, 6, 30), min_baseline=10))
    assert page.tiles[0].value == f"{rates.response_rate.iloc[0]:.0%}"


def test_the_item9_section_counts_the_answers_in_the_series_of_its_period_and_filters(sample):
    # The walk: `report --from 2024-01-01 --to 2025-06-30 --route oral` said 80 answers and 75 patients under
    # "route: oral": the whole clinic's (78 such answers that period), with 44 oral series.
    period = pack.parse_period(start=date(2024, 1, 1), end=date(2025, 6, 30))
    whole = pack.build(sample, period=period)["safety"]
    oral = pack.build(sample, period=period, cohort=Cohort(routes=("oral",)))["safety"]
    started = Cohort(start_from=date(2024, 1, 1), start_to=date(2025, 6, 30))
    every = marts.item9_cohort_answers(sample, started)
    in_oral = marts.item9_cohort_answers(sample, replace(started, routes=("oral",)))
    assert 0 < len(in_oral) < len(every)
    # By hand: the answers of 1 or more placed in the oral series started then, and their patients.
    (answers, patients), = sample.execute(
        "select count(*), count(distinct s.patient_id) from int_series_assessments a join int_treatment_series s "
        "using (series_id) where a.instrument = 'PHQ-9' and a.item9 >= 1 and s.route = 'oral' "
        "and s.start_date between date '2024-01-01' and date '2025-06-30'").fetchall()
    assert (len(in_oral), in_oral.patient_id.nunique()) == (answers, patients)
    assert oral["item9_flagged"] == suppress.count_text(answers, RULE)
    assert oral["item9_patients"] == suppress.count_text(patients, RULE)
    assert whole["item9_flagged"] == suppress.count_text(len(every), RULE)
    assert "route: oral" in oral["item9_when"] and "2024-01-01 to 2025-06-30" in oral["item9_when"]


def test_a_funnel_with_nothing_to_show_says_why_and_shows_the_rolling_12_months(sample):
    meeting_pack = pack.build(sample, period=pack.parse_period("2025-Q2"))
    by_site = next(f for f in meeting_pack["funnels"] if f["by"] == "site")
    assert by_site["window"] == "the rolling 12 months 2024-07-01 to 2025-06-30"
    assert by_site["rows"] and "fewer than 11" in by_site["notes"][0]
    # Under the rolling 12 months' heading, the note names the quarter that could not be placed, not the 12 months.
    for by in ("site", "clinician"):
        funnel = next(f for f in meeting_pack["funnels"] if f["by"] == by)
        assert funnel["notes"][0].startswith(f"In 2025-Q2 (2025-04-01 to 2025-06-30), no {by} can be placed")
    html = pack.render(meeting_pack)
    assert "No site shown lies outside" not in html or "rolling 12 months" in html


# --- roles cannot undo the clinic's floor -------------------------------------------------------------------

ACCESS = """
[auth]
redirect_uri = "http://127.0.0.1:9/oauth2callback"
cookie_secret = "Zx8k2Lq9Vb4Nw7Rt1Hy6Pm3Jd5Fs0GaQe"
client_id = "ketamine-outcomes"
client_secret = "test-client-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"

[roles]
analyst = ["ana@clinic.example"]
director = ["@clinic.example"]
viewer = ["board@partner.example"]
"""


@pytest.fixture
def clinic_with_roles(tmp_path, sample_db, monkeypatch):
    """The sample clinic behind an access file, its min_cell_size set to 20: (database, open(email, **link))."""
    import os
    import shutil

    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    from ketamine_outcomes.cli import commands
    assert commands.main(["settings", "set", "min_cell_size", "20", "--db", str(db)]) == 0
    access = tmp_path / "access.toml"
    access.write_text(ACCESS)
    os.chmod(access, 0o600)
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(db))
    monkeypatch.setenv("KETAMINE_OUTCOMES_ACCESS", str(access))

    def open_as(email: str, page: str = "compare", **link) -> AppTest:
        app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
        app.user = {"is_logged_in": True, "email": email, "email_verified": True, "iat": 1, "sub": email}
        for name, value in link.items():
            app.query_params[name] = value
        app.run()
        if page != "overview":
            app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    return db, open_as


@pytest.mark.slow
@pytest.mark.parametrize("email", ["dan@clinic.example", "board@partner.example"])
def test_a_director_or_viewer_link_below_the_clinics_floor_is_raised_to_it(clinic_with_roles, email):
    db, open_as = clinic_with_roles
    # The issue: with min_cell_size 20, a viewer's ?min-cell=11 gave an internal view showing counts 11-19.
    app = open_as(email, "overview", **{"min-cell": "11"})
    assert any("raised to this clinic" in w.value for w in app.sidebar.warning)  # the link is said to be changed
    app.switch_page("app_pages/compare.py").run()
    assert app.number_input(key="filters_min_cell").value == 20
    assert not any("Internal view" in w.value for w in app.warning)
    assert all("INTERNAL" not in c.value for c in app.caption)
    # A count from 11 to 19 never shows: every count in every table is hidden, zero or rounded, 20 or more.
    for frame in app.dataframe:
        for column in frame.value.columns:
            if column in ("Series", "Series evaluable", "Series scored", "Responders", "Remitters"):
                # A column with a hidden cell holds words (tables.cell_keys); float() drops a number's rank before them.
                for value in frame.value[column].dropna():
                    if value in ("hidden", "—"):
                        continue
                    count = float(str(value).replace(",", ""))
                    assert count == 0 or (count >= 20 and count % 5 == 0), (column, value)
    # Nor can the sidebar go lower: a value under the floor is raised as the page runs (a viewer's is locked in
    # meeting mode).
    if app.number_input(key="filters_min_cell").disabled:
        return
    app.number_input(key="filters_min_cell").set_value(12).run()
    assert app.number_input(key="filters_min_cell").value == 20 and not any("Internal view" in w.value
                                                                            for w in app.warning)


@pytest.mark.slow
def test_an_analyst_may_open_an_internal_view_below_the_floor_and_it_says_so(clinic_with_roles):
    db, open_as = clinic_with_roles
    app = open_as("ana@clinic.example", "compare", **{"min-cell": "5"})
    assert app.number_input(key="filters_min_cell").value == 5
    assert any("Internal view, not for circulation" in w.value for w in app.warning)
    assert any("INTERNAL" in c.value for c in app.caption)


# --- meeting mode on a projector ----------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("path", ["", "compare", "durability", "quality_review"])
def test_meeting_mode_on_a_1920_by_1080_projector(page, dashboard_url, path):
    """Every chart's title on one line, every plot area at least 45% of the screen's height, every funnel point
    named, and the data's date on the page."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{dashboard_url}/{path}?meeting=true")
    wait_for_app(page, timeout=120_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=90_000)
    page.get_by_text("Data as of 2025-").first.wait_for()
    charts = page.locator(".js-plotly-plot")
    # Each chart's title is the page's text above it (ui.title_above), one line across the projector.
    titles = page.locator('[class*="st-key-chart_title_"] [data-testid="stMarkdownContainer"] p')
    # Every chart the page sent, set up by Plotly (they draw in any order, after their titles arrive), and its
    # larger meeting-mode type in force (the page's styles can land after the charts).
    settle(page, """() => { const plots = document.querySelectorAll('.js-plotly-plot');
        const titles = [...document.querySelectorAll('[class*="st-key-chart_title_"] [data-testid="stMarkdownContainer"] p')];
        const plotly_titles = [...document.querySelectorAll('.js-plotly-plot .gtitle tspan')];
        return plots.length >= 1 && titles.length === plots.length
            && plotly_titles.every(t => t.getBoundingClientRect().width === 0) && titles.every(p =>
            Math.round(p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight)) === 1)
            && [...plots].every(c => c._fullLayout && [...c.querySelectorAll('.nsewdrag')].some(r =>
                r.getBoundingClientRect().height >= 0.45 * 1080)); }""", timeout=90_000)
    assert charts.count() >= 1
    assert titles.count() == charts.count()
    lines = titles.evaluate_all("ps => ps.map(p => Math.round(p.getBoundingClientRect().height"
                                " / parseFloat(getComputedStyle(p).lineHeight)))")
    assert lines == [1] * charts.count(), (path, lines, titles.all_inner_texts())
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        # No Plotly title drawn beside it: the figure keeps one for a saved PNG, hidden on screen (styles.MEETING).
        assert chart.locator(".gtitle tspan:visible").count() == 0
        # The main plot area: the largest drag rectangle (a survival curve's at-risk table is a second, smaller one).
        heights = chart.locator(".nsewdrag").evaluate_all("rects => rects.map(r => r.getBoundingClientRect().height)")
        assert max(heights) >= 0.45 * 1080, (path, i, heights)
        # Text readable from the back of a room: the tick labels at 18 px or more.
        sizes = chart.locator(".xtick text").evaluate_all("ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize))")
        assert not sizes or min(sizes) >= 18, (path, i, sizes)
    if path == "compare":
        funnel = page.locator(".st-key-compare_funnel .js-plotly-plot")
        names = funnel.locator(".scatterlayer .textpoint text").evaluate_all("ts => ts.map(t => t.textContent)")
        assert {"Lakeview", "Northside", "Riverside"} <= set(names)


# --- control limits drawn at the n as shown ---------------------------------------------------------------

def funnel_groups() -> pd.DataFrame:
    # 43 of 92, 30 of 61, 20 of 48: shown as 90, 60 and 50 series scored.
    return pd.DataFrame({"group_value": ["a", "b", "c"], "n_scored": [92, 61, 48], "responders": [43, 30, 20]})


def test_a_funnel_point_sits_at_its_rounded_n_and_its_limits_are_drawn_there():
    rates = funnel_groups()
    units, curves = quality.funnel(rates, "group_value", "responders", "n_scored",
                                         shown_n=panels.shown_n(RULE))
    a = units.set_index("group").loc["a"]
    assert (a.n, a.n_shown, a.k) == (92, 90, 43) and a.rate == pytest.approx(43 / 92)  # the rate stays exact
    figure = figures.funnel(units, curves, "site")
    points = [t for t in figure.data if t.mode == "markers+text"]
    assert sorted(x for t in points for x in t.x) == [50, 60, 90]  # never 92, 61, 48
    # A limit's width at the point is the rounded n's: p +/- 1.96 sqrt(p(1-p)/90), so it cannot give 92 back.
    p = 93 / 201
    upper = quality.funnel(rates, "group_value", "responders", "n_scored",
                                 shown_n=panels.shown_n(RULE))[1]
    assert p == pytest.approx(upper.centre.iloc[0])
    wide = p + 1.959964 * (p * (1 - p) / 90) ** 0.5
    assert a.rate < wide and units.outside.tolist() == ["", "", ""]


def test_an_internal_view_draws_the_funnel_at_the_exact_n():
    units, _ = quality.funnel(funnel_groups(), "group_value", "responders", "n_scored",
                                    shown_n=panels.shown_n(suppress.Disclosure(5, 1)))
    assert units.n_shown.tolist() == units.n.tolist() == [92, 61, 48]


def test_a_p_charts_limits_are_drawn_at_each_periods_rounded_n():
    frame = pd.DataFrame({"month": ["2025-01", "2025-02", "2025-03"], "k": [20, 33, 26], "n": [41, 62, 58]})
    chart = quality.p_chart(frame, "month", "k", "n", shown_n=panels.shown_n(RULE))
    p = 79 / 161  # the centre stays the exact counts' rate
    assert chart.centre.tolist() == pytest.approx([p] * 3)
    assert chart.n_shown.tolist() == [40, 60, 60]
    assert chart.upper.tolist() == pytest.approx([p + 3 * (p * (1 - p) / n) ** 0.5 for n in (40, 60, 60)])
    # The two periods shown with 60 series get the same limits: their exact 62 and 58 cannot be read back.
    assert chart.upper.iloc[1] == chart.upper.iloc[2]


@pytest.mark.slow  # a sweep: 32 funnels and 4 p-charts twice, 4 s of CPU
def test_rounded_limits_change_no_outside_flag_or_signal_on_the_sample_clinic(sample):
    """Every funnel (each split, each instrument, cases only or not) and p-chart (months and quarters) of the
    sample clinic judged at the rounded n says what the exact n says, point by point."""
    read = panels.from_connection(sample)
    caseness = {"PHQ-9": 10.0, "GAD-7": 8.0}
    compared = 0
    for instrument in ("PHQ-9", "GAD-7"):
        for cases in (True, False):
            rounded, exact = (panels.Selection(instrument, Cohort(), rule, cases, caseness)
                              for rule in (RULE, suppress.Disclosure(11, 1)))
            for by in ("site", "clinician", "route", "indication", "age_band", "sex", "series_number",
                       "start_quarter"):
                shown, truth = (panels.funnel(read, s, by, by).data["units"].set_index("group")
                                for s in (rounded, exact))
                # With exact counts a group beside a small one may be hidden too (complementary suppression):
                # the groups placed in both are compared.
                both = shown.index.intersection(truth.index)
                assert (shown.n_shown % 5 == 0).all()
                assert shown.outside[both].to_dict() == truth.outside[both].to_dict()
                compared += len(both)
            for grain in ("month", "quarter"):
                shown, truth = (panels.p_chart(read, s, grain).data["chart"].set_index("period")
                                for s in (rounded, exact))
                drawn = shown.index[~shown.hidden].intersection(truth.index[~truth.hidden])
                assert shown.signals[drawn].to_dict() == truth.signals[drawn].to_dict()
                compared += len(drawn)
    assert compared > 100


# --- differencing: every count on every page is rounded -----------------------------------------------------

PAGES_WITH_COUNTS = ("overview", "trajectories", "response", "compare", "durability", "quality_review", "safety")


def count_headers() -> set[str]:
    """The headers of every declared count column, as tables show them (dashboard/tables.py)."""
    from ketamine_outcomes.dashboard import tables
    return {tables.label(c, "PHQ-9") for m in declarations.MARTS.values() for c in m.counts}


def counts_on(app) -> list[tuple[str, object]]:
    """Every count the page shows: each cell of a count column of each table, each tile whose value is a number,
    each "n = ..." caption, and each p-chart point's n (its hover)."""
    import json
    headers, found = count_headers(), []
    for frame in app.dataframe:
        for column in headers & set(frame.value.columns):
            found += [(column, v) for v in frame.value[column]]
    found += [(m.label, m.value) for m in app.metric if re.fullmatch(r"[\d,]+", str(m.value))]
    found += [("n =", n) for c in app.caption for n in re.findall(r"\bn = ([\d,]+)", c.value)]
    for chart in app.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec["data"]:
            if trace.get("name") == "rate" and "customdata" in trace:  # the p-chart's points: [n shown, signals]
                found += [("p-chart n", row[0]) for row in trace["customdata"]]
    return found


def rounded_or_hidden(value) -> bool:
    """Hidden (blank), zero, or a multiple of 5 from 15 up: what rounding leaves, so that neither two counts
    side by side (a pair, a total and its parts, two adjacent periods) nor two views give a count of 1-10 back
    exactly: their difference is known only give or take 2 per count. "—" (tables.cell_text): nothing counted. A
    column with a hidden cell holds words (tables.cell_keys: a number's after its rank, whitespace float() drops)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA \
            or value in ("hidden", "—"):
        return True
    number = float(str(value).replace(",", ""))  # a column drawn with words holds its counts as floats
    return number == 0 or (number.is_integer() and number % 5 == 0 and number >= 15)


@pytest.mark.slow
@pytest.mark.parametrize("view", ["every series", "Lakeview IM", "meeting mode"])
def test_every_count_on_every_page_is_hidden_zero_or_rounded_to_5(clinic_db, monkeypatch, view):
    """The differencing test of issue 25 over every table, tile, n and p-chart point of every page that shows
    counts: under the clinic's threshold nothing shown is an exact count, so no pair, no total minus its parts and
    no period minus the next gives a count of 1-10, within a view or between two."""
    from conftest import open_app
    app = open_app(clinic_db, monkeypatch)
    if view == "Lakeview IM":  # a small cohort: many cells hidden, the others rounded
        app.multiselect(key="filters_sites").set_value(["Lakeview"]).run()
        app.multiselect(key="filters_routes").set_value(["IM"]).run()
    if view == "meeting mode":
        app.toggle(key="filters_meeting_mode").set_value(True).run()
    seen = 0
    for page in PAGES_WITH_COUNTS:
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, (page, [e.value for e in app.exception])
        counts = counts_on(app)
        assert all(rounded_or_hidden(v) for _, v in counts), (page, [c for c in counts if not rounded_or_hidden(c[1])])
        seen += len(counts)
    assert seen > 100  # the walk read the pages' counts, not an empty page


def test_adjacent_quarters_on_the_p_chart_and_in_the_pack_of_the_pack_show_only_rounded_counts(sample):
    """Adjacent periods: each quarter's n on the p-chart (the sample clinic's months are too small to show) and
    each quarter's headline in the pack is rounded, so one period minus the next never gives the series started
    in between."""
    read = panels.from_connection(sample)
    selection = panels.Selection("PHQ-9", Cohort(), RULE, True, {"PHQ-9": 10.0, "GAD-7": 8.0})
    chart = panels.p_chart(read, selection, "quarter").data["chart"]
    drawn = chart[~chart.hidden]
    assert len(drawn) >= 4 and all(rounded_or_hidden(n) for n in drawn.n_shown)
    assert (drawn.n_shown != drawn.n).any()  # some month's exact n differs from what is shown
    rows = [pack.build(sample, period=pack.parse_period(q))["headline"]["rows"] for q in ("2025-Q1", "2025-Q2")]
    for row in (r for both in rows for r in both):
        assert all(rounded_or_hidden(row[key]) for key in ("started", "active", "evaluable", "scored"))
    # The pack's previous period is the quarter before's this period: the same panel, the same shown counts.
    assert {k: rows[1][1][k] for k in ("started", "evaluable", "scored")} == \
        {k: rows[0][0][k] for k in ("started", "evaluable", "scored")}


def test_a_funnels_points_and_lines_are_drawn_to_whole_percents_under_rounding(tmp_path):
    """The panel a page and the pack draw, on the hand data above: 43/92 drawn at 0.47 (flags judged before, on the
    exact rate), the centre 93/201 = 0.46269 at 0.46; an internal view draws both exact."""
    rates = funnel_groups().assign(n_series=lambda f: f.n_scored, n_evaluable=lambda f: f.n_scored,
                                   remitters=0, response_rate=lambda f: f.responders / f.n_scored,
                                   remission_rate=0.0, itt_response_rate=lambda f: f.responders / f.n_scored,
                                   itt_remission_rate=0.0, n_evaluable_no_baseline=0)
    read = lambda name, **options: rates  # noqa: E731: a mart reader that returns the hand rows
    for rule, rate, centre in ((RULE, 0.47, 0.46), (suppress.Disclosure(11, 1), 43 / 92, 93 / 201)):
        selection = panels.Selection("PHQ-9", Cohort(), rule, False)
        panel = panels.funnel(read, selection, "site", "site")
        units = panel.data["units"].set_index("group")
        assert units.rate["a"] == pytest.approx(rate, abs=1e-12)
        centre_line = next(t for t in panel.figure.data if t.name == "overall rate")
        assert list(centre_line.y) == pytest.approx([centre] * len(centre_line.y), abs=1e-12)


@pytest.mark.slow
def test_the_quality_review_page_and_the_pack_show_the_same_numbers_for_the_same_quarter(clinic_db, monkeypatch):
    """Page vs pack (issue 25, "Done when"): the Quality review's latest closed quarter, as a director reads it on the
    page, and the pack made for that quarter (its default) state the same cohort and the same numbers."""
    from conftest import open_app
    app = open_app(clinic_db, monkeypatch, "quality_review")
    heading = next(h.value for h in app.subheader if h.value.startswith("Series started in "))
    quarter = heading.removeprefix("Series started in ").split(" ")[0]
    tiles = {m.label: m.value for m in app.metric}
    con = duckdb.connect(str(clinic_db), read_only=True)
    try:
        meeting_pack = pack.build(con)
    finally:
        con.close()
    assert meeting_pack["period"].label == quarter  # the pack's default: the latest closed quarter
    now = meeting_pack["headline"]["rows"][0]
    assert (tiles["Evaluable"], tiles["Scored"]) == (now["evaluable"], now["scored"])
    for label, key in (("Response, observed", "response"), ("Remission, observed", "remission"),
                       ("Response, intention to treat", "itt_response"),
                       ("Remission, intention to treat", "itt_remission")):
        assert now[key].split(" ")[0] == tiles[label], (label, now[key], tiles[label])
    cohort = meeting_pack["headline"]["cohort"]
    assert cohort.startswith("Cases at baseline") and any(cohort in c.value for c in app.caption)
