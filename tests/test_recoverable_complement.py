"""Guards rule 3b of docs/metrics.md, "Small cells": an observed rate hidden because few did not respond (its
complement is from 1 to 10) cannot be worked out from the rest of its row. The walk found the Compare table
showing the intention-to-treat rate beside it: route oral, 26 scored, 16 responders, 39 evaluable read 25, 15,
40 and ITT 41%, and 41% of 38-42 puts responders at 16-17, so the 10 who did not respond were 6-11 instead of
the 6-16 the rounded counts leave.

Each check here is a brute force written apart from suppress.py: every set of whole counts the figures shown fit
(a count shown as c stands for every count that rounds to c, 11 and 12 reading 15; a hidden count for any;
each rate shown to whole percents) gives the values the hidden complement may take. They may not all lie from
1 to 10, nor be fewer than the shown counts alone leave."""

from itertools import product

import pandas as pd
import pytest

from ketamine_outcomes.disclosure import panels, suppress
from ketamine_outcomes.metrics.marts import Cohort
from ketamine_outcomes.store import database

MIN_CELL = 11
COUNTS = ["n_series", "n_evaluable", "n_scored", "responders", "remitters"]
RATES = {"response_rate": ("responders", "n_scored"), "remission_rate": ("remitters", "n_scored"),
         "itt_response_rate": ("responders", "n_evaluable"), "itt_remission_rate": ("remitters", "n_evaluable")}
WHOLES = {"n_evaluable": "n_series", "n_scored": "n_evaluable", "responders": "n_scored", "remitters": "n_scored"}


def as_shown(count: int) -> int:
    """The docs' rounding: to the nearest 5, halves up; 11 and 12 read 15 (never a number of the hidden range)."""
    nearest = (count + 2) // 5 * 5
    return max(nearest, 15) if count >= MIN_CELL else nearest


def stands_for(text: str, upper: int) -> list[int]:
    if text == "hidden":
        return list(range(upper + 1))
    shown = int(text.replace(",", ""))
    return [v for v in range(upper + 1) if v >= MIN_CELL and as_shown(v) == shown]


def percent(text: str) -> int | None:
    return None if text in ("hidden", "") else int(text.rstrip("%"))


def complements(row: dict, num: str, den: str, with_rates: bool = True) -> set[int]:
    """Every den - num that whole counts fitting the row's text (a for_table row) allow."""
    upper = max(int(row[c].replace(",", "")) for c in COUNTS if row[c] != "hidden") + 10
    options = [stands_for(row[c], upper) for c in COUNTS]
    found = set()
    for values in product(*options):
        counts = dict(zip(COUNTS, values))
        if any(counts[part] > counts[whole] for part, whole in WHOLES.items()):
            continue
        fits = True
        for rate, (k, n) in RATES.items():
            shown = percent(row[rate]) if with_rates else None
            if shown is not None and (counts[n] == 0 or abs(100 * counts[k] / counts[n] - shown) > 0.5 + 1e-9):
                fits = False
                break
        if fits:
            found.add(counts[den] - counts[num])
    return found


def assert_not_told(row: dict, exact: dict) -> None:
    """For each observed rate whose exact complement is from 1 to 10 (hidden for it), with its counts shown, the
    complement is not worked out from the row's text."""
    for rate, (num, den) in (("response_rate", ("responders", "n_scored")),
                             ("remission_rate", ("remitters", "n_scored"))):
        if not 0 < exact[den] - exact[num] < MIN_CELL or "hidden" in (row[num], row[den]):
            continue
        assert row[rate] == "hidden", (row, rate)
        told = complements(row, num, den)
        assert exact[den] - exact[num] in told
        assert not told <= set(range(1, MIN_CELL)), (row, rate, sorted(told))
        assert told == complements(row, num, den, with_rates=False), (row, rate, sorted(told))


def comparison_row(n_series, n_evaluable, n_scored, responders, remitters) -> pd.DataFrame:
    frame = pd.DataFrame({"group_value": ["g"], "n_series": [n_series], "n_evaluable": [n_evaluable],
                          "n_scored": [n_scored], "responders": [responders], "remitters": [remitters]})
    for rate, (k, n) in RATES.items():
        frame[rate] = frame[k] / frame[n]
    return frame


def shown_and_exact(*counts) -> tuple[pd.Series, dict]:
    exact = comparison_row(*counts)
    return suppress.for_table(exact, "cohort_comparison", MIN_CELL).iloc[0], exact.iloc[0].to_dict()


def test_the_walks_oral_row_hides_its_intention_to_treat_response_and_keeps_its_counts():
    shown, exact = shown_and_exact(41, 39, 26, 16, 3)
    assert shown.response_rate == "hidden" and shown.itt_response_rate == "hidden"
    assert (shown.n_evaluable, shown.n_scored, shown.responders) == ("40", "25", "15")
    # Counts alone leave the 10 non-responders anywhere from 6 (25 - 15 at their nearest) to 16 (27 - 11).
    assert complements(shown.to_dict(), "responders", "n_scored") == set(range(6, 17))
    assert_not_told(shown.to_dict(), exact)


