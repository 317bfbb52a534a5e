"""Guards the charts a director reads: percent axes never print one label twice, weeks are whole numbers,
a chart with nothing to show is a sentence, a hidden bar is marked (never a zero), individual series are
one trace, the change chart is a distribution whatever the size, and export text is escaped."""

import numpy as np
import pandas as pd
import pytest

from ketamine_outcomes.charts import figures
from ketamine_outcomes.charts import style
from ketamine_outcomes.disclosure import panels, suppress


def tick_labels(fig, top: float) -> list[str]:
    axis = fig.layout.yaxis
    decimals = int(axis.tickformat[1:-1])
    return [f"{v * 100:.{decimals}f}%" for v in np.arange(0, top + axis.dtick / 2, axis.dtick)]


PEAK = {"bp_peak_systolic": 180}


def pressure(rates, counts=(400, 300)):
    return pd.DataFrame({"route": ["IV", "IM"], "n_sessions": counts, "n_measured": counts,
                         "n_high_peaks": [6, 5], "high_peak_rate": rates, "median_peak": [140, 141], "max_peak": [190, 185]})


def test_a_percent_axis_of_small_rates_never_repeats_a_label():
    fig = figures.blood_pressure(pressure([0.015, 0.018]), PEAK)
    labels = tick_labels(fig, 0.018)
    assert labels == ["0.0%", "0.5%", "1.0%", "1.5%", "2.0%"]


def test_a_percent_axis_with_nothing_above_zero_has_a_fixed_range_of_a_few_ticks():
    # One route at 0%, the other hidden: left to autorange, plotly drew 0% to 100% in 0.2% steps (500 labels).
    fig = figures.blood_pressure(pressure([0.0, None]), PEAK)
    axis = fig.layout.yaxis
    assert tuple(axis.range) == (0, 0.01) and tick_labels(fig, axis.range[1]) == ["0.0%", "0.2%", "0.4%", "0.6%",
                                                                                  "0.8%", "1.0%"]
    assert figures.blood_pressure(pressure([0.015, None]), PEAK).layout.yaxis.range is None  # a bar to fit: autorange


def test_a_hidden_bar_is_marked_and_an_all_hidden_chart_is_a_sentence():
    fig = figures.blood_pressure(pressure([0.015, None]), PEAK)
    bars = [t for t in fig.data if t.type == "bar"]
    marks = [t for t in fig.data if t.name and t.name.startswith("hidden")]
    assert list(bars[0].x) == ["IV"] and list(marks[0].x) == ["IM"] and list(marks[0].text) == ["hidden"]
    nothing = figures.blood_pressure(pressure([None, None]), PEAK)
    assert figures.is_nothing(nothing).startswith("No blood-pressure peaks to show")
    assert not nothing.data


def weekly(weeks, means, n=40):
    return pd.DataFrame({"week": weeks, "mean_score": means, "mean_ci_low": [m - 1 for m in means],
                         "mean_ci_high": [m + 1 for m in means], "n_scored": [n] * len(weeks)})


def test_trajectory_weeks_are_whole_and_individual_series_are_one_trace():
    spaghetti = pd.DataFrame({"series_id": ["a", "a", "b", "b", "c"], "week": [0, 1, 0, 2, 0],
                              "score": [20, 15, 18, 9, 22]})
    fig = figures.trajectory({"<b>Lakeview</b>": weekly([0, 1, 2], [20.0, 14.0, 11.0])}, pd.DataFrame(
        columns=["band_min", "band_max", "band"]), "PHQ-9", 27, spaghetti=spaghetti)
    individual = [t for t in fig.data if t.name and t.name.startswith("individual series")]
    assert len(individual) == 1 and individual[0].name == "individual series (3)"
    assert sum(1 for y in individual[0].y if y != y) == 3  # a gap after each series
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tickformat == "d"
    assert "&lt;b&gt;Lakeview&lt;/b&gt;" in [t.name for t in fig.data]


def test_a_trajectory_with_every_week_hidden_is_a_sentence():
    fig = figures.trajectory({"all series": weekly([0, 1], [np.nan, np.nan])}, pd.DataFrame(
        columns=["band_min", "band_max", "band"]), "GAD-7", 21)
    assert "No GAD-7 week has enough series" in figures.is_nothing(fig)


