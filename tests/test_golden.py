"""Guards the marts' numbers on the sample clinic against reviewed golden outputs (tests/golden/).
Rows are sorted and floats rounded. After a deliberate change, review the diff and rewrite them with
`pytest tests/test_golden.py --update-golden`."""

import duckdb
import pandas as pd
import pytest

from conftest import ROOT
from ketamine_outcomes.metrics import marts

GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "weekly_outcomes_phq9": lambda con: marts.weekly_outcomes(con, "PHQ-9"),
    "weekly_outcomes_gad7": lambda con: marts.weekly_outcomes(con, "GAD-7"),
    "weekly_outcomes_phq9_by_site": lambda con: marts.weekly_outcomes(con, "PHQ-9", by="site"),
    "weekly_outcomes_itt_phq9": lambda con: marts.weekly_outcomes_itt(con, "PHQ-9"),
    "series_summary_phq9": lambda con: marts.series_summary(con, "PHQ-9"),
    "attrition_phq9": lambda con: marts.attrition(con, "PHQ-9"),
    "cohort_comparison_phq9_by_route": lambda con: marts.cohort_comparison(con, "PHQ-9", by="route"),
    "cohort_comparison_pcl5_by_site": lambda con: marts.cohort_comparison(con, "PCL-5", by="site"),
    "adverse_events_by_route": lambda con: marts.adverse_events(con, by="route"),
    "blood_pressure": lambda con: marts.blood_pressure(con),
    "item9_flags": lambda con: marts.item9_flags(con),
    "activity": lambda con: marts.activity(con),
    "series_trajectories_phq9": lambda con: marts.series_trajectories(con, "PHQ-9"),
    "severity_transitions_phq9": lambda con: marts.severity_transitions(con, "PHQ-9"),
    "coverage": lambda con: marts.coverage(con),
    "end_statuses_phq9": lambda con: marts.end_statuses(con, "PHQ-9"),
    "first_response_weeks_phq9": lambda con: marts.first_response_weeks(con, "PHQ-9"),
    "sustained_response_phq9_by_route": lambda con: marts.sustained_response(con, "PHQ-9", by="route"),
    "time_to_response_phq9_by_route": lambda con: marts.time_to_response(con, "PHQ-9", by="route"),
    "maintenance_by_route": lambda con: marts.maintenance(con, by="route"),
    "protocol_adherence_by_site": lambda con: marts.protocol_adherence(con, by="site"),
    "talking_therapies_by_route": lambda con: marts.talking_therapies(con, by="route"),
    "item9_course_by_route": lambda con: marts.item9_course(con, by="route"),
    "dissociation_by_route": lambda con: marts.dissociation(con, by="route"),
    "adverse_events_by_session_number": lambda con: marts.adverse_events(con, by="session_number"),
    "adverse_events_by_dose_band": lambda con: marts.adverse_events(con, by="dose_band"),
    "cohort_comparison_gad7_by_clinician": lambda con: marts.cohort_comparison(con, "GAD-7", by="clinician"),
    "cohort_comparison_phq9_by_start_quarter": lambda con: marts.cohort_comparison(
        con, "PHQ-9", by="start_quarter"),
    "series_summary_phq9_caseness": lambda con: marts.series_summary(
        con, "PHQ-9", marts.Cohort(min_baseline=10)),
    "weekly_outcomes_itt_phq9_iv": lambda con: marts.weekly_outcomes_itt(con, "PHQ-9", marts.Cohort(routes=("IV",))),
    "weekly_outcomes_itt_gad7": lambda con: marts.weekly_outcomes_itt(con, "GAD-7"),
    "attrition_gad7": lambda con: marts.attrition(con, "GAD-7"),
    "adverse_event_incidence": lambda con: marts.adverse_event_incidence(con),
    "casemix_series_phq9_by_site": lambda con: marts.casemix_series(con, "PHQ-9", by="site"),
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
