"""Guards small-cell suppression (docs/metrics.md, "Small cells"): counts from 1 to min_cell - 1 never show,
nor any rate, interval or mean built on them; every other count is rounded to the nearest 5; a rate is hidden
when its numerator or complement is small; complementary suppression only where counts are exact (an
internal view); curves follow the estimate. 0 turns suppression off."""

import pandas as pd
import pytest

from conftest import numbers_in
from ketamine_outcomes.disclosure import suppress

EXACT = suppress.Disclosure(11, round_to=1)  # an analyst's internal view with a threshold: exact counts

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
    assert shown.n_scored[1] == 15 and shown.mean_score[1] == 10.0  # 12 reads 15; the mean of 12 is kept
    assert shown.remitters[0] == 0 and shown.remission_rate[0] == 0.0  # zero may be shown
    assert shown.n_scored[0] == 40 and shown.responders[0] == 15


def test_a_table_shows_hidden_and_never_the_count():
    table = suppress.for_table(WEEKLY, "weekly_outcomes", 11)
    assert table.n_paired.tolist() == ["30", "hidden", "0"]
    assert table.responders.tolist() == ["15", "hidden", "0"]
    assert table.response_rate.tolist() == ["50%", "hidden", ""]  # withheld reads hidden; of 0 paired, blank
    for column in ("n_scored", "n_paired", "responders", "remitters"):
        assert not any(value in {str(n) for n in range(1, 10)} for value in table[column])


def test_zero_responders_beside_a_hidden_number_paired_is_hidden_too():
    # Week 2: 12 scored (shown, 15), 8 paired (hidden), 0 responders, 0 remitters. "0 of a hidden 8 responded" is a 0%
    # rate of a group of 1-10: the zeros built on the hidden 8 read hidden; week 3's zeros (of 0 paired) stay.
    weekly = WEEKLY.assign(responders=[15, 0, 0], response_rate=[0.5, 0.0, None], response_rate_low=[0.33, 0.0, None])
    for rule in (11, EXACT):
        shown = suppress.for_chart(weekly, "weekly_outcomes", rule)
        assert pd.isna(shown.responders[1]) and pd.isna(shown.remitters[1]) and pd.isna(shown.response_rate[1])
        assert shown.responders[2] == 0 and shown.remitters[2] == 0 and shown.remitters[0] == 0
        table = suppress.for_table(weekly, "weekly_outcomes", rule)
        assert table.responders.tolist() == ["15", "hidden", "0"]
        assert table.remitters.tolist() == ["0", "hidden", "0"]
        assert table.response_rate.tolist()[1:] == ["hidden", ""]  # withheld; of 0 paired
    # 7 scored (hidden), 0 of them paired, 0 responders: "0 paired" says none of the 7 had a baseline, and the 0
    # responders sit on that hidden 0 in turn.
    none_paired = pd.DataFrame({"week": [4], "n_scored": [7], "n_paired": [0], "responders": [0], "remitters": [0]})
    table = suppress.for_table(none_paired, "weekly_outcomes", 11)
    assert table.iloc[0][["n_scored", "n_paired", "responders", "remitters"]].tolist() == ["hidden"] * 4


def test_threshold_zero_turns_suppression_off():
    table = suppress.for_table(WEEKLY, "weekly_outcomes", 0)
    assert table.n_paired.tolist() == ["30", "8", "0"] and table.n_scored.tolist() == ["40", "12", "0"]
    assert table.response_rate.tolist()[0] == "50.0%"


def test_count_text():
    # 11 and 12 read 15: rounded to 10 they would read as a number of the hidden range.
    assert [suppress.count_text(n, 11) for n in (0, 1, 10, 11, 13, 18, 1234)] == ["0", "hidden", "hidden", "15", "15",
                                                                                 "20", "1,235"]
    assert [suppress.count_text(n, EXACT) for n in (10, 11, 1234)] == ["hidden", "11", "1,234"]