def test_a_hidden_week_on_a_split_trajectory_names_the_lines_that_hide_it():
    """walk: by route, week 1 read "hidden" when only oral hid it; by site, Lakeview's last week (hidden, 7 series)
    had no point and no mark, so it read as "no data". IV shown weeks 0-4; oral hidden at week 1 (n hidden) and
    at week 4 (the end of its line), nobody scored at week 3 (n 0: no data, no mark); both hidden at week 2."""
    bands = pd.DataFrame(columns=["band_min", "band_max", "band"])
    iv = weekly([0, 1, 2, 3, 4], [18.0, 14.0, np.nan, 12.0, 11.0]).assign(n_scored=[60, 50, None, 40, 30])
    oral = weekly([0, 1, 2, 3, 4], [19.0, np.nan, np.nan, np.nan, np.nan]).assign(n_scored=[20, None, None, 0, None])
    fig = figures.trajectory({"IV": iv, "<i>oral</i>": oral}, bands, "PHQ-9", 27)
    marks = {a.x: a.text for a in fig.layout.annotations if a.text.startswith("hidden")}
    assert marks == {1: "hidden: &lt;i&gt;oral&lt;/i&gt;", 2: "hidden", 4: "hidden: &lt;i&gt;oral&lt;/i&gt;"}
    assert list(fig.layout.xaxis.range) == [-0.5, 4.5]


def change_chart(summary: pd.DataFrame, rule):
    """The change-from-baseline chart as the Response page's panel draws it: bins suppressed, then drawn."""
    from ketamine_outcomes.disclosure import response_panels, suppress
    bins, total = response_panels.change_bins(summary, rule)
    return figures.change_distribution(bins, total, "PHQ-9", 0.5, suppress.policy(rule).min_cell)


def test_the_change_chart_is_a_distribution_of_every_series():
    rng = np.random.default_rng(1)
    change = rng.uniform(-1, 0.6, 50_000)
    status = np.where(change <= -0.75, "remission", np.where(change <= -0.5, "response", "no response"))
    fig = change_chart(pd.DataFrame({"end_pct_change": change, "end_status": status}), 0)
    assert len(fig.data) == 3
    assert sum(int(sum(t.y)) for t in fig.data) == 50_000
    assert max(len(t.x) for t in fig.data) <= 20


def test_every_chart_has_a_text_alternative_naming_its_series():
    weekly_rates = pd.DataFrame({"week": [1, 2], "n_paired": [40, 30], "response_rate": [0.2, 0.4],
                                 "response_rate_low": [0.1, 0.25], "response_rate_high": [0.35, 0.55],
                                 "remission_rate": [0.1, 0.2], "remission_rate_low": [0.03, 0.1],
                                 "remission_rate_high": [0.2, 0.35]})
    fig = figures.rates_by_week(weekly_rates, None, "PHQ-9")
    # The wording is the point: the text a screen reader reads in place of the chart.
    assert figures.describe(fig) == ("PHQ-9: response and remission by week. share of series against Week of "
                                    "treatment series. Shows: response (observed), remission (observed).")


# A Kaplan-Meier curve as the sustained_response mart gives it: 20 responders, events on days 10 and 30,
# censoring on days 20 and 40 (the at-risk counts are those of a hand computation).
CURVE = pd.DataFrame({"group_value": ["all"] * 4, "day": [10, 20, 30, 40], "n_at_risk": [20, 15, 12, 3],
                      "n_events": [5, 0, 4, 0], "n_censored": [0, 3, 5, 3],
                      "survival": [0.75, 0.75, 0.5, 0.5], "median_days": [30] * 4})


def test_a_survival_curve_starts_at_day_0_steps_and_prints_the_number_at_risk_under_it():
    fig = figures.survival_curve(suppress.survival_curve(CURVE, 0), "survival", "t", "still responding", "days",
                                 "responding")
    line, at_risk = fig.data
    assert (list(line.x), list(line.y), line.line.shape) == ([0, 10, 20, 30, 40], [1.0, 0.75, 0.75, 0.5, 0.5], "hv")
    assert line.name == "all (median 30 days)"
    # Ticks every 7 days to day 40; at day t the series followed to t or later: 20 until day 10, 15 to day 20...
    assert list(at_risk.x) == [0, 7, 14, 21, 28, 35]
    assert list(at_risk.text) == ["20", "20", "15", "12", "12", "3"]
    assert at_risk.xaxis == "x2" and at_risk.mode == "text"


