"""Guards the marts' numbers on the sample clinic against reviewed golden outputs (tests/golden/).
Rows are sorted and floats rounded. After a deliberate change, review the diff and rewrite them with
`pytest tests/test_golden.py --update-golden`."""

import duckdb
import pandas as pd
import pytest

from conftest import ROOT
from ketamine_outcomes import metrics

GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "weekly_outcomes_phq9": lambda con: metrics.weekly_outcomes(con, "PHQ-9"),
    "weekly_outcomes_gad7": lambda con: metrics.weekly_outcomes(con, "GAD-7"),
    "weekly_outcomes_itt_phq9": lambda con: metrics.weekly_outcomes_itt(con, "PHQ-9"),
    "series_summary_phq9": lambda con: metrics.series_summary(con, "PHQ-9"),
    "attrition_phq9": lambda con: metrics.attrition(con, "PHQ-9"),
    "cohort_comparison_phq9_by_route": lambda con: metrics.cohort_comparison(con, "PHQ-9", by="route"),
    "cohort_comparison_pcl5_by_site": lambda con: metrics.cohort_comparison(con, "PCL-5", by="site"),
    "adverse_events_by_route": lambda con: metrics.adverse_events(con, by="route"),
    "blood_pressure": lambda con: metrics.blood_pressure(con),
    "item9_flags": lambda con: metrics.item9_flags(con),
}


def normalised(frame: pd.DataFrame) -> str:
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column].round(6)
    frame = frame.astype(str).sort_values(list(frame.columns)).reset_index(drop=True)
    return frame.to_csv(index=False)


@pytest.mark.parametrize("case", CASES)
def test_mart_matches_golden_output(sample_db, case, request):
    con = duckdb.connect(str(sample_db), read_only=True)
    text = normalised(CASES[case](con))
    con.close()
    path = GOLDEN / f"{case}.csv"
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden output yet: run pytest {__file__} --update-golden and review it"
    assert text == path.read_text()
