"""Guards small-cell suppression: counts from 1 to min_cell - 1 never show, nor any rate, interval or
mean built on them; zero and larger counts show; 0 turns suppression off."""

import pandas as pd
import pytest

from ketamine_outcomes.disclosure import suppress

WEEKLY = pd.DataFrame({
    "week": [1, 2, 3],
    "n_scored": [40, 12, 0],
    "mean_score": [12.5, 10.0, None],
    "n_paired": [30, 8, 0],
    "responders": [15, 4, 0],
    "response_rate": [0.5, 0.5, None],
    "response_rate_low": [0.33, 0.2, None],
    "remitters": [0, 0, 0],
    "remission_rate": [0.0, 0.0, None],
})


def test_counts_1_to_10_and_rates_built_on_them_are_hidden():
    shown = suppress.for_chart(WEEKLY, "weekly_outcomes", 11)
    assert shown.response_rate[0] == 0.5 and pd.isna(shown.response_rate[1])
    assert pd.isna(shown.n_paired[1]) and pd.isna(shown.responders[1])
    assert shown.n_scored[1] == 12 and shown.mean_score[1] == 10.0
    assert shown.remitters[0] == 0 and shown.remission_rate[0] == 0.0  # zero may be shown
    assert shown.response_rate[0] == 0.5


def test_a_table_shows_hidden_and_never_the_count():
    table = suppress.for_table(WEEKLY, "weekly_outcomes", 11)
    assert table.n_paired.tolist() == ["30", "hidden", "0"]
    assert table.responders.tolist() == ["15", "hidden", "0"]
    assert table.response_rate.tolist() == ["50.0%", "", ""]
    for column in ("n_scored", "n_paired", "responders", "remitters"):
        assert not any(value in {str(n) for n in range(1, 11)} for value in table[column])


def test_threshold_zero_turns_suppression_off():
    table = suppress.for_table(WEEKLY, "weekly_outcomes", 0)
    assert table.n_paired.tolist() == ["30", "8", "0"]


def test_count_text():
    assert [suppress.count_text(n, 11) for n in (0, 1, 10, 11, 1234)] == ["0", "hidden", "hidden", "11", "1,234"]


def test_a_numerator_is_hidden_when_the_denominator_minus_it_is_small():
    # 45 of 50 responded: showing 45 and 50 would give the 5 who did not.
    frame = pd.DataFrame({"group_value": ["a", "b"], "n_series": [90, 90], "n_evaluable": [70, 70],
                          "n_scored": [50, 50], "responders": [45, 30], "remitters": [20, 50],
                          "response_rate": [0.9, 0.6], "remission_rate": [0.4, 1.0]})
    shown = suppress.for_chart(frame, "cohort_comparison", 11)
    assert pd.isna(shown.responders[0]) and pd.isna(shown.response_rate[0])
    assert shown.responders[1] == 30 and shown.response_rate[1] == 0.6
    assert shown.remission_rate[1] == 1.0  # 50 of 50: nobody is left to single out
    assert suppress.for_table(frame, "cohort_comparison", 11).responders.tolist() == ["hidden", "30"]


def test_a_single_hidden_period_takes_the_smallest_shown_one_with_it():
    # The total (24 + 8 + 30 + 25 = 87) is shown elsewhere: with only 8 hidden, 87 - 79 would give it.
    frame = pd.DataFrame({"group_value": ["Q1", "Q2", "Q3", "Q4"], "n_scored": [24, 8, 30, 25],
                          "responders": [12, 4, 15, 12]})
    hidden = suppress.hidden_cells(frame, "cohort_comparison", 11, "responders", "n_scored")
    assert hidden.tolist() == [True, True, False, False]
    two = frame.assign(n_scored=[24, 8, 5, 25], responders=[12, 4, 0, 12])
    assert suppress.hidden_cells(two, "cohort_comparison", 11, "responders", "n_scored").tolist() == [
        False, True, True, False]
    assert not suppress.hidden_cells(frame, "cohort_comparison", 0, "responders", "n_scored").any()