def test_a_survival_curve_cut_by_suppression_prints_no_number_past_its_end():
    from ketamine_outcomes.disclosure import suppress

    # 60 followed; losses 6, 6, 3, 11, 4, 1 on days 7-42, censored 12 on day 0 and more later (test_suppress.KM):
    # under suppression the estimate each week while 11 or more are at risk (to day 35); day 42 (5) is cut.
    curve = pd.DataFrame({"group_value": ["all"] * 7, "day": [0, 7, 14, 21, 28, 35, 42],
                          "n_at_risk": [60, 48, 42, 34, 22, 11, 5], "n_events": [0, 6, 6, 3, 11, 4, 1],
                          "n_censored": [12, 0, 2, 9, 0, 2, 4],
                          "survival": [1.0, 0.875, 0.75, 0.684, 0.342, 0.218, 0.174], "median_days": [28] * 7})
    fig = figures.survival_curve(suppress.survival_curve(curve, 11), "survival", "t", "still responding", "days",
                                "responding")
    line, at_risk = fig.data
    # The estimate to whole percents under rounded counts (docs/metrics.md, "Small cells", rule 3).
    assert list(line.x) == [0, 7, 14, 21, 28, 35] and list(line.y) == [1.0, 0.88, 0.75, 0.68, 0.34, 0.22]
    assert list(at_risk.x) == [0, 7, 14, 21, 28, 35] and list(at_risk.text) == ["60", "50", "40", "35", "20", "15"]
    # The median is in the week shown on day 28, after the point on day 21.
    assert line.name == "all (median 22-28 days)"
    assert figures.is_nothing(figures.survival_curve(suppress.survival_curve(curve, 61), "survival", "t", "y", "x",
                                                   "responding")).startswith("No curve to draw")


def test_the_change_chart_hides_small_bars_and_rounds_the_others():
    from ketamine_outcomes.disclosure import suppress

    # Remission: 20 series fell 90-100%, 12 fell 80-90%, 3 fell 70-80% (3 is hidden; the status table shows
    # 35 remissions, rounded, and the bars are rounded: 35 - 20 - 15 leaves it anywhere from 0 to 7, so 12 stays,
    # drawn as 15, the lowest a shown count reads). Response: 12 fell 50-60%. No response: 25 rose 0-10%. With exact counts 12 goes too.
    change = [-0.95] * 20 + [-0.85] * 12 + [-0.75] * 3 + [-0.55] * 12 + [0.05] * 25
    status = ["remission"] * 35 + ["response"] * 12 + ["no response"] * 25
    summary = pd.DataFrame({"end_pct_change": change, "end_status": status})
    fig = change_chart(summary, 11)
    bars = {t.name: {round(x, 2): y for x, y in zip(t.x, t.y) if y != 0} for t in fig.data if t.type == "bar"}
    assert bars["remission"] == {-0.95: 20, -0.85: 15, -0.75: None}
    assert bars["response"] == {-0.55: 15} and bars["no response"] == {0.05: 25}
    marks = next(t for t in fig.data if t.type == "scatter")
    assert [round(x, 2) for x in marks.x] == [-0.75] and list(marks.text) == ["hidden"]
    assert marks.name == "hidden: 1-10 series, or hidden to protect another"
    exact = change_chart(summary, suppress.Disclosure(11, 1))
    bars = {t.name: {round(x, 2): y for x, y in zip(t.x, t.y) if y != 0} for t in exact.data if t.type == "bar"}
    assert bars["remission"] == {-0.95: 20, -0.85: None, -0.75: None}
    assert "72 series" not in fig.layout.title.text  # 72 - 20 - 12 - 25 would be the hidden 15
    shown = change_chart(summary, 0)  # suppression off: every bar, and the total
    assert {round(x, 2): y for x, y in zip(shown.data[0].x, shown.data[0].y) if y} == {-0.95: 20, -0.85: 12, -0.75: 3}
    assert "72 series" in shown.layout.title.text


