"""Guards the benchmark's fairness: the pandas baseline in bench/ computes the same Overview numbers
as the SQL marts on the sample clinic, so the ratios compare equal work."""

import duckdb
import numpy as np
import pytest

from bench import pandas_baseline
from ketamine_outcomes.metrics import marts


@pytest.fixture(scope="module")
def both(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    sessions, assessments = con.sql("select * from sessions").df(), con.sql("select * from assessments").df()
    yield con, pandas_baseline.overview(sessions, assessments, "PHQ-9")
    con.close()


def test_weekly_outcomes_match(both):
    con, baseline = both
    sql = marts.weekly_outcomes(con, "PHQ-9")
    columns = ["week", "n_scored", "n_paired", "responders", "remitters"]
    assert sql[columns].fillna(-1).astype(int).values.tolist() == \
        baseline["weekly_outcomes"].reindex(columns=columns).fillna(-1).astype(int).values.tolist()
    assert np.allclose(sql.mean_score, baseline["weekly_outcomes"].mean_score)
    assert np.allclose(sql.mean_change.astype(float), baseline["weekly_outcomes"].mean_change.astype(float),
                       equal_nan=True)


def test_end_of_induction_matches(both):
    con, baseline = both
    sql = marts.cohort_comparison(con, "PHQ-9").iloc[0]
    columns = ["n_series", "n_evaluable", "n_scored", "responders", "remitters"]
    assert [int(sql[c]) for c in columns] == [int(baseline["end_of_induction"][c].iloc[0]) for c in columns]


def test_attrition_and_activity_match(both):
    con, baseline = both
    sql = marts.attrition(con, "PHQ-9")
    sessions = sql[sql.stage == "session"][["step", "n_series"]].astype(int).values.tolist()
    assert sessions == baseline["attrition"].astype(int).values.tolist()
    activity = marts.activity(con).iloc[0]
    assert [int(activity[c]) for c in ("n_series", "n_active_series", "n_patients", "n_sessions")] == \
        baseline["activity"].iloc[0].astype(int).tolist()
