"""Guards 'the database is never left half-written': a refused file and a killed ingest leave what
was stored before exactly as it was."""

import os
import signal
import subprocess
import sys

import duckdb
import pytest

from conftest import SAMPLE_FILES, table_snapshot
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_file


def test_refused_file_leaves_the_database_unchanged(con, load):
    load("o.csv", "patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,20\n")
    before = table_snapshot(con)
    result = load("bad.csv", "visit,weight\n1,80\n")
    assert result.refused.startswith("not a recognisable export")
    assert table_snapshot(con) == before


def test_failure_inside_the_transaction_rolls_back_everything(con, load, monkeypatch):
    load("o.csv", "patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,20\n")
    before = table_snapshot(con)

    def broken_merge(*args):
        con.execute("insert into assessments values ('P9', 'PHQ-9', 0, null, 1, null, 99, 2, null)")
        raise RuntimeError("disk full")

    monkeypatch.setattr("ketamine_outcomes.ingest.pipeline.merge_staged", broken_merge)
    try:
        load("o2.csv", "patient_id,assessment_day,instrument,score\nP2,0,PHQ-9,22\nP3,0,PHQ-9,x\n")
    except RuntimeError:
        pass
    assert table_snapshot(con) == before


@pytest.mark.subprocess
def test_killed_ingest_leaves_the_database_as_it_was(tmp_path):
    db = tmp_path / "clinic.duckdb"
    con = database.connect(db)
    for file in SAMPLE_FILES:
        ingest_file(con, file)
    before = table_snapshot(con)
    con.close()

    big = tmp_path / "big_outcomes.csv"
    with open(big, "w") as f:
        f.write("patient_id,assessment_day,instrument,score\n")
        for n in range(1_500_000):
            f.write(f"X{n % 150000},{n // 150000},PHQ-9,{n % 28}\n")

    process = subprocess.Popen(
        [sys.executable, "-m", "ketamine_outcomes.cli", "ingest", str(big), "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for line in process.stderr:  # progress lines; kill once the transaction has begun
        if "storing" in line:
            os.kill(process.pid, signal.SIGKILL)
            break
    assert process.wait(timeout=120) == -signal.SIGKILL

    after = duckdb.connect(str(db))
    assert table_snapshot(after) == before
    after.close()
