"""Guards the synthetic sample clinic: the committed CSVs are what the generator writes, they ingest
without a single rejected line, and they have the shape the issue asks for."""

import duckdb

from conftest import SAMPLE
from sample_data.generate import generate


def test_committed_csvs_are_the_generators_output(tmp_path):
    generate(tmp_path)
    for name in ("patients.csv", "sessions.csv", "outcomes.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name


def test_sample_clinic_shape(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    one = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
    assert one("select count(*) from patients") == 600
    assert one("select count(distinct site) from sessions") == 3
    assert one("select count(distinct clinician_id) from sessions") >= 6
    assert one("select list(distinct route order by route) from sessions") == ["IM", "IV", "intranasal", "oral"]
    assert one("select count(distinct patient_id) from assessments where instrument = 'PHQ-9'") >= 590
    assert one("select count(*) from sessions where status in ('cancelled', 'no_show')") > 100
    assert one("select count(*) from assessments where item9 > 0") > 10
    con.close()


def test_sample_clinic_shows_each_case_the_definitions_separate(sample_db):
    """Issue 22: the sample clinic has late maintenance boosters (a session after a gap of more than
    series_gap_days that stays in its series), real re-inductions (second series), dropouts and series
    without a baseline, so every page shows each case."""
    con = duckdb.connect(str(sample_db), read_only=True)
    one = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
    assert one("select count(*) from int_series_sessions where not is_first_run") >= 20
    assert one("select count(*) from int_treatment_series where series_number > 1") >= 20
    assert one("select count(*) from int_treatment_series where is_dropped_out") >= 100
    assert one("select count(*) from int_treatment_series where series_id not in "
               "(select series_id from int_baselines where instrument = 'PHQ-9')") >= 20
    con.close()