def test_a_kaplan_meier_curve_stops_where_fewer_than_min_cell_are_at_risk_and_hides_a_median_past_it():
    # A: 11 of 30 lose response on day 5 (a step), then 3 and 4 more (never 11): cut after day 5. Its median
    # (day 14) rests on the hidden tail. B: 11 of 22 on day 3, its median, shown.
    curve = pd.DataFrame({"group_value": ["A", "A", "A", "B", "B"], "day": [5, 9, 14, 3, 8],
                          "n_at_risk": [30, 19, 8, 22, 11], "n_events": [11, 3, 4, 11, 4], "n_censored": [0, 8, 4, 0, 7],
                          "survival": [19 / 30, 16 / 30, 8 / 30, 0.5, 0.5 * 7 / 11], "median_days": [14, 14, 14, 3, 3]})
    cut = suppress.survival_curve(curve, 11)
    assert cut[["group_value", "day"]].values.tolist() == [["A", 5], ["B", 3]]
    assert cut.median_days.isna().tolist() == [True, False]
    assert cut.median_hidden.tolist() == [True, False]  # reached past the cut: not "not reached"
    assert suppress.survival_curve(curve, 0).drop(columns="median_hidden").equals(curve)  # 0: suppression off


def test_groups_that_add_up_to_a_shown_total_hide_the_smallest_other_group_column_by_column():
    # Clinicians as in the sample clinic: L02 has 1 series scored (hidden); the total, 245, is on the Overview,
    # so 245 - 92 - 74 - 78 would give it: the smallest other group (N01, 74) is hidden too, and for remitters
    # (L02's 1 hidden) the smallest other remitter count (R01, 15). Groups with nothing scored give nothing away.
    frame = pd.DataFrame({"group_value": ["L01", "L02", "L03", "N01", "R01"], "n_series": [183, 6, 6, 185, 188],
                          "n_scored": [92, 1, 0, 74, 78], "responders": [43, 1, 0, 41, 44],
                          "remitters": [20, 1, 0, 16, 15]})
    table = suppress.for_table(frame, "cohort_comparison", 11, rows_add_up=True)
    assert table.n_scored.tolist() == ["92", "hidden", "0", "hidden", "78"]
    assert table.responders.tolist() == ["43", "hidden", "0", "hidden", "44"]
    assert table.remitters.tolist() == ["20", "hidden", "0", "16", "hidden"]
    assert table.n_series.tolist() == ["183", "hidden", "hidden", "185", "188"]  # two hidden: their sum gives neither
    # The funnel hides the same groups as the table's scored column: its k and n together.
    funnel = suppress.hidden_cells(frame, "cohort_comparison", 11, "responders", "n_scored")
    assert frame.group_value[funnel].tolist() == ["L02", "N01"]
    assert suppress.for_table(frame, "cohort_comparison", 11).n_scored.tolist() == ["92", "hidden", "0", "74", "78"]


def test_a_count_hidden_for_a_small_difference_reads_hidden_as_a_small_one_does():
    # Northside IV: 27 of 34 cases reliably improved (34 - 27 = 7 not improved, small), 15 reliably recovered,
    # 1 reliably deteriorated (small). One word for both: a reader cannot tell the small one from the other.
    nhs = pd.DataFrame({"n_paired": [34], "n_cases": [34], "n_reliably_improved": [27], "n_reliably_recovered": [15],
                        "n_reliably_deteriorated": [1], "reliable_improvement_rate": [27 / 34],
                        "reliable_recovery_rate": [15 / 34], "reliable_deterioration_rate": [1 / 34]})
    table = suppress.for_table(nhs, "talking_therapies", 11).iloc[0]
    assert (table.reliable_improvement_rate, table.reliable_recovery_rate) == ("", "44.1%")
    assert (table.n_reliably_improved, table.n_reliably_recovered, table.n_reliably_deteriorated) == (
        "hidden", "15", "hidden")