def test_the_walks_female_row_keeps_its_intention_to_treat_rate_as_it_tells_nothing_more():
    # Oral, female: 17 scored, 11 responders, 24 evaluable read 15, 15, 25. 46% of 23-27 puts responders at 11-12,
    # but 15 scored stands for 11-17 (11 and 12 read 15), so 0-6 did not respond with the 46% or without it.
    shown, exact = shown_and_exact(25, 24, 17, 11, 1)
    assert (shown.n_scored, shown.responders, shown.response_rate, shown.itt_response_rate) == ("15", "15", "hidden",
                                                                                                "46%")
    assert complements(shown.to_dict(), "responders", "n_scored") == set(range(0, 7))
    assert_not_told(shown.to_dict(), exact)


def test_rounded_counts_that_pin_the_few_non_responders_hide_the_responders():
    # docs/metrics.md's worked example with 125 responders of 132 scored: 130 - 125 would put the 7 who did not
    # respond at 1-9, so responders read hidden, and with them the intention-to-treat response rate.
    shown, exact = shown_and_exact(302, 300, 132, 125, 26)
    assert (shown.responders, shown.response_rate, shown.itt_response_rate) == ("hidden", "hidden", "hidden")
    assert (shown.n_scored, shown.remitters, shown.remission_rate, shown.itt_remission_rate) == ("130", "25", "20%",
                                                                                                   "9%")
    assert_not_told(shown.to_dict(), exact)


def test_a_large_group_keeps_its_intention_to_treat_rate_where_it_tells_nothing_more():
    # 480 evaluable: 95% of 478-482 spans 452-460 responders, wider than the 453-457 the rounded 455 stands for.
    shown, exact = shown_and_exact(500, 480, 463, 455, 200)
    assert shown.response_rate == "hidden"
    assert (shown.responders, shown.itt_response_rate, shown.remission_rate) == ("455", "95%", "43%")
    assert_not_told(shown.to_dict(), exact)


@pytest.mark.parametrize("by, routes", [("route", ()), ("sex", ("oral",)), ("site", ()), ("clinician", ()),
                                        ("age_band", ()), ("sex", ("IV",))])
def test_no_compare_row_of_the_sample_clinic_gives_a_hidden_rate_away(sample_db, by, routes):
    selection = panels.Selection("PHQ-9", Cohort(routes=routes), suppress.Disclosure(MIN_CELL),
                                 caseness={"PHQ-9": 10})
    with database.open_file(sample_db, read_only=True) as con:
        marts = panels.from_connection(con)
        panel = panels.funnel(marts, selection, by, by)
        rates = marts("cohort_comparison", instrument="PHQ-9", by=by, cohort=selection.rated_cohort())
    text = suppress.for_table(rates, "cohort_comparison", selection.disclosure, rows_add_up=True)  # CSV, pack
    for row, exact in zip(text.to_dict(orient="records"), rates.to_dict(orient="records")):
        assert_not_told(row, exact)
    # The page's table hides what the text does (a number missing where the text reads hidden).
    numbers = panel.rows.numbers
    for column in ["responders", "response_rate", "itt_response_rate", "remitters", "remission_rate"]:
        withheld = numbers[column].isna() & rates[column].notna()
        assert withheld.tolist() == (text[column] == "hidden").tolist(), column
    if by == "route" and not routes:
        oral = text.set_index("group_value").loc["oral"]
        assert (oral.response_rate, oral.itt_response_rate, oral.n_scored) == ("hidden", "hidden", "25")


@pytest.mark.parametrize("groups, words", [
    ({"North": (8, 5)}, "No site can be placed on the funnel: the one site with series scored has fewer than 11 "
                        "scored, responding or not responding"),
    ({"North": (8, 5), "South": (30, 25)}, "No site can be placed on the funnel: each of the 2 with series scored "
                                           "has fewer than 11 scored, responding or not responding")])
def test_a_funnel_with_no_group_placed_says_why_in_words_that_agree_with_the_count(groups, words):
    # South: 25 of 30 responded, so 5 did not: its rate is hidden and it is not placed either.
    frame = pd.DataFrame([{"group_value": g, "n_series": s, "n_evaluable": s, "n_scored": s, "responders": r,
                           "remitters": 0, "n_evaluable_no_baseline": 0} for g, (s, r) in groups.items()])
    for rate, (k, n) in RATES.items():
        frame[rate] = frame[k] / frame[n]
    for end in ("_low", "_high"):
        frame["response_rate" + end] = frame.response_rate
    selection = panels.Selection("PHQ-9", Cohort(), suppress.Disclosure(MIN_CELL))
    panel = panels.funnel(lambda name, **options: frame.copy(), selection, "site", "site")
    assert panel.empty.startswith(words)
