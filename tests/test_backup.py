"""Guards the backup a clinic schedules (docs/deploy.md): taken while a real dashboard serves and an ingest
writes, the copy holds whole batches only, restores by copying it into place, and ingest continues on it."""

import shutil
import subprocess
import sys
import time

import duckdb

from conftest import free_port, start_dashboard
from ketamine_outcomes import backup, metrics, store

BATCH_TABLES = ("patients", "sessions", "assessments")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "ketamine_outcomes.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def whole_batches(db) -> dict[int, tuple[int, int]]:
    """Per batch: (rows the batch says it inserted, rows stored with its batch id)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = " + ".join(f"(select count(*) from {t} where batch_id = b.batch_id)" for t in BATCH_TABLES)
        rows = con.execute(f"select batch_id, rows_inserted, {stored} from batches as b order by batch_id").fetchall()
    finally:
        con.close()
    return {batch: (inserted, found) for batch, inserted, found in rows}


def test_a_backup_taken_during_an_ingest_restores_whole_and_ingest_continues(tmp_path, sample_db):
    db = tmp_path / "live" / "clinic.duckdb"
    db.parent.mkdir()
    shutil.copy(sample_db, db)
    server = start_dashboard(db, free_port())
    try:
        # New patients' sessions (20,000 rows) being ingested while the backup is taken.
        sessions = tmp_path / "new_sessions.csv"
        sessions.write_text("patient_id,session_day,route\n" + "".join(
            f"N{i},{day},IV\n" for i in range(5000) for day in (0, 3, 7, 10)))
        ingest = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "ingest", str(sessions),
                                   "--db", str(db), "--wait", "120"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        taken = cli("backup", tmp_path / "backups" / "clinic-1.duckdb", "--db", db)
        assert ingest.wait(timeout=300) == 0, ingest.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert taken.returncode == 0, taken.stderr
    assert "clinic-1.duckdb: backup of" in taken.stdout

    # Restore as docs/deploy.md says: copy the backup into place.
    restored = tmp_path / "restored" / "clinic.duckdb"
    restored.parent.mkdir()
    shutil.copy(tmp_path / "backups" / "clinic-1.duckdb", restored)
    batches = whole_batches(restored)
    # The three sample batches, and the concurrent ingest either not at all or whole: never half-written.
    assert all(inserted == found for inserted, found in batches.values())
    assert list(batches) in ([1, 2, 3], [1, 2, 3, 4])
    assert batches.get(4, (20_000, 20_000)) == (20_000, 20_000)
    con = duckdb.connect(str(restored), read_only=True)
    try:
        # The charts read the restored file as they read the original: 600 sample patients (+ 5,000 new).
        assert metrics.activity(con).iloc[0].n_patients == 600 + (5000 if 4 in batches else 0)
    finally:
        con.close()

    # Ingest continues on the restored file: the next batch number follows the last one it holds.
    late = tmp_path / "late.csv"
    late.write_text("patient_id,assessment_day,instrument,score\nLATE1,0,PHQ-9,20\n")
    run = cli("ingest", late, "--db", restored)
    assert run.returncode == 0, run.stderr
    assert f"batch {max(batches) + 1}: 1 lines read, 1 inserted" in run.stdout


def test_a_backup_replaces_nothing_until_it_is_whole(tmp_path, sample_db):
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    destination = tmp_path / "clinic-backup.duckdb"
    destination.write_bytes(b"yesterday's backup")
    counts = backup.backup(db, destination)
    con = duckdb.connect(str(destination), read_only=True)
    assert backup.row_counts(con) == counts and counts["batches"] == 3
    con.close()
    assert not destination.with_name(destination.name + ".partial").exists()
    refused = cli("backup", db, "--db", db)
    assert refused.returncode == 2 and "would overwrite the database itself" in refused.stderr
    missing = cli("backup", tmp_path / "b.duckdb", "--db", tmp_path / "nowhere.duckdb")
    assert missing.returncode == 1 and "no such database" in missing.stderr
    assert store.connect(db, read_only=True).execute("select count(*) from batches").fetchall() == [(3,)]