def test_a_kaplan_meier_median_not_reached_stays_not_reached_after_the_cut():
    # The mart gives a median never reached as NA (a nullable column): it is "not reached", not "hidden".
    curve = pd.DataFrame({"group_value": ["A", "A"], "day": [0, 7], "n_at_risk": [31, 14], "n_events": [0, 0],
                          "n_censored": [17, 14], "survival": [1.0, 1.0],
                          "median_days": pd.array([None, None], dtype="Int32")})
    cut = suppress.survival_curve(curve, 11)
    assert cut.median_hidden.tolist() == [False, False] and cut.median_hidden.dtype == bool


def test_a_kaplan_meier_group_cut_back_to_day_0_is_hidden_whole():
    # B has 29 at risk at day 0 (11 censored there) but only 7 losses by its next day: its shown curve would be
    # one point, no step, and its median (day 10) "past the shown curve" of nothing. It goes, as a group too small
    # to show does.
    curve = pd.DataFrame({"group_value": ["A", "A", "B", "B"], "day": [0, 10, 0, 10], "n_at_risk": [30, 19, 29, 18],
                          "n_events": [0, 19, 0, 7], "n_censored": [11, 0, 11, 11],
                          "survival": [1.0, 0.0, 1.0, 11 / 18], "median_days": [10, 10, 144, 144]})
    cut = suppress.survival_curve(curve, 11)
    assert cut[["group_value", "day"]].values.tolist() == [["A", 0], ["A", 10]]


def test_a_severity_cross_table_hides_a_second_cell_in_each_row_and_column_a_total_would_give():
    # Baseline band (rows) by end band (columns). Each row total (series starting in a band), each column total
    # (ending in a band: the minimal column is the remitters) and the whole are shown elsewhere. Only 5 is small:
    # its row would give it (55 - 30 - 20), so 20 goes; then the mild column would give 20 (95 - 40 - 35), so 35;
    # the moderate column would give 5 (70 - 50 - 15), so 15; then the mod-severe row gives 15 (80 - 25 - 40), so
    # 25; the severe row gives 35 (97 - 12 - 50), so 12. Every row and column then has two hidden cells.
    bands = ["minimal", "mild", "moderate"]
    frame = pd.DataFrame({
        "baseline_band": ["moderate"] * 3 + ["moderately severe"] * 3 + ["severe"] * 3,
        "baseline_band_min": [10] * 3 + [15] * 3 + [20] * 3,
        "end_band": bands * 3, "end_band_min": [0, 5, 10] * 3,
        "n_series": [30, 20, 5, 25, 40, 15, 12, 35, 50],
    })
    table = suppress.for_table(frame, "severity_transitions", 11)
    assert table.n_series.tolist() == ["30", "hidden", "hidden", "hidden", "40", "hidden", "hidden", "hidden", "50"]
    shown = suppress.for_chart(frame, "severity_transitions", 11)
    assert shown.n_series.dropna().tolist() == [30, 40, 50]
    assert suppress.for_table(frame, "severity_transitions", 0).n_series.tolist()[2] == "5"  # 0: suppression off
    # Nothing small, nothing hidden.
    assert suppress.for_chart(frame.assign(n_series=[30, 20, 11, 25, 40, 15, 12, 35, 50]), "severity_transitions",
                              11).n_series.notna().all()
    # A row whose only cell is small has no other cell for its row total to give; its column would (34 - 30), so
    # 30 goes, and then 30's row would give it (70 - 40): 40 goes too.
    lone = pd.DataFrame({"baseline_band": ["mild", "severe", "severe"], "end_band": ["minimal", "minimal", "mild"],
                         "n_series": [4, 30, 40]})
    assert suppress.for_table(lone, "severity_transitions", 11).n_series.tolist() == ["hidden", "hidden", "hidden"]


