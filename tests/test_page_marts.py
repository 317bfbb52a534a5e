"""The smaller marts the pages read instead of a large one (issue 26: every page within 1.5x of the sample clinic
at 1M patients): each must give the page exactly what it drew from the large mart."""

import duckdb
import pandas as pd

from ketamine_outcomes.disclosure import response_panels, suppress
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.metrics.marts import Cohort


def test_end_change_counts_are_series_summarys_evaluable_series_counted(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    summary = marts.series_summary(con, "PHQ-9", Cohort(routes=("IV",)))
    counts = marts.end_change_counts(con, "PHQ-9", Cohort(routes=("IV",)))
    con.close()
    evaluable = summary[summary.is_evaluable & summary.end_pct_change.notna()]
    expected = evaluable.groupby(["end_status", "end_pct_change"]).size().rename("n_series").reset_index()
    assert len(evaluable) > 50  # the sample clinic's IV series: enough to mean something
    assert counts.n_series.sum() == len(evaluable)
    pd.testing.assert_frame_equal(counts.reset_index(drop=True), expected, check_dtype=False)


def test_change_bins_of_counted_rows_are_those_of_one_row_per_series():
    """Three series at -60% (response), twelve at -90% (remission), one at +20% (no response): counted as three
    rows, the bins and the title's total are what sixteen rows of one series each give."""
    per_series = pd.DataFrame({"end_pct_change": [-0.6] * 3 + [-0.9] * 12 + [0.2],
                               "end_status": ["response"] * 3 + ["remission"] * 12 + ["no response"]})
    counted = pd.DataFrame({"end_status": ["no response", "remission", "response"],
                            "end_pct_change": [0.2, -0.9, -0.6], "n_series": [1, 12, 3]})
    for rule in (suppress.Disclosure(1, 1), suppress.Disclosure(11, 5), suppress.Disclosure(3, 1)):
        bins, total = response_panels.change_bins(counted, rule)
        expected_bins, expected_total = response_panels.change_bins(per_series, rule)
        pd.testing.assert_frame_equal(bins, expected_bins)
        assert total == expected_total
    bins, total = response_panels.change_bins(counted, suppress.Disclosure(1, 1))
    shown = bins[bins.n_series > 0].set_index("status").n_series.to_dict()
    assert shown == {"remission": 12, "response": 3, "no response": 1} and total == "16 series"
    bins, total = response_panels.change_bins(counted, suppress.Disclosure(11, 5))
    assert total == "some bars hidden"  # 3 and 1 are small cells
    assert bins[bins.status == "remission"].n_series.max() == 15  # 12 rounded to 5, never into the hidden range


def test_safety_lists_the_newest_flags_and_counts_them_all(clinic_db, monkeypatch):
    """With the list cut to 5 rows (1,000 in the product: a large network has 175,000 flags), the Safety page lists
    the 5 newest answers, newest first, and its count is of every flag the mart holds."""
    from conftest import open_app, shown
    from ketamine_outcomes.dashboard import patients
    from ketamine_outcomes.store import database

    with database.open_file(clinic_db, read_only=True) as con:
        flags = marts.item9_flags(con)
    assert len(flags) > 5
    monkeypatch.setattr(patients, "LISTED_FLAGS", 5)
    app = open_app(clinic_db, monkeypatch, "safety")
    assert not app.exception
    [listed] = [d.value for d in app.dataframe if "Item 9 answer" in d.value.columns]
    assert len(listed) == 5
    assert listed.Patient.tolist() == flags.patient_id.head(5).tolist()
    [caption] = [shown(c.value) for c in app.caption if "PHQ-9 answers with item 9" in c.value]
    assert caption.replace("**", "").startswith(f"Whole clinic, not filtered: {len(flags):,} PHQ-9 answers with item 9")
    assert "Listed here: the newest 5." in caption and f"holds all {len(flags):,}" in caption


def plan_operators(node: dict) -> list[tuple[str, dict]]:
    found = [(node.get("name") or node.get("type") or "", node.get("extra_info") or {})]
    for child in node.get("children", []):
        found += plan_operators(child)
    return found


def test_an_as_of_join_is_sorted_however_small_the_cohort_looks(sample_db):
    """DuckDB turned an as-of join whose left side it guessed at 64 rows or fewer into a nested loop over every pair
    of rows; a cohort filter makes that guess: at 10k patients the Response page's weekly_outcomes_itt for PHQ-9
    baseline >= 10 took 8 s instead of 0.05 s. Through the marts, the join is the sorted one, and its rows those of
    every series counted (week 0: each series with a baseline of 10 or more, evaluable)."""
    import json

    from ketamine_outcomes.store import database

    con = database.open_file(sample_db, read_only=True)
    try:
        con.execute("set enable_profiling = 'no_output'")
        itt = marts.weekly_outcomes_itt(con, "PHQ-9", Cohort(min_baseline=10), evaluable_only=True)
        profile = json.loads(con.get_profiling_information(format="json"))
        con.execute("pragma disable_profiling")
        summary = marts.series_summary(con, "PHQ-9", Cohort(min_baseline=10))
    finally:
        con.close()
    operators = [op for top in profile["operator"] for op in plan_operators(top)]
    assert any(name == "ASOF_JOIN" for name, _ in operators)
    loops = [info for name, info in operators if name == "NESTED_LOOP_JOIN" and "series_id" in str(info)]
    assert loops == []
    assert itt.n_series.iloc[0] == int((summary.is_evaluable & (summary.baseline_score >= 10)).sum())