def test_every_hidden_marker_reads_the_same_with_the_threshold_in_force_and_its_unit():
    transitions = pd.DataFrame({"baseline_band": ["moderate", "moderate", "severe"], "baseline_band_min": [10, 10, 20],
                                "end_band": ["minimal", "mild", "minimal"], "end_band_min": [0, 5, 0],
                                "n_series": [30, None, 40]})
    marks = [t for t in figures.band_transitions(transitions, "PHQ-9", 6).data if t.type == "scatter"]
    assert [(list(t.x), t.name) for t in marks] == [(["moderate"], "hidden: 1-5 series, or hidden to protect another")]
    marks = [t for t in figures.blood_pressure(pressure([0.015, None]), PEAK, 11).data if t.type == "scatter"]
    assert marks[0].name == "hidden: 1-10 sessions, or hidden to protect another"
    assert figures.hidden_legend(None) == "hidden: too few series, or hidden to protect another"


def test_a_long_title_wraps_to_a_phones_width_and_the_plot_moves_down_to_hold_it():
    fig = figures.time_to_response(pd.DataFrame({"week": [1, 2], "n_series": [20, 30]}))
    fig.update_layout(title_text="End of induction (PHQ-9): this clinic vs published real-world results &amp; more",
                      title_subtitle_text="Filters: PHQ-9 · all series · counts under 11 suppressed")
    figures.fit_titles(fig)
    lines = fig.layout.title.text.split("<br>")
    assert lines == ["End of induction (PHQ-9): this clinic vs", "published real-world results &amp; more"]
    assert all(style.text_width(line, 18) <= figures.NARROWEST for line in lines)
    assert fig.layout.title.subtitle.text == "Filters: PHQ-9 · all series · counts under 11 suppressed"  # fits
    assert fig.layout.margin.t > 84  # two title lines: more room than the template's one-line margin
    short = figures.time_to_response(pd.DataFrame({"week": [1], "n_series": [20]}))
    figures.fit_titles(short)
    assert short.layout.title.text == "Week of first response" and short.layout.margin.t == 84


def end_rates():
    rates = {}
    for kind in ("", "itt_"):
        for measure, value in (("response", 0.5), ("remission", 0.25)):
            rates.update({f"{kind}{measure}_rate": [value], f"{kind}{measure}_rate_low": [value - 0.1],
                          f"{kind}{measure}_rate_high": [value + 0.1]})
    return pd.DataFrame(rates)


def test_the_end_of_induction_title_promises_published_results_only_when_a_range_is_drawn():
    alone = figures.end_of_induction(end_rates(), pd.DataFrame(), "PHQ-9")
    assert alone.layout.title.text == "End of induction (PHQ-9): this clinic"
    assert not [t for t in alone.data if t.type == "bar"]
    published = pd.DataFrame({"instrument": ["PHQ-9"], "study": ["McInnes 2022"], "response_rate": [0.5],
                              "remission_rate": [0.2]})
    beside = figures.end_of_induction(end_rates(), published, "PHQ-9")
    assert beside.layout.title.text == "End of induction (PHQ-9): this clinic vs published real-world results"
    assert [t.name for t in beside.data if t.type == "bar"] == ["published range", "published range"]
    # A published result for another instrument draws nothing, so the title does not promise one.
    other = figures.end_of_induction(end_rates(), published.assign(instrument="GAD-7"), "PHQ-9")
    assert other.layout.title.text == "End of induction (PHQ-9): this clinic"


def test_the_funnel_names_on_the_plot_only_the_points_outside_the_limits_and_every_point_in_the_hover():
    from ketamine_outcomes.metrics import quality
    # p = 115 / 300: A (55 of 100) is outside the 99.8% limits; the other two, of similar size and rate, are within.
    frame = pd.DataFrame({"site": ["A", "Northside", "Riverside"], "k": [55, 29, 31], "n": [100, 96, 104]})
    units, curves = quality.funnel(frame, "site", "k", "n")
    assert units.set_index("group").outside.to_dict() == {"A": "above 99.8%", "Northside": "", "Riverside": ""}
    fig = figures.funnel(units, curves, "site")
    points = {t.name: t for t in fig.data if t.mode == "markers+text"}
    assert list(points["site outside limits"].text) == ["A"]
    # Every point is named (a projector has no hover); side by side, one name above its point and one below.
    assert list(points["site within limits"].text) == ["Northside", "Riverside"]
    assert list(points["site within limits"].textposition) == ["top center", "bottom center"]
    assert [list(c) for c in points["site within limits"].customdata] == [["Northside", "within the limits", "96"],
                                                                          ["Riverside", "within the limits", "104"]]
    assert fig.layout.height == 540