# One group's Kaplan-Meier rows as the marts give them (the at-risk counts of a hand computation: 60 followed,
# 12 censored on day 0, then 6, 6 + 2 censored, 3 + 9 censored, 11, 4 + 2 censored, 1 + 4 censored).
KM = pd.DataFrame({"group_value": ["all"] * 7, "day": [0, 7, 14, 21, 28, 35, 42],
                   "n_at_risk": [60, 48, 42, 34, 22, 11, 5], "n_events": [0, 6, 6, 3, 11, 4, 1],
                   "n_censored": [12, 0, 2, 9, 0, 2, 4],
                   "survival": [1.0, 0.875, 0.75, 0.75 * 31 / 34, 0.75 * 31 / 34 / 2, 0.75 * 31 / 34 / 2 * 7 / 11,
                                0.75 * 31 / 34 / 2 * 7 / 11 * 4 / 5],
                   "median_days": [28] * 7})


def test_a_kaplan_meier_step_holds_at_least_min_cell_events_and_at_risk_falls_by_none_or_min_cell_at_a_time():
    # Shown as it was, day 7 (48 at risk, survival 0.875) would give its 6 losses, and 48 - 42 the 6 who left.
    # Instead the events of days 7-21 (15) and their censored (11) make one step on day 21 (48 at risk:
    # 1 - 15/48 = 0.6875), day 28 (11 of 22) another; days 35-42 (5 events) never reach 11 and are cut.
    cut = suppress.survival_curve(KM, 11)
    assert cut.day.tolist() == [0, 21, 28] and cut.n_at_risk.tolist() == [60, 48, 22]
    assert cut.n_events.tolist() == [0, 15, 11] and cut.n_censored.tolist() == [12, 11, 0]
    assert cut.survival.tolist() == pytest.approx([1.0, 0.6875, 0.34375])
    assert cut.median_days.tolist() == [28] * 3 and not cut.median_hidden.any()
    # What a reader can work out: every difference of two numbers at risk, every step's events, and what a last
    # step leaves at risk are none or at least 11.
    derived = [*(-cut.n_at_risk.diff().dropna()), *cut.n_events, cut.n_at_risk.iloc[-1] - cut.n_events.iloc[-1]]
    assert all(v == 0 or v >= 11 for v in derived)
    # The time to response curve is the same estimate read upwards.
    first = KM.drop(columns="survival").assign(share_responded=1 - KM.survival)
    assert suppress.survival_curve(first, 11).share_responded.tolist() == pytest.approx([0.0, 0.3125, 0.65625])
    assert suppress.survival_curve(KM, 0).drop(columns="median_hidden").equals(KM)  # 0: suppression off


def test_time_to_response_under_suppression_keeps_dropouts_competing():
    # 60 series: day 0 12 dropouts; day 7 11 responses and 5 dropouts; day 14 6 more dropouts (11 with day 7's);
    # day 21 12 responses, 14 censored. Steps: day 0 (12 dropped: shown), day 14 (11 responses, 11 dropouts:
    # day 7's 5 dropouts wait for day 14's), day 21. Aalen-Johansen by hand: day 0 neither 48/60 = 0.8; day 14:
    # responded 0.8 x 11/48 = 0.18333, neither 0.8 x 26/48; day 21: + 0.8 x 26/48 x 12/26 = 0.2 -> 0.38333.
    curve = pd.DataFrame({"group_value": ["all"] * 4, "day": [0, 7, 14, 21], "n_at_risk": [60, 48, 32, 26],
                          "n_events": [0, 11, 0, 12], "n_dropped": [12, 5, 6, 0], "n_censored": [0, 0, 0, 14],
                          "share_responded": [0.0, 0.8 * 11 / 48, 0.8 * 11 / 48, 0.8 * 11 / 48 + 0.8 * 32 / 48 * 12 / 26],
                          "median_days": [None] * 4})
    cut = suppress.survival_curve(curve, 11)
    assert cut[["day", "n_at_risk", "n_events", "n_dropped", "n_censored"]].values.tolist() == [
        [0, 60, 0, 12, 0], [14, 48, 11, 11, 0], [21, 26, 12, 0, 14]]
    assert cut.share_responded.tolist() == pytest.approx([0.0, 0.8 * 11 / 48, 0.8 * 11 / 48 + 0.8 * 26 / 48 * 12 / 26])
    # 1 - Kaplan-Meier with the dropouts censored would read 1 - (37/48) x (14/26) = 0.585 at day 21.
    assert cut.share_responded.iloc[-1] == pytest.approx(0.38333, abs=1e-5)


