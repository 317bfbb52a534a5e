"""Guards the quality-review statistics: p-chart limits and each NHS Making Data Count special-cause
rule at its boundary, and funnel-plot limits (Spiegelhalter 2005), on numbers worked by hand."""

import pandas as pd

from ketamine_outcomes.metrics import quality
from ketamine_outcomes.disclosure import panels, suppress


def chart(ks, n=100):
    frame = pd.DataFrame({"month": [f"2025-{i:02d}" if i < 100 else str(i) for i in range(1, len(ks) + 1)],
                          "k": ks, "n": [n] * len(ks)})
    return quality.p_chart(frame, "month", "k", "n")


def test_limits_are_three_standard_errors_around_the_mean():
    result = chart([50] * 9 + [80])
    # p_bar = 530 / 1000 = 0.53; 3 * sqrt(0.53 * 0.47 / 100) = 0.1497.
    assert round(result.centre[0], 4) == 0.53
    assert round(result.upper[0], 4) == round(0.53 + 3 * (0.53 * 0.47 / 100) ** 0.5, 4) == 0.6797
    assert "outside limits" in result.signals[9]
    assert "outside limits" not in result.signals[8]


def test_seven_in_a_row_on_one_side_is_a_signal_and_six_is_not():
    seven = chart([40] * 7 + [60] * 7)
    assert all("run of 7 on one side" in s for s in seven.signals)
    six = chart([40] * 6 + [60] * 6 + [50])
    assert not any("run of 7" in s for s in six.signals)


def test_seven_steadily_rising_is_a_signal_and_six_is_not():
    rising = chart([44, 46, 48, 50, 52, 54, 56])
    assert all("trend of 7" in s for s in rising.signals)
    six = chart([44, 46, 48, 50, 52, 54, 50])
    assert not any("trend" in s for s in six.signals)


def test_two_of_three_beyond_two_thirds_of_the_way_to_a_limit():
    # n = 400: p_bar = 2660 / 5200 = 0.5115, 2 SE = 0.0500, 3 SE = 0.0750; 230/400 = 0.575 lies between.
    result = chart([200] * 10 + [230, 200, 230], n=400)
    assert "2 of 3 near a limit" in result.signals[10] and "2 of 3 near a limit" in result.signals[12]
    assert "2 of 3" not in result.signals[11]
    assert "outside limits" not in result.signals[10]


def test_months_without_evaluable_series_are_left_out():
    frame = pd.DataFrame({"month": ["a", "b", "c"], "k": [5, 0, 7], "n": [10, 0, 10]})
    assert quality.p_chart(frame, "month", "k", "n").period.tolist() == ["a", "c"]


def test_funnel_flags_units_outside_95_and_99_8_percent_limits():
    frame = pd.DataFrame({"site": ["A", "B", "C"], "k": [50, 10, 60], "n": [100, 100, 100]})
    units, curves = quality.funnel(frame, "site", "k", "n")
    # p = 0.4; at n = 100 the 95% limits are 0.4 +/- 0.096, the 99.8% limits 0.4 +/- 0.151.
    assert units.set_index("group").outside.to_dict() == {"A": "above 95%", "B": "below 99.8%", "C": "above 99.8%"}
    at_100 = curves[curves.n == 100].iloc[0]
    assert round(at_100["upper_95%"], 3) == 0.496 and round(at_100["lower_99.8%"], 3) == 0.249
    assert (curves.centre == 0.4).all()


def test_hidden_periods_draw_nothing_their_n_can_be_solved_from():
    # 2024-03 has 9 series scored (the example: a lower limit of 8.6% gave n = 9 exactly).
    frame = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"],
                          "k": [12, 15, 9, 20, 14], "n": [25, 30, 9, 40, 28]})
    counts = frame.rename(columns={"k": "responders", "n": "n_scored"})
    # Under rounding only 2024-03 goes: the total scored, shown rounded, minus the shown months leaves it only give
    # or take a few. With exact counts (an internal view) the total would give it: 2024-01 goes with it.
    rounded = suppress.hidden_cells(counts, "cohort_comparison", 11, "responders", "n_scored")
    assert rounded.tolist() == [False, False, True, False, False]
    hidden = suppress.hidden_cells(counts, "cohort_comparison", suppress.Disclosure(11, 1), "responders", "n_scored")
    assert hidden.tolist() == [True, False, True, False, False]
    result = quality.p_chart(frame, "month", "k", "n", hidden)
    gone = result[result.hidden]
    assert gone.period.tolist() == ["2024-01", "2024-03"]
    assert gone[["k", "n", "rate", "lower", "upper", "inner_lower", "inner_upper"]].isna().all().all()
    assert (gone.signals == "").all()
    # The centre line is the shown periods' rate: (15 + 20 + 14) / (30 + 40 + 28) = 0.5.
    assert result.centre.unique().tolist() == [0.5]
    # Solving p +/- 3 sqrt(p (1 - p) / n) for n gives back only the shown periods' n.
    drawn = result[result.upper.notna() & (result.upper < 1)]
    solved = sorted(round(9 * 0.25 / (u - 0.5) ** 2) for u in drawn.upper)
    assert solved == sorted(frame.n[~hidden]) == [28, 30, 40]


