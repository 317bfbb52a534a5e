"""Guards what a chart's hover and labels print: a rate rounded to whole percents (outside an analyst's
internal view) reads "46%", never "46.0%" as if it were exact, while an internal view's exact rate keeps its
tenth; the adjusted funnel's expected responders, ratios and limits are printed and drawn to the precision
docs/metrics.md ("Small cells", rule 4) gives them."""

import re

import numpy as np
import pandas as pd

from ketamine_outcomes.charts import figures
from ketamine_outcomes.definitions import NATIONAL_STANDARDS
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.metrics import casemix
from ketamine_outcomes.disclosure import suppress


def hover(trace, i: int) -> str:
    """The hover text of a trace's i-th point as Plotly prints it: %{x}, %{y:fmt}, %{customdata[k]:fmt} filled in.
    The d3 formats the charts use (".0%", ".1%", ",", ",.0f", ".2f") print as Python's do."""
    def value(name: str):
        if name == "x":
            return trace.x[i]
        if name == "y":
            return trace.y[i]
        row = trace.customdata[i]
        index = re.fullmatch(r"customdata\[(\d+)\]", name)
        return row[int(index.group(1))] if index else row

    def fill(match: re.Match) -> str:
        v = value(match.group(1))
        return format(v, match.group(2)) if match.group(2) else str(v)
    text = re.sub(r"<extra>.*?</extra>", "", trace.hovertemplate)
    return re.sub(r"%\{(x|y|customdata(?:\[\d+\])?)(?::([^}]*))?\}", fill, text)


def flags(rates: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"route": ["IV", "IM"], "n_rise_measured": [400, 300], "n_pre_measured": [400, 300],
                         "rise_rate": rates, "rise_rate_low": [r - 0.05 for r in rates],
                         "rise_rate_high": [r + 0.05 for r in rates], "pre_raised_rate": rates,
                         "pre_raised_rate_low": [r - 0.05 for r in rates],
                         "pre_raised_rate_high": [r + 0.05 for r in rates]})


SETTINGS = {"bp_peak_systolic": 180, "bp_rise_systolic": 40, "bp_rise_diastolic": 25, "bp_pre_systolic_above": 140,
            "bp_pre_diastolic_above": 90}


def test_a_rate_rounded_to_whole_percents_hovers_as_a_whole_percent():
    # 184 of 400 IV sessions rose (46.0%), 37 of 300 IM (12.33...%): under rounding the disclosure layer leaves them
    # 0.46 and 0.12, and the hover read "46.0%" and "12.0%" (walk: Safety, blood pressure around the dose).
    figure = figures.blood_pressure_flags(flags([0.46, 0.12]), SETTINGS, 11)
    rise = next(t for t in figure.data if t.type == "bar" and t.name.startswith("rise"))
    assert hover(rise, 0) == "IV: 46% of 400 sessions with both readings"
    assert hover(rise, 1) == "IM: 12% of 300 sessions with both readings"


def test_an_internal_views_exact_rate_keeps_its_tenth():
    figure = figures.blood_pressure_flags(flags([184 / 400, 37 / 300]), SETTINGS, 5)
    rise = next(t for t in figure.data if t.type == "bar" and t.name.startswith("rise"))
    assert hover(rise, 0) == "IV: 46.0% of 400 sessions with both readings"
    assert hover(rise, 1) == "IM: 12.3% of 300 sessions with both readings"


def test_every_rate_hover_of_the_safety_and_nhs_charts_reads_whole_percents_under_rounding():
    events = pd.DataFrame({"group_value": ["IV", "IV"], "event": ["nausea", "headache"], "event_rate": [0.05, 0.21],
                           "event_rate_low": [0.03, 0.18], "event_rate_high": [0.07, 0.24]})
    bars = figures.adverse_events(events, "route", 11).data[0]
    assert [hover(bars, i) for i in range(2)] == ["nausea: 5% of sessions", "headache: 21% of sessions"]
    peaks = pd.DataFrame({"route": ["IV"], "n_sessions": [400], "n_measured": [400], "n_high_peaks": [24],
                          "high_peak_rate": [0.06], "median_peak": [140.0], "max_peak": [190]})
    assert hover(figures.blood_pressure(peaks, SETTINGS, 11).data[0], 0) == \
        "IV: 6% of measured sessions, highest 190 mmHg"
    nhs = pd.Series({"recovery_rate": 0.46, "recovery_rate_low": 0.39, "recovery_rate_high": 0.53,
                     "reliable_improvement_rate": 0.6, "reliable_recovery_rate": 0.4,
                     "reliable_deterioration_rate": 0.03, "mcid_improvement_rate": 0.55})
    measures = figures.talking_therapies(nhs, NATIONAL_STANDARDS, 11).data[0]
    assert hover(measures, 0) == "recovery: 46% of the cases who finished a course"
    # The same rates exact (an internal view): a tenth where the rate has one.
    nhs["recovery_rate"] = 0.4567
    assert hover(figures.talking_therapies(nhs, NATIONAL_STANDARDS, 5).data[0], 0) == \
        "recovery: 45.7% of the cases who finished a course"


def adjusted() -> casemix.Adjusted:
    """Two sites: North 42 responders of 40.37 expected, South 30 of 36.8; overall rate 0.48."""
    groups = pd.DataFrame({"group": ["North", "South"], "n": [90, 80], "observed": [42, 30],
                           "expected": [40.37, 36.8], "ratio": [42 / 40.37, 30 / 36.8], "outside": ["", ""]})
    grid = pd.Series([10.0, 25.0, 40.0])
    curves = pd.DataFrame({"expected": grid, "centre": 1.0})
    for name, lower, upper in casemix._limits(grid, 0.48):
        curves[f"lower_{name}"], curves[f"upper_{name}"] = lower, upper
    return casemix.Adjusted(groups, curves, "", 170, 0.48, None)