def test_a_rate_is_hidden_when_the_denominator_minus_its_numerator_is_small_and_the_counts_stay_rounded():
    # 47 of 55 responded: 85% beside 55 would give the 8 who did not. The counts read 45 and 55, to the nearest 5:
    # the 8 who did not may be anything from 6 to 14. (45 of 50 would read 45 and 50, which put the 5 at 1-9:
    # there responders read hidden too, rule 3b.)
    frame = pd.DataFrame({"group_value": ["a", "b", "c"], "n_series": [90, 90, 90], "n_evaluable": [70, 70, 70],
                          "n_scored": [55, 50, 50], "responders": [47, 30, 45], "remitters": [20, 50, 20],
                          "response_rate": [47 / 55, 0.6, 0.9], "remission_rate": [20 / 55, 1.0, 0.4]})
    shown = suppress.for_chart(frame, "cohort_comparison", 11)
    assert shown.responders[0] == 45 and pd.isna(shown.response_rate[0])
    assert shown.responders[1] == 30 and shown.response_rate[1] == 0.6
    assert shown.remission_rate[1] == 1.0  # 50 of 50: nobody is left to single out
    assert pd.isna(shown.responders[2]) and shown.n_scored[2] == 50 and shown.remission_rate[2] == 0.4
    assert suppress.for_table(frame, "cohort_comparison", 11).response_rate.tolist() == ["hidden", "60%", "hidden"]


def test_a_funnel_or_p_chart_row_is_hidden_when_its_rate_is_and_a_total_takes_a_second_only_when_exact():
    # The total (24 + 8 + 30 + 25 = 87) is shown elsewhere. Rounded, 85 - (25 + 30 + 25) leaves Q2 anywhere from
    # 0 to 13: only Q2 goes. With exact counts 87 - 79 would give it: the smallest other (Q1) goes too.
    frame = pd.DataFrame({"group_value": ["Q1", "Q2", "Q3", "Q4"], "n_scored": [24, 8, 30, 25],
                          "responders": [12, 4, 15, 12]})
    assert suppress.hidden_cells(frame, "cohort_comparison", 11, "responders", "n_scored").tolist() == [
        False, True, False, False]
    assert suppress.hidden_cells(frame, "cohort_comparison", EXACT, "responders", "n_scored").tolist() == [
        True, True, False, False]
    # Q3: 25 of 30 responded, 5 did not: its rate would give them.
    many = frame.assign(n_scored=[24, 40, 30, 25], responders=[12, 20, 25, 12])
    assert suppress.hidden_cells(many, "cohort_comparison", 11, "responders", "n_scored").tolist() == [
        False, False, True, False]
    assert not suppress.hidden_cells(frame, "cohort_comparison", 0, "responders", "n_scored").any()


def test_groups_that_add_up_to_a_shown_total_lose_only_the_small_group_under_rounding():
    # Clinicians as in the sample clinic: L02 has 1 series scored (hidden). Rounded, the total scored (245 -> 245)
    # minus 90, 75 and 80 leaves L02 anywhere from 0 to 8; N01 (74) stays. Exact (internal), N01 goes with it.
    frame = pd.DataFrame({"group_value": ["L01", "L02", "L03", "N01", "R01"], "n_series": [183, 6, 6, 185, 188],
                          "n_scored": [92, 1, 0, 74, 78], "responders": [43, 1, 0, 41, 44],
                          "remitters": [20, 1, 0, 16, 15]})
    table = suppress.for_table(frame, "cohort_comparison", 11, rows_add_up=True)
    assert table.n_scored.tolist() == ["90", "hidden", "0", "75", "80"]
    assert table.responders.tolist() == ["45", "hidden", "0", "40", "45"]
    assert table.n_series.tolist() == ["185", "hidden", "hidden", "185", "190"]
    exact = suppress.for_table(frame, "cohort_comparison", EXACT, rows_add_up=True)
    assert exact.n_scored.tolist() == ["92", "hidden", "0", "hidden", "78"]
    assert exact.remitters.tolist() == ["20", "hidden", "0", "16", "hidden"]


def test_a_rate_whose_complement_is_small_reads_hidden_and_its_count_rounded():
    # Northside IV: 27 of 34 cases reliably improved (7 not improved: the rate goes), 15 reliably recovered,
    # 1 reliably deteriorated (small: hidden). Counts alone leave the 7 at 6-14 (35 - 25, 33-37 less 23-27);
    # 15 of 34 at 44% beside the 15 (11-17) would narrow the cases to 34-36 and the 7 to 7-13, so that rate goes
    # too (rule 3b) and the counts stay.
    nhs = pd.DataFrame({"n_paired": [34], "n_cases": [34], "n_reliably_improved": [27], "n_reliably_recovered": [15],
                        "n_reliably_deteriorated": [1], "reliable_improvement_rate": [27 / 34],
                        "reliable_recovery_rate": [15 / 34], "reliable_deterioration_rate": [1 / 34]})
    table = suppress.for_table(nhs, "talking_therapies", 11).iloc[0]
    assert (table.reliable_improvement_rate, table.reliable_recovery_rate) == ("hidden", "hidden")
    assert (table.n_reliably_improved, table.n_reliably_recovered, table.n_reliably_deteriorated) == (
        "25", "15", "hidden")