def test_kaplan_meier_groups_that_add_up_to_all_series_hide_the_smallest_other_when_one_is_small():
    # By route: IV is the curve above (60 series), IM has 8 (small, hidden), oral 30: the "all series" curve's
    # 98 minus 60 would give IM's 8, so oral goes too, its n reading "hidden".
    oral = KM.assign(group_value="oral", n_at_risk=KM.n_at_risk // 2)
    im = pd.DataFrame({"group_value": ["IM"], "day": [14], "n_at_risk": [8], "n_events": [8], "n_censored": [0],
                       "survival": [0.0], "median_days": [14]})
    curve = pd.concat([KM.assign(group_value="IV"), im, oral], ignore_index=True)
    assert suppress.survival_curve(curve, 11).group_value.unique().tolist() == ["IV"]
    assert suppress.survival_groups(curve, 11) == {"IV": "60", "IM": "hidden", "oral": "hidden"}
    assert suppress.survival_groups(curve, 0) == {"IV": "60", "IM": "8", "oral": "30"}


def test_cadss_routes_add_up_to_each_session_numbers_all_row_and_item9_groups_to_each_measures():
    # The sample clinic's CADSS by route, sessions 7 and 8: IM 7 and 5 (small). "All series" shows 52 and 42 on
    # those sessions, so 52 - 23 - 22 would give IM's 7: intranasal (22, the smallest other) goes too, session by
    # session; session 1 has nothing small and stays whole.
    cadss = pd.DataFrame({"group_value": ["IM", "IV", "intranasal"] * 3, "session_number": [1] * 3 + [7] * 3 + [8] * 3,
                          "n_sessions": [35, 114, 44, 7, 23, 22, 5, 16, 21],
                          "mean_score": [20.0, 18.0, 25.0, 15.0, 14.0, 19.0, 12.0, 13.0, 18.0]})
    table = suppress.for_table(cadss, "dissociation", 11)
    assert table.n_sessions.tolist() == ["35", "114", "44", "hidden", "23", "hidden", "hidden", "hidden", "21"]
    assert suppress.for_chart(cadss, "dissociation", 11).mean_score.isna().tolist() == [False] * 3 + [
        True, False, True, True, True, False]
    # Item 9 by site: emergence met by 13 of 132 at Northside, 9 (small) of 133 at Riverside, 15 of 152 at Lakeview;
    # resolution counted apart (its own "all series" row).
    item9 = pd.DataFrame({"group_value": ["Lakeview", "Northside", "Riverside"] * 2,
                          "measure": ["item9_emergent"] * 3 + ["item9_resolved"] * 3,
                          "n_series": [152, 132, 133, 30, 40, 50], "n_meeting": [15, 13, 9, 12, 20, 25]})
    table = suppress.for_table(item9, "item9_course", 11)
    assert table.n_meeting.tolist() == ["15", "hidden", "hidden", "12", "20", "25"]


def test_attrition_hides_a_session_whose_fall_from_the_last_one_shown_is_small():
    # 40 series (the Overview shows it); reaching sessions 1-6: 38, 36, 30, 25, 12, 10. Shares of 40 side by side
    # would give the 2, 2 and 6 who stopped: sessions 1-3 go (40 - 30 = 10 is still small), session 4 (15 fewer
    # than 40) and 5 (13 fewer than 25) show, session 6 (10 series) is small.
    n = [38, 36, 30, 25, 12, 10]
    frame = pd.DataFrame({"stage": ["session"] * 6 + ["induction"], "step": [1, 2, 3, 4, 5, 6, 1],
                          "n_series": [*n, 24], "share_of_started": [v / 40 for v in [*n, 24]]})
    shown = suppress.attrition(frame, 11)
    assert shown.share_of_started.tolist()[:6] == pytest.approx([float("nan")] * 3 + [0.625, 0.3, float("nan")],
                                                               nan_ok=True)
    assert suppress.attrition(frame, 0).share_of_started.tolist() == frame.share_of_started.tolist()


def test_nested_totals_hide_one_of_two_whose_difference_is_a_small_status():
    # The sample clinic's sites: 195 series, 191 evaluable (4 not reached: small), 93 scored. The series are the
    # Durability curves' n too, so the evaluable read "hidden", with the ITT rates; the observed ones stay.
    # Beside 100 evaluable, 95 scored would give 5 with no score: the evaluable and the ITT rates go again.
    frame = pd.DataFrame({"group_value": ["Lakeview", "Other"], "n_series": [195, 130], "n_evaluable": [191, 100],
                          "n_scored": [93, 95], "responders": [44, 50], "remitters": [21, 30],
                          "itt_response_rate": [44 / 191, 0.5], "response_rate": [44 / 93, 50 / 95]})
    table = suppress.for_table(frame, "cohort_comparison", 11)
    assert table.n_series.tolist() == ["195", "130"] and table.n_evaluable.tolist() == ["hidden", "hidden"]
    assert table.itt_response_rate.tolist() == ["", ""] and table.response_rate.tolist() == ["47.3%", "52.6%"]
    assert table.n_scored.tolist() == ["93", "95"]
    # A count beside a small (hidden) one gives no difference away: 0 responders of 6 series stays 0.
    few = pd.DataFrame({"n_series": [6], "n_evaluable": [6], "n_scored": [0], "responders": [0], "remitters": [0]})
    assert suppress.for_table(few, "cohort_comparison", 11).responders.tolist() == ["0"]


def test_a_kaplan_meier_median_inside_a_merged_step_is_given_as_the_days_of_that_step():
    # The walk: a tile said "149 days" where the curve crossed half somewhere between day 11 and day 149. Here
    # the step shown on day 28 merges days 22-28: which of them took the curve past half is not shown.
    assert suppress.median_text(suppress.survival_curve(KM, 11)) == "22-28 days"
    assert suppress.median_text(suppress.survival_curve(KM, 0)) == "28 days"  # suppression off: the day itself


def test_the_sustained_response_bound_is_recomputed_on_the_shown_steps_and_follow_up_is_told_in_counts():
    # KM above with its bound: every censored series counted as lost. Shown steps (days 0, 21, 28): at risk 60,
    # 48, 22; leaving 12, 26, 11: bound 48/60 = 0.8, then 0.8 x 22/48, then 0.8 x 22/48 x 11/22.
    curve = KM.assign(survival_if_lost=0.0, n_responders=60, n_followed_up=48)
    cut = suppress.survival_curve(curve, 11)
    assert cut.survival_if_lost.tolist() == pytest.approx([0.8, 0.8 * 22 / 48, 0.8 * 22 / 48 * 11 / 22])
    assert suppress.followed_up_text(curve, "all", 11) == "48 of 60 responders have a later score"
    # 12 without a later score is fine; 5 without would give the 5 away: the followed-up count is hidden.
    assert suppress.followed_up_text(curve.assign(n_followed_up=55), "all", 11) == \
        "hidden of 60 responders have a later score"