def test_funnel_leaves_hidden_groups_out_of_points_and_limits():
    frame = pd.DataFrame({"site": ["a", "b", "c", "d"], "k": [20, 5, 30, 12], "n": [40, 8, 60, 30]})
    hidden = pd.Series([False, True, False, True])
    units, curves = quality.funnel(frame, "site", "k", "n", hidden=hidden)
    assert units.group.tolist() == ["a", "c"]
    assert curves.centre.unique().tolist() == [0.5]  # (20 + 30) / (40 + 60), not counting b or d


def test_months_when_most_months_can_be_shown_else_quarters():
    def months(pairs):
        return pd.DataFrame({"group_value": [f"2025-{i:02d}" for i in range(1, len(pairs) + 1)],
                             "n_scored": [n for n, _ in pairs], "responders": [k for _, k in pairs]})

    # 12 scored, 6 responded: hidden; 4 of 5 months shown.
    assert panels.choose_grain(months([(30, 15), (40, 20), (35, 17), (50, 25), (12, 6)]), 11) == "month"
    # 13 scored but 7 not responding is hidden too: 1 of 3 shown.
    assert panels.choose_grain(months([(30, 15), (12, 6), (13, 6)]), 11) == "quarter"
    # Half is not most: 2 of 4 shown.
    assert panels.choose_grain(months([(30, 15), (40, 20), (8, 4), (12, 6)]), 11) == "quarter"


def test_no_signal_is_called_common_cause_unless_two_periods_are_shown_to_compare():
    frame = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03"], "k": [12, 15, 14], "n": [25, 30, 28]})
    every = quality.p_chart(frame, "month", "k", "n")
    # The wording is the point: "common cause" only when periods are shown to compare; else "cannot be judged".
    assert quality.no_signal_sentence(every, "month") == ("None: the variation from month to month is what chance "
                                                          "alone would give (common cause).")
    none = quality.p_chart(frame, "month", "k", "n", pd.Series([True, True, True]))
    assert quality.no_signal_sentence(none, "month") == ("No signal can be judged: no month has enough series to "
                                                         "show (small-cell suppression).")
    one = quality.p_chart(frame, "month", "k", "n", pd.Series([True, False, True]))
    assert quality.no_signal_sentence(one, "month").startswith("No signal can be judged: only one month")


def test_a_period_still_being_scored_keeps_its_rate_but_is_left_out_of_the_centre_limits_and_rules():
    # 2024-04 is still open: 20 of its 40 scored so far responded. The centre is the closed months' (15 + 14) / (30 + 28).
    frame = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03", "2024-04"], "k": [15, 14, 12, 36],
                          "n": [30, 28, 25, 40], "n_series": [30, 28, 25, 60], "n_evaluable": [30, 28, 25, 41]})
    still_open = quality.open_periods(frame)
    assert still_open.tolist() == [False, False, False, True]
    result = quality.p_chart(frame, "month", "k", "n", still_open=still_open)
    assert result.centre.unique().tolist() == [41 / 83]
    last = result.iloc[3]
    assert bool(last.still_open) and last.rate == 0.9 and last.signals == ""
    assert pd.isna(last.upper) and pd.isna(last.lower)  # 0.9 would be far outside: no limits, no rule
    assert not result.still_open[:3].any() and result.upper[:3].notna().all()
    assert quality.no_signal_sentence(quality.p_chart(frame.iloc[[0, 3]], "month", "k", "n",
                                                      still_open=still_open.iloc[[0, 3]]), "month").startswith(
        "No signal can be judged: only one month")