def test_a_kaplan_meier_median_not_reached_stays_not_reached_after_the_cut():
    # The mart gives a median never reached as NA (a nullable column): it is "not reached", not "hidden".
    curve = pd.DataFrame({"group_value": ["A", "A"], "day": [0, 7], "n_at_risk": [31, 14], "n_events": [0, 0],
                          "n_censored": [17, 14], "survival": [1.0, 1.0],
                          "median_days": pd.array([None, None], dtype="Int32")})
    cut = suppress.survival_curve(curve, 11)
    assert cut.median_hidden.tolist() == [False, False] and cut.median_hidden.dtype == bool


def test_a_severity_cross_table_hides_only_its_small_cell_under_rounding_and_a_second_per_row_when_exact():
    # Baseline band (rows) by end band (columns); rows, columns and the whole are shown elsewhere. Only 5 is small.
    # Rounded, no total gives it exactly. Exact (internal view), each row and column needs a second hidden cell.
    bands = ["minimal", "mild", "moderate"]
    frame = pd.DataFrame({
        "baseline_band": ["moderate"] * 3 + ["moderately severe"] * 3 + ["severe"] * 3,
        "end_band": bands * 3, "n_series": [30, 20, 5, 25, 40, 15, 12, 35, 50],
    })
    table = suppress.for_table(frame, "severity_transitions", 11)
    assert table.n_series.tolist() == ["30", "20", "hidden", "25", "40", "15", "15", "35", "50"]
    exact = suppress.for_table(frame, "severity_transitions", EXACT)
    assert exact.n_series.tolist() == ["30", "hidden", "hidden", "hidden", "40", "hidden", "hidden", "hidden", "50"]


# One group's Kaplan-Meier rows as the marts give them: 60 followed, 12 censored on day 0, then 6, 6 + 2
# censored, 3 + 9 censored, 11, 4 + 2 censored, 1 + 4 censored on days 7 to 42.
KM = pd.DataFrame({"group_value": ["all"] * 7, "day": [0, 7, 14, 21, 28, 35, 42],
                   "n_at_risk": [60, 48, 42, 34, 22, 11, 5], "n_events": [0, 6, 6, 3, 11, 4, 1],
                   "n_censored": [12, 0, 2, 9, 0, 2, 4],
                   "survival": [1.0, 0.875, 0.75, 0.75 * 31 / 34, 0.75 * 31 / 34 / 2, 0.75 * 31 / 34 / 2 * 7 / 11,
                                0.75 * 31 / 34 / 2 * 7 / 11 * 4 / 5],
                   "median_days": [28] * 7})


def test_a_kaplan_meier_curve_is_the_estimate_each_week_while_11_are_at_risk_with_at_risk_rounded():
    # Days 0-35 have 11 or more at risk (day 35: 11); day 42 has 5: the curve ends on day 35, at the estimate.
    cut = suppress.survival_curve(KM, 11)
    assert cut.day.tolist() == [0, 7, 14, 21, 28, 35]
    # To whole percents under rounding (0.875, 0.6838, 0.3419, 0.2176 would give n and d back), exact internally.
    assert cut.survival.tolist() == [1.0, 0.88, 0.75, 0.68, 0.34, 0.22]
    assert suppress.survival_curve(KM, EXACT).survival.tolist() == pytest.approx(KM.survival[:6].tolist())
    assert cut.n_at_risk.tolist() == [60, 50, 40, 35, 20, 15]  # 60, 48, 42, 34, 22, 11 rounded (11 reads 15)
    assert "n_events" not in cut and "n_censored" not in cut  # a step's exact events are not shown
    assert cut.median_days.tolist() == [28] * 6 and cut.median_from.tolist() == [21] * 6
    first = KM.drop(columns="survival").assign(share_responded=1 - KM.survival)
    assert suppress.survival_curve(first, 11).share_responded.tolist() == [0.0, 0.12, 0.25, 0.32, 0.66, 0.78]
    assert suppress.survival_curve(KM, 0).drop(columns=["median_hidden", "median_text"]).equals(KM)  # 0: off


