"""Charts and suppressed rows kept for repeated views (ketamine_outcomes/kept.py): the same rows give
the kept drawing, one changed cell gives a new one, and a kept frame handed out is the page's own copy."""

import duckdb
import pandas as pd
import plotly.graph_objects as go
import pytest

from ketamine_outcomes import kept
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import marts


@pytest.fixture(scope="module")
def attrition(sample_db) -> pd.DataFrame:
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        return suppress.attrition(marts.attrition(con, "PHQ-9"), 11)
    finally:
        con.close()


def test_outside_a_dashboard_run_a_builder_draws_at_once(attrition):
    assert isinstance(figures.attrition(attrition, 11), go.Figure)


def test_in_a_run_the_same_rows_name_the_same_drawing_and_a_changed_cell_another(attrition):
    changed = attrition.copy()
    number = next(c for c in changed.columns if pd.api.types.is_integer_dtype(changed[c]))
    changed.loc[changed.index[-1], number] += 1
    with kept.kept():
        first, again, other = (figures.attrition(attrition, 11), figures.attrition(attrition.copy(), 11),
                               figures.attrition(changed, 11))
        fewer = figures.attrition(attrition, 5)  # another threshold: another drawing
    assert isinstance(first, kept.Pending)
    assert first.key == again.key
    assert len({first.key, other.key, fewer.key}) == 3
    drawn = first.build()
    assert isinstance(drawn, go.Figure)
    assert drawn.to_dict() == figures.attrition(attrition, 11).to_dict()  # built as outside a run


def test_a_kept_suppressed_frame_is_the_callers_own_copy():
    rates = pd.DataFrame({"week": [1, 2], "n_scored": [3, 40], "responders": [1, 20], "n_paired": [3, 40]})
    with kept.kept():
        shown = suppress.for_chart(rates, "weekly_outcomes", 11)
        shown.loc[:, "n_scored"] = -1  # a page changing what it was handed
        again = suppress.for_chart(rates, "weekly_outcomes", 11)
    expected = suppress.for_chart(rates, "weekly_outcomes", 11)  # outside a run: computed afresh
    pd.testing.assert_frame_equal(again, expected)
    assert (again.n_scored != -1).all()


def test_a_frame_the_fingerprint_cannot_hash_is_drawn_not_kept():
    odd = pd.DataFrame({"week": [0], "values": [[1, 2]]})  # a column holding lists
    assert kept.fingerprint("x", (odd,), {}) is None