def test_the_adjusted_funnel_names_every_point_and_two_at_one_x_take_opposite_sides():
    """walk: the adjusted funnel's labels were ['', '', ''], and two sites at (40, 1.04) and (40, 1.06) sat on top
    of each other. Observed / expected: North 42/40, South 41.6/40, East 36/50, all within the limits."""
    groups = pd.DataFrame({"group": ["East", "North", "South"], "n": [120, 95, 95], "observed": [36, 42, 42],
                           "expected": [50.0, 40.0, 40.0], "ratio": [0.72, 1.06, 1.04], "outside": ["", "", ""]})
    curves = pd.DataFrame({"expected": [20.0, 55.0], "centre": 1.0, "lower_95%": [0.6, 0.7], "upper_95%": [1.4, 1.3],
                           "lower_99.8%": [0.5, 0.6], "upper_99.8%": [1.5, 1.4]})
    fig = figures.adjusted_funnel(groups, curves, "site")
    points = next(t for t in fig.data if t.name == "site within limits")
    named = dict(zip(points.text, points.textposition))
    assert sorted(named) == ["East", "North", "South"]
    # North (ratio 1.06) is the higher of the two at 40 expected: its name above, South's below.
    assert (named["North"], named["South"]) == ("top center", "bottom center")
    # The raw funnel places names by the same rule: a tie in n no longer puts the lower name above.
    units = pd.DataFrame({"group": ["A", "B", "C"], "n": [50, 80, 80], "rate": [0.5, 0.41, 0.39],
                          "outside": ["", "", ""]})
    raw = figures.funnel(units, pd.DataFrame({"n": [40, 90], "centre": 0.4, "lower_95%": [0.25, 0.3],
                                              "upper_95%": [0.55, 0.5], "lower_99.8%": [0.2, 0.25],
                                              "upper_99.8%": [0.6, 0.55]}), "site")
    points = next(t for t in raw.data if t.name == "site within limits")
    assert dict(zip(points.text, points.textposition)) == {"A": "top center", "B": "top center", "C": "bottom center"}


def test_every_hidden_week_of_the_rates_by_week_is_marked_and_a_week_without_data_is_not():
    def rate(values):
        return {"response_rate": values, "response_rate_low": values, "response_rate_high": values}

    # Week 1 hidden whole (n paired hidden), week 3 hides remission only, week 4 had nobody paired (no data),
    # week 6 (past the last shown response, week 5) is off the axis.
    weekly = pd.DataFrame({"week": [0, 1, 2, 3, 4, 5, 6], "n_paired": [None, None, 40, 30, 0, 25, None],
                           **rate([None, None, 0.3, 0.4, None, 0.5, None]),
                           **{k.replace("response", "remission"): v for k, v in
                              rate([None, None, 0.1, None, None, 0.2, None]).items()}})
    fig = figures.rates_by_week(weekly, None, "PHQ-9")
    marks = {a.x: a.text for a in fig.layout.annotations}
    assert marks == {1: "hidden", 3: "hidden: remission observed"}
    assert list(fig.layout.xaxis.range) == [-0.5, 5.5]


def test_the_attrition_axis_stops_at_100_percent():
    """walk2/walk3: room for the "100%" printed above the first bar drew an axis up to 120% for a share."""
    frame = pd.DataFrame({"stage": ["session"] * 3, "step": [1, 2, 3], "share_of_started": [1.0, 0.8, 0.55]})
    fig = figures.attrition(frame, 11)
    axis = fig.layout.yaxis
    drawn = [f"{k * axis.dtick:.0%}" for k in range(20) if k * axis.dtick <= axis.range[1]]  # ticks inside the range
    assert drawn == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert list(fig.data[0].text) == ["100%", "80%", "55%"] and fig.data[0].cliponaxis is False


def shown_n(trace) -> dict:
    """The n labels a reader sees on a line: the texts whose template is not blank (the hover has every week's)."""
    return {w: t for w, t, template in zip(trace.x, trace.text, trace.texttemplate) if template and t}