def test_time_to_response_under_suppression_is_the_marts_cumulative_incidence_with_dropouts_competing():
    # 60 series: day 0 12 dropouts; day 7 11 responses and 5 dropouts; day 14 6 more dropouts; day 21 12 responses,
    # 14 censored. The mart's Aalen-Johansen estimate is shown as it is at each week (not recomputed as
    # 1 - Kaplan-Meier with the dropouts censored, which would read higher).
    aj = [0.0, 0.8 * 11 / 48, 0.8 * 11 / 48, 0.8 * 11 / 48 + 0.8 * 32 / 48 * 12 / 26]
    curve = pd.DataFrame({"group_value": ["all"] * 4, "day": [0, 7, 14, 21], "n_at_risk": [60, 48, 32, 26],
                          "n_events": [0, 11, 0, 12], "n_dropped": [12, 5, 6, 0], "n_censored": [0, 0, 0, 14],
                          "share_responded": aj, "median_days": [None] * 4})
    cut = suppress.survival_curve(curve, 11)
    assert cut.day.tolist() == [0, 7, 14, 21] and cut.n_at_risk.tolist() == [60, 50, 30, 25]
    assert cut.share_responded.tolist() == [0.0, 0.18, 0.18, 0.43]  # aj to whole percents
    assert "n_dropped" not in cut  # a step's exact dropouts are not shown either


def test_within_a_week_a_move_of_more_than_4_points_is_drawn_on_its_day():
    # 10 of 100 lose response on day 3 (a 10-point fall): drawn on day 3, not held at 100% until day 7.
    curve = pd.DataFrame({"group_value": ["all"] * 3, "day": [3, 5, 9], "n_at_risk": [100, 90, 89],
                          "n_events": [10, 1, 20], "n_censored": [0, 0, 69],
                          "survival": [0.9, 0.9 * 89 / 90, 0.9 * 89 / 90 * 69 / 89], "median_days": [None] * 3})
    cut = suppress.survival_curve(curve, 11)
    assert cut.day.tolist() == [0, 3, 7, 9]  # day 5's 1-point fall waits for day 7's point
    assert cut.survival.tolist() == pytest.approx([1.0, 0.9, 0.89, 0.69])