def test_the_adjusted_funnel_outside_an_internal_view_draws_ratios_and_limits_to_two_decimals():
    shown = panels.adjusted_as_shown(adjusted(), suppress.Disclosure(11, 5))
    # The limits at 10 expected: 1 +/- 1.96 sqrt(0.52 / 10) = 0.553 and 1.447, drawn 0.55 and 1.45 (hundredths, as
    # the ratios and every rate), not 0.553 and 1.447.
    at_ten = shown.curves.iloc[0]
    assert (at_ten["lower_95%"], at_ten["upper_95%"]) == (0.55, 1.45)
    limits = shown.curves.drop(columns="expected").to_numpy().ravel()
    assert np.allclose(limits, np.round(limits, 2))
    figure = figures.adjusted_funnel(shown.groups, shown.curves, "site")
    points = next(t for t in figure.data if t.name == "site within limits")
    # North: 42 responders (rounded: 40) of 40.37 expected (rounded to 5: 40), ratio 1.04; never "40.0 expected".
    assert hover(points, list(points.customdata[:, 0]).index("North")) == \
        "North: 40 responders, 40 expected (ratio 1.04)<br>within the limits"


def test_the_adjusted_funnel_in_an_internal_view_keeps_its_exact_expected_count():
    exact = adjusted()
    figure = figures.adjusted_funnel(exact.groups, exact.curves, "site")
    points = next(t for t in figure.data if t.name == "site within limits")
    assert hover(points, list(points.customdata[:, 0]).index("North")) == \
        "North: 42 responders, 40.4 expected (ratio 1.04)<br>within the limits"


def test_both_control_limits_of_the_p_chart_hover_by_their_name():
    """walk (p-chart on a phone): the lower limit's hover read "(2024-Q3, 25%) trace 1"."""
    chart = pd.DataFrame({"period": ["2024-Q1", "2024-Q2"], "rate": [0.5, 0.55], "n": [40, 45], "centre": 0.52,
                          "upper": [0.77, 0.76], "lower": [0.27, 0.28], "signals": ["", ""]})
    figure = figures.p_chart(chart, "End-of-induction response by quarter", "quarter")
    assert [t.name for t in figure.data if t.legendgroup == "limits"] == ["control limits", "control limits"]


def test_a_long_legend_entry_and_x_axis_title_are_broken_to_fit_a_phone():
    """walk (390 px): "all: if every series lost to follow-up had lost its response" and "expected responders (from
    the case-mix model)" ran past the chart's right edge; Plotly wraps neither."""
    from ketamine_outcomes.charts import style

    curve = pd.DataFrame({"group_value": ["all"] * 3, "day": [0, 30, 106], "n_at_risk": [40, 20, 11],
                          "survival": [1.0, 0.8, 0.6], "survival_if_lost": [0.9, 0.6, 0.4],
                          "median_text": ["not reached"] * 3})
    figure = figures.for_screen(figures.survival_curve(curve, "survival", "t", "still responding", "days", "x"))
    bound = next(t for t in figure.data if t.name and "lost to follow-up" in t.name)
    lines = bound.name.split("<br>")
    assert " ".join(lines) == "all: if every series lost to follow-up had lost its response" and len(lines) == 2
    assert all(style.text_width(line, 14) <= style.NARROWEST - style.LEGEND_SYMBOL for line in lines)
    exact = adjusted()
    funnel = figures.for_screen(figures.adjusted_funnel(exact.groups, exact.curves, "site"))
    assert funnel.layout.xaxis.title.text == "expected responders (from<br>the case-mix model)"
    short = figures.for_screen(figures.p_chart(pd.DataFrame({
        "period": ["2024-Q1"], "rate": [0.5], "n": [40], "centre": 0.5, "upper": [0.7], "lower": [0.3],
        "signals": [""]}), "t", "quarter"))
    assert short.layout.xaxis.title.text == "quarter the series started"  # fits: one line


def test_dissociation_prints_at_most_six_n_labels_and_item_9_names_on_two_lines():
    """walk (390 px): twelve sessions' "n=..." labels ran into one another ("n=120n=105"), and the item 9 chart's
    three turned names left its plot about 90 px high. Every session's n stays in its hover."""
    sessions = pd.DataFrame({"group_value": ["all"] * 12, "session_number": range(1, 13),
                             "mean_score": [13.0 - 0.5 * k for k in range(12)], "mean_ci_low": 10.0,
                             "mean_ci_high": 15.0, "n_sessions": [210 - 15 * k for k in range(12)]})
    figure = figures.dissociation(sessions)
    assert [a.text for a in figure.layout.annotations] == ["n=210", "n=180", "n=150", "n=120", "n=90", "n=60"]
    assert list(figure.data[0].customdata) == [210 - 15 * k for k in range(12)]
    course = pd.DataFrame({"group_value": ["all"] * 3, "measure": list(figures.ITEM9_MEASURES),
                           "measure_rate": [0.9, 0.05, 0.02], "measure_rate_low": [0.8, 0.02, 0.01],
                           "measure_rate_high": [0.95, 0.1, 0.05], "n_series": [15, 420, 420]})
    item9 = figures.item9_course(course, 11)
    assert list(item9.layout.xaxis.ticktext) == ["item 9<br>resolved to 0", "item 9 emerged<br>(from 0)",
                                                 "reliable<br>deterioration (PHQ-9)"]
    assert list(item9.data[0].x) == list(figures.ITEM9_MEASURES.values())  # the categories themselves unchanged