def test_trajectory_n_labels_are_spaced_so_a_phone_can_read_them():
    """walk2/walk3: at 390 px a week is about 12 px wide; 18 weeks of "n=384" ran together, and one line per site
    piled three labels on each week. Every few weeks a label, each week's label from one line only."""
    bands = pd.DataFrame(columns=["band_min", "band_max", "band"])
    one = figures.trajectory({"all series": weekly(list(range(18)), [15.0] * 18, n=120)}, bands, "PHQ-9", 27)
    line = next(t for t in one.data if t.name == "all series")
    assert shown_n(line) == {0: "n=120", 3: "n=120", 6: "n=120", 9: "n=120", 12: "n=120", 15: "n=120"}
    assert list(line.text) == ["n=120"] * 18  # the hover still names every week's n
    three = figures.trajectory({site: weekly(list(range(12)), [15.0] * 12) for site in ("A", "B", "C")}, bands,
                              "PHQ-9", 27)
    labelled = {site: sorted(shown_n(next(t for t in three.data if t.name == site))) for site in ("A", "B", "C")}
    assert labelled == {"A": [0, 6], "B": [2, 8], "C": [4, 10]}


def test_a_hidden_adverse_event_bar_is_marked_in_its_own_routes_slot():
    """walk (desktop_safety_02): oral's hidden nausea was marked at the centre of the nausea group, over IV's and
    IM's bars. Nausea: IV 20%, IM hidden, oral hidden; dizziness: IV 10%, IM 5%, oral hidden."""
    events = pd.DataFrame({"group_value": ["IV", "IV", "IM", "IM", "oral", "oral"],
                           "event": ["nausea", "dizziness"] * 3, "event_rate": [0.2, 0.1, None, 0.05, None, None],
                           "event_rate_low": [0.15, 0.05, None, 0.01, None, None],
                           "event_rate_high": [0.25, 0.15, None, 0.1, None, None]})
    fig = figures.adverse_events(events, "route", 11)
    slot = {t.name: t.offsetgroup for t in fig.data if t.legendgroup != "hidden"}
    assert len(set(slot.values())) == 3  # one slot per route
    marks = {route: sorted(t.x) for route, group in slot.items()
             for t in fig.data if t.legendgroup == "hidden" and t.offsetgroup == group}
    assert marks == {"IM": ["nausea"], "oral": ["dizziness", "nausea"]}
    assert all(list(t.y) == [0] * len(t.x) and set(t.text) == {"hidden"}
               for t in fig.data if t.legendgroup == "hidden")
    # One legend entry for the marks, however many routes hide a bar.
    assert [t.showlegend for t in fig.data if t.legendgroup == "hidden"] == [True, False]


def test_a_hidden_rate_in_grouped_rate_bars_is_marked_in_its_own_bars_slot():
    """The blood-pressure flags and item 9 charts drew the "hidden" mark at the centre of the category, over the
    shown bar beside it. IM: rise hidden, raised before dosing 12% of 300; route B: item 9 emerged hidden."""
    thresholds = {"bp_rise_systolic": 20, "bp_rise_diastolic": 10, "bp_pre_systolic_above": 140,
                  "bp_pre_diastolic_above": 90}
    flags = pd.DataFrame({"route": ["IV", "IM"], "rise_rate": [0.1, None], "rise_rate_low": [0.07, None],
                          "rise_rate_high": [0.14, None], "n_rise_measured": [400, None],
                          "pre_raised_rate": [0.2, 0.12], "pre_raised_rate_low": [0.16, 0.09],
                          "pre_raised_rate_high": [0.24, 0.16], "n_pre_measured": [400, 300]})
    fig = figures.blood_pressure_flags(flags, thresholds, 11)
    slot = {t.offsetgroup for t in fig.data if t.legendgroup != "hidden"}
    marks = [(t.offsetgroup, list(t.x)) for t in fig.data if t.legendgroup == "hidden"]
    assert slot == {"rise", "pre_raised"} and marks == [("rise", ["IM"])]
    item9 = pd.DataFrame({"group_value": ["A", "A", "B", "B"], "measure": ["item9_resolved", "item9_emergent"] * 2,
                          "measure_rate": [0.5, 0.1, 0.6, None], "measure_rate_low": [0.4, 0.05, 0.5, None],
                          "measure_rate_high": [0.6, 0.2, 0.7, None], "n_series": [100, 200, 80, 150]})
    fig = figures.item9_course(item9, 11)
    slot = {t.name: t.offsetgroup for t in fig.data if t.legendgroup != "hidden"}
    marks = [(t.offsetgroup, list(t.x)) for t in fig.data if t.legendgroup == "hidden"]
    assert marks == [(slot["B"], ["item 9 emerged (from 0)"])] and slot["A"] != slot["B"]