def test_a_kaplan_meier_group_of_fewer_than_11_goes_and_the_others_stay_under_rounding():
    # By route: IV 60 series, IM 8 (small, hidden), oral 30. The "all series" curve's 100 minus 60 and 30 leaves IM
    # anywhere from 0 to 14 under rounding: oral stays. Exact, oral goes too.
    oral = KM.assign(group_value="oral", n_at_risk=KM.n_at_risk // 2)
    im = pd.DataFrame({"group_value": ["IM"], "day": [14], "n_at_risk": [8], "n_events": [8], "n_censored": [0],
                       "survival": [0.0], "median_days": [14]})
    curve = pd.concat([KM.assign(group_value="IV"), im, oral], ignore_index=True)
    assert suppress.survival_curve(curve, 11).group_value.unique().tolist() == ["IV", "oral"]
    assert suppress.survival_groups(curve, 11) == {"IV": "60", "IM": "hidden", "oral": "30"}
    assert suppress.survival_groups(curve, EXACT) == {"IV": "60", "IM": "hidden", "oral": "hidden"}
    assert suppress.survival_groups(curve, 0) == {"IV": "60", "IM": "8", "oral": "30"}


def test_cadss_and_item9_hide_their_small_cells_and_round_the_rest():
    cadss = pd.DataFrame({"group_value": ["IM", "IV", "intranasal"] * 2, "session_number": [1] * 3 + [7] * 3,
                          "n_sessions": [35, 114, 44, 7, 23, 22],
                          "mean_score": [20.0, 18.0, 25.0, 15.0, 14.0, 19.0]})
    assert suppress.for_table(cadss, "dissociation", 11).n_sessions.tolist() == ["35", "115", "45", "hidden", "25",
                                                                                "20"]
    assert suppress.for_chart(cadss, "dissociation", 11).mean_score.isna().tolist() == [False] * 3 + [True, False,
                                                                                                      False]
    item9 = pd.DataFrame({"group_value": ["Lakeview", "Northside", "Riverside"], "measure": ["item9_emergent"] * 3,
                          "n_series": [152, 132, 133], "n_meeting": [15, 13, 9]})
    assert suppress.for_table(item9, "item9_course", 11).n_meeting.tolist() == ["15", "15", "hidden"]


def test_attrition_hides_a_session_whose_fall_from_the_last_one_shown_is_small():
    # 40 series (the Overview shows it); reaching sessions 1-6: 38, 36, 30, 25, 12, 10. Shares of 40 side by side
    # would give the 2, 2 and 6 who stopped: sessions 1-3 go (40 - 30 = 10 is still small), session 4 (15 fewer
    # than 40) and 5 (13 fewer than 25) show, session 6 (10 series) is small.
    n = [38, 36, 30, 25, 12, 10]
    frame = pd.DataFrame({"stage": ["session"] * 6 + ["induction"], "step": [1, 2, 3, 4, 5, 6, 1],
                          "n_series": [*n, 24], "share_of_started": [v / 40 for v in [*n, 24]]})
    shown = suppress.attrition(frame, 11)
    assert shown.share_of_started.tolist()[:6] == pytest.approx([float("nan")] * 3 + [0.62, 0.3, float("nan")],
                                                               nan_ok=True)
    assert suppress.attrition(frame, 0).share_of_started.tolist() == frame.share_of_started.tolist()


def test_a_kaplan_meier_median_is_given_as_the_days_since_the_point_before_it():
    assert suppress.median_text(suppress.survival_curve(KM, 11)) == "22-28 days"
    assert suppress.median_text(suppress.survival_curve(KM, 0)) == "28 days"  # suppression off: the day itself


def test_the_sustained_response_bound_is_drawn_at_the_shown_points_and_follow_up_is_told_in_counts():
    # KM above with its bound (every censored series counted as lost), as the mart gives it day by day: shown at the
    # same weekly points as the estimate, the mart's values, to day 35.
    bound = [0.8, 0.7, 0.58, 0.35, 0.17, 0.08, 0.03]
    curve = KM.assign(survival_if_lost=bound, n_responders=60, n_followed_up=48)
    cut = suppress.survival_curve(curve, 11)
    assert cut.day.tolist() == [0, 7, 14, 21, 28, 35] and cut.survival_if_lost.tolist() == pytest.approx(bound[:6])
    assert numbers_in(suppress.followed_up_text(curve, "all", 11)) == [50, 60]  # 48 followed up, rounded; responders
    # 12 without a later score is fine; 5 without would give the 5 away: the followed-up count is hidden.
    hidden = suppress.followed_up_text(curve.assign(n_followed_up=55), "all", 11)
    assert hidden.startswith("hidden of") and numbers_in(hidden) == [60]


# --- a 0 beside a hidden whole, mart by mart (declarations.py `parts`) ------------------------------------

def test_nhs_measures_hide_a_0_of_a_hidden_few_and_a_group_of_50_keeps_every_number():
    # A: 7 finished courses (hidden), none paired: "0 paired" would say none of the 7 has both scores.
    # B: 60 finished, 52 paired, 40 cases, 24 recovered, 6 reliably improved (hidden), 0 reliably recovered: reliable
    #    recovery is recovered and reliably improved, so "0" would say none of the 6 recovered.
    # C: 60 finished, 62 paired, 50 cases, 24 recovered, 20 reliably improved, 0 reliably recovered, 0 deteriorated:
    #    no whole is hidden, so every 0 and every rate of this group of 50+ stays. (With 50 and 55 paired the
#    caseness rates would go as 10 and 5 are not cases, and rule 3b would take a count with them: test_recoverable_complement.py.)
    nhs = pd.DataFrame({
        "group_value": ["A", "B", "C"], "n_finished": [7, 60, 60], "n_paired": [0, 52, 62], "n_cases": [0, 40, 50],
        "caseness_rate": [None, 40 / 52, 50 / 62], "n_recovered": [0, 24, 24], "recovery_rate": [None, 0.6, 0.48],
        "n_reliably_improved": [0, 6, 20], "reliable_improvement_rate": [None, 0.15, 0.4],
        "n_reliably_recovered": [0, 0, 0], "reliable_recovery_rate": [None, 0.0, 0.0],
        "n_reliably_deteriorated": [0, 0, 0], "reliable_deterioration_rate": [None, 0.0, 0.0]})
    for rule in (11, EXACT):
        table = suppress.for_table(nhs, "talking_therapies", rule)
        assert table.n_finished.tolist()[0] == "hidden" and table.n_paired.tolist()[0] == "hidden"
        assert table.n_cases.tolist()[0] == "hidden" and table.n_recovered.tolist()[0] == "hidden"
        assert table.n_reliably_improved.tolist()[1:] == ["hidden", "20"]
        assert table.n_reliably_recovered.tolist() == ["hidden", "hidden", "0"]
        assert table.reliable_recovery_rate.tolist()[1:] == ["hidden", "0%" if rule == 11 else "0.0%"]
        assert table.n_reliably_deteriorated.tolist()[1:] == ["0", "0"]  # 0 of 40 and of 50 cases: shown
        assert table.recovery_rate.tolist()[1:] == (["60%", "48%"] if rule == 11 else ["60.0%", "48.0%"])
        assert table.iloc[2][["n_finished", "n_paired", "n_cases", "n_recovered"]].tolist() == (
            ["60", "62", "50", "24"] if rule == EXACT else ["60", "60", "50", "25"])


def test_protocol_adherence_hides_0_within_the_window_of_a_hidden_number_completed():
    # Within the window is a part of completed (a dropout never is): North completed 8 (hidden) of 60, none within
    # the window; South 50 of 60, none within it; East 20 of 60, 15 within. "0 within" of North's hidden 8 is hidden;
    # South's 0 of 50 is not. (With exact counts East's 20 completed go too: the sites add up to a total.)
    frame = pd.DataFrame({"group_value": ["North", "South", "East"], "n_series": [60, 60, 60],
                          "n_completed": [8, 50, 20], "n_within_window": [0, 0, 15],
                          "completion_rate": [8 / 60, 50 / 60, 20 / 60], "adherence_rate": [0.0, 0.0, 0.25]})
    for rule in (11, EXACT):
        table = suppress.for_table(frame, "protocol_adherence", rule, rows_add_up=True)
        assert table.n_within_window.tolist() == ["hidden", "0", "15"]
        assert table.adherence_rate.tolist()[0] == "hidden" and table.n_series.tolist() == ["60", "60", "60"]
        shown = suppress.for_chart(frame, "protocol_adherence", rule, rows_add_up=True)
        assert pd.isna(shown.n_within_window[0]) and shown.n_within_window[1] == 0 and shown.adherence_rate[1] == 0.0


def test_maintenance_hides_0_boosters_of_a_hidden_few_with_boosters():
    # 6 series completed induction (hidden), none with a booster, so 0 boosters: both zeros are of the hidden 6.
    frame = pd.DataFrame({"group_value": ["IM", "IV"], "n_series": [6, 80], "n_with_boosters": [0, 0],
                          "n_boosters": [0, 0], "with_boosters_rate": [0.0, 0.0], "n_reinducted": [0, 12],
                          "reinduction_rate": [0.0, 0.15]})
    table = suppress.for_table(frame, "maintenance", 11, rows_add_up=True)
    assert table.n_with_boosters.tolist() == ["hidden", "0"]
    assert table.n_boosters.tolist() == ["hidden", "0"]
    assert table.n_reinducted.tolist() == ["hidden", "15"]  # 0 of a hidden 6; 12 reads 15, never 10


def test_intention_to_treat_weeks_hide_0_observed_carried_or_imputed_of_a_hidden_number_of_series():
    # Week 6: 9 series (hidden), all 9 imputed, 0 observed and 0 carried: the zeros say none of the 9 was scored.
    itt = pd.DataFrame({"week": [5, 6], "n_series": [40, 9], "n_observed": [30, 0], "n_carried": [0, 0],
                        "n_imputed": [10, 9], "responders": [12, 0], "remitters": [5, 0]})
    table = suppress.for_table(itt, "weekly_outcomes_itt", 11)
    assert table.n_observed.tolist() == ["30", "hidden"] and table.n_carried.tolist() == ["0", "hidden"]
    assert table.n_imputed.tolist() == ["hidden", "hidden"]  # 10 is small itself


def test_activity_hides_0_active_series_of_a_hidden_number_of_series():
    activity = pd.DataFrame({"n_series": [8], "n_active_series": [0], "n_patients": [7], "n_sessions": [40]})
    table = suppress.for_table(activity, "activity", 11)
    assert table.iloc[0].tolist() == ["hidden", "hidden", "hidden", "40"]
