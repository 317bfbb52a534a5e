"""Guards small-cell suppression: counts from 1 to min_cell - 1 never show, nor any rate, interval or
mean built on them; zero and larger counts show; 0 turns suppression off."""

import pandas as pd

from ketamine_outcomes import suppress

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


def test_a_table_shows_less_than_eleven_and_never_the_count():
    table = suppress.for_table(WEEKLY, "weekly_outcomes", 11)
    assert table.n_paired.tolist() == ["30", "<11", "0"]
    assert table.responders.tolist() == ["15", "<11", "0"]
    assert table.response_rate.tolist() == ["50.0%", "", ""]
    for column in ("n_scored", "n_paired", "responders", "remitters"):
        assert not any(value in {str(n) for n in range(1, 11)} for value in table[column])


def test_threshold_zero_turns_suppression_off():
    table = suppress.for_table(WEEKLY, "weekly_outcomes", 0)
    assert table.n_paired.tolist() == ["30", "8", "0"]


def test_count_text():
    assert [suppress.count_text(n, 11) for n in (0, 1, 10, 11, 1234)] == ["0", "<11", "<11", "11", "1,234"]