def test_a_hidden_marks_legend_too_wide_for_a_phone_takes_two_lines():
    """walk2/walk3: on a 390 px phone the adverse-events legend read "… or hidden to protec", cut at the edge."""
    events = pd.DataFrame({"group_value": ["IV", "IV"], "event": ["nausea", "elevated_bp"], "event_rate": [0.2, None],
                           "event_rate_low": [0.15, None], "event_rate_high": [0.25, None]})
    marks = [t for t in figures.adverse_events(events, "route", 11).data if t.legendgroup == "hidden"]
    assert marks[0].name == "hidden: 1-10 sessions or events,<br>or hidden to protect another"
    assert list(marks[0].x) == ["increased blood pressure"]
    # A legend that fits stays on one line.
    marks = [t for t in figures.blood_pressure(pressure([0.015, None]), PEAK, 11).data if t.type == "scatter"]
    assert marks[0].name == "hidden: 1-10 sessions, or hidden to protect another"


def test_a_trajectory_past_the_end_of_induction_marks_where_intention_to_treat_ends_and_says_the_group_shrinks():
    # Observed weeks 0-9; intention to treat ends at week 6 (weekly_outcomes_itt). Week 9 rests on 12 of 300.
    weekly = pd.DataFrame({"week": range(10), "mean_score": [19.0, 15, 13, 12, 11, 10, 10, 9, 9, 8],
                           "n_scored": [300, 250, 240, 230, 200, 150, 100, 40, 20, 12],
                           "mean_ci_low": [18.0] * 10, "mean_ci_high": [20.0] * 10})
    itt = pd.DataFrame({"week": range(7), "mean_score": [19.0, 16, 15, 14, 14, 13, 13], "n_series": [300] * 7})
    fig = figures.trajectory({"all series": weekly}, pd.DataFrame(columns=["band_min", "band_max", "band"]), "PHQ-9",
                            27, itt=itt)
    ends = [s for s in fig.layout.shapes if s.x0 == 6 and s.x1 == 6]
    assert len(ends) == 1
    assert any("intention to treat ends" in a.text for a in fig.layout.annotations)
    note = panels.itt_followup_note(weekly, itt, 11)
    assert "ends at week 6" in note and "week 9 rests on 15 of 300 series" in note  # 12, rounded (never 10)
    assert "hidden" in panels.itt_followup_note(weekly.assign(n_scored=[300] * 9 + [5]), itt, 11)
    # Observed weeks that end with intention to treat: no mark, no note.
    assert panels.itt_followup_note(weekly[weekly.week <= 6], itt, 11) == ""


def test_the_sustained_response_curve_draws_its_lost_to_follow_up_bound_dotted_beside_it():
    curve = pd.DataFrame({"group_value": ["all"] * 3, "day": [0, 30, 106], "n_at_risk": [40, 20, 11],
                          "n_events": [0, 0, 11], "n_censored": [20, 9, 0], "survival": [1.0, 1.0, 0.0],
                          "survival_if_lost": [0.5, 0.275, 0.0], "median_days": [106] * 3})
    fig = figures.survival_curve(suppress.survival_curve(curve, 0), "survival", "t", "y", "x", "responding")
    bound = next(t for t in fig.data if t.name and "lost to follow-up" in t.name)
    assert list(bound.y) == [0.5, 0.275, 0.0] and bound.line.dash == "dot"
    assert fig.data[0].name.startswith("all (median")  # the estimate stays the first trace, its at-risk row next


def test_the_rates_by_week_caption_names_the_last_week_the_chart_draws():
    # Weeks 0-17 scored; from week 12 only 5 series are paired with a baseline, so their rates are hidden and the
    # axis ends at week 11 (40 paired, 20 responders, 8 remitters), while week 17's mean (15 scored) is still shown.
    # Intention to treat ends at week 6, over 300 series with a baseline.
    from ketamine_outcomes.metrics.marts import Cohort
    from ketamine_outcomes.disclosure import response_panels

    weeks = list(range(18))
    paired = [None] + [40] * 11 + [5] * 6
    weekly = pd.DataFrame({
        "week": weeks, "n_scored": [300] + [200] * 16 + [15], "mean_score": [19.0] + [12.0] * 17,
        "mean_ci_low": [18.0] + [11.0] * 17, "mean_ci_high": [20.0] + [13.0] * 17, "n_paired": paired,
        "mean_change": [None] + [-7.0] * 17, "responders": [None] + [20] * 11 + [3] * 6,
        "response_rate": [None] + [0.5] * 11 + [0.6] * 6, "remitters": [None] + [8] * 11 + [2] * 6,
        "remission_rate": [None] + [0.2] * 11 + [0.4] * 6})
    for column in ("response_rate", "remission_rate"):
        weekly[f"{column}_low"], weekly[f"{column}_high"] = weekly[column] - 0.1, weekly[column] + 0.1
    itt = pd.DataFrame({"week": range(7), "n_series": [300] * 7, "mean_score": [19.0] + [13.0] * 6,
                        "response_rate": [None] + [0.3] * 6, "remission_rate": [None] + [0.1] * 6})
    frames = {"weekly_outcomes": weekly, "weekly_outcomes_itt": itt}
    selection = panels.Selection("PHQ-9", Cohort(), panels.disclosure_for(11, False))
    panel = response_panels.rates_by_week(lambda mart, **_: frames[mart].copy(), selection)
    drawn = [x for trace in panel.figure.data if trace.y is not None
             for x, y in zip(trace.x, trace.y) if y is not None and y == y]
    assert max(drawn) == 11
    assert list(panel.figure.layout.xaxis.range) == [-0.5, 11.5]
    assert "week 11 rests on 40 of 300 series" in panel.data["followup"]
    assert "week 17" not in panel.data["followup"]


def test_weeks_cut_off_the_trajectory_axis_because_every_line_is_hidden_are_said_in_the_caption():
    """walk: the lines stopped at week 12 though series were scored to week 16, every line hidden there, and no
    sentence said so. Week 3 had nobody scored (n 0): not data cut off."""
    frame = pd.concat([weekly([0, 1, 2, 3], [18.0, 14.0, np.nan, np.nan]).assign(n_scored=[60, 50, None, 0], route="IV"),
                       weekly([0, 1, 2, 3], [19.0, np.nan, np.nan, np.nan]).assign(n_scored=[20, None, None, 0],
                                                                                  route="oral")])
    assert panels.axis_end_note(frame) == ("The axis ends at the last week with a mean shown (week 1): series were "
                                           "scored after it, up to week 2, but every line's value there is hidden "
                                           "(small-cell suppression).")
    assert panels.axis_end_note(frame[frame.week < 2]) == "The axis ends at the last week with a mean shown."


def test_each_split_lines_week_0_n_is_in_one_sentence_as_the_table_shows_it():
    """walk: on a phone only a couple of lines carried an n, one overlapping the y ticks. The n is the drawn
    (already suppressed) value: rounded, or "hidden"; a line's name is escaped."""
    drawn = pd.DataFrame({"route": ["IV", "IV", "*oral*", "IM"], "week": [0, 1, 0, 0], "n_scored": [340, 300, None, 15]})
    assert panels.baseline_n_note(drawn, "route", ["IV", "*oral*", "IM"]) == (
        "Series scored at baseline (week 0), line by line: IV 340; \\*oral\\* hidden; IM 15.")
    assert panels.baseline_n_note(drawn, "route", ["IV"]) == ""


def test_a_week_every_observed_line_hides_while_intention_to_treat_shows_reads_hidden_observed():
    bands = pd.DataFrame(columns=["band_min", "band_max", "band"])
    lines = {site: weekly([0, 1, 2], [18.0, np.nan, 12.0]).assign(n_scored=[60, None, 40]) for site in ("A", "B")}
    itt = weekly([0, 1, 2], [18.0, 15.0, 13.0])
    fig = figures.trajectory(lines, bands, "PHQ-9", 27, itt=itt)
    assert {a.x: a.text for a in fig.layout.annotations if a.text.startswith("hidden")} == {1: "hidden: observed"}
