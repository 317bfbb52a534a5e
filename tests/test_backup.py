"""Guards the backup a clinic schedules (docs/deploy.md): taken while a real dashboard serves and an ingest
writes, the copy holds whole batches only, restores by copying it into place, and ingest continues on it."""

import os
import re
import shutil
import subprocess
import sys
import time

import duckdb
import pytest

from conftest import ROOT, ingest_summary, start_dashboard, stop_server
from ketamine_outcomes.store import backup
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database

BATCH_TABLES = ("patients", "sessions", "assessments")


def whole_batches(db) -> dict[int, tuple[int, int]]:
    """Per batch: (rows the batch says it inserted, rows stored with its batch id)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = " + ".join(f"(select count(*) from {t} where batch_id = b.batch_id)" for t in BATCH_TABLES)
        rows = con.execute(f"select batch_id, rows_inserted, {stored} from batches as b order by batch_id").fetchall()
    finally:
        con.close()
    return {batch: (inserted, found) for batch, inserted, found in rows}


@pytest.mark.server
@pytest.mark.subprocess
def test_a_backup_taken_during_an_ingest_restores_whole_and_ingest_continues(tmp_path, sample_db, cli_process):
    db = tmp_path / "live" / "clinic.duckdb"
    db.parent.mkdir()
    shutil.copy(sample_db, db)
    server = start_dashboard(db)
    try:
        # New patients' sessions (20,000 rows) being ingested while the backup is taken.
        sessions = tmp_path / "new_sessions.csv"
        sessions.write_text("patient_id,session_day,route\n" + "".join(
            f"N{i},{day},IV\n" for i in range(5000) for day in (0, 3, 7, 10)))
        ingest = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "ingest", str(sessions),
                                   "--db", str(db), "--wait", "120"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        taken = cli_process("backup", tmp_path / "backups" / "clinic-1.duckdb", "--db", db)
        assert ingest.wait(timeout=300) == 0, ingest.stderr
    finally:
        stop_server(server)
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
        assert marts.activity(con).iloc[0].n_patients == 600 + (5000 if 4 in batches else 0)
    finally:
        con.close()

    # Ingest continues on the restored file: the next batch number follows the last one it holds.
    late = tmp_path / "late.csv"
    late.write_text("patient_id,assessment_day,instrument,score\nLATE1,0,PHQ-9,20\n")
    run = cli_process("ingest", late, "--db", restored)
    assert run.returncode == 0, run.stderr
    summary = ingest_summary(run.stdout, "late.csv")
    assert (summary["batch"], summary["read"], summary["inserted"]) == (max(batches) + 1, 1, 1)


def test_a_backup_replaces_nothing_until_it_is_whole(tmp_path, sample_db, cli_process):
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    destination = tmp_path / "clinic-backup.duckdb"
    with duckdb.connect(str(destination)) as con:  # yesterday's backup: an empty clinic
        database.initialise(con)
    counts = backup.backup(db, destination, replace=True)
    con = duckdb.connect(str(destination), read_only=True)
    assert backup.row_counts(con) == counts and counts["batches"] == 3
    con.close()
    assert not destination.with_name(destination.name + ".partial").exists()
    refused = cli_process("backup", db, "--db", db)
    assert refused.returncode == 2 and "would overwrite the database itself" in refused.stderr
    missing = cli_process("backup", tmp_path / "b.duckdb", "--db", tmp_path / "nowhere.duckdb")
    assert missing.returncode == 1 and "no such database" in missing.stderr
    assert database.connect(db, read_only=True).execute("select count(*) from batches").fetchall() == [(3,)]


def test_a_backup_never_overwrites_a_file_unless_asked_and_then_only_an_earlier_backup(tmp_path, sample_db, cli_process):
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    victim = tmp_path / "victim.csv"
    victim.write_text("patient_id,session_day\nP1,0\n")
    for replace in ((), ("--replace",)):
        refused = cli_process("backup", victim, "--db", db, *replace)
        assert (refused.returncode, refused.stdout, refused.stderr.count("\n")) == (2, "", 1), refused.stderr
        assert victim.read_text() == "patient_id,session_day\nP1,0\n"
    assert "already exists; nothing was written" in cli_process("backup", victim, "--db", db).stderr
    assert "is not a ketamine-outcomes backup" in cli_process("backup", victim, "--db", db, "--replace").stderr

    earlier = tmp_path / "earlier.duckdb"
    assert cli_process("backup", earlier, "--db", db).returncode == 0
    assert "already exists" in cli_process("backup", earlier, "--db", db).stderr
    assert cli_process("backup", earlier, "--db", db, "--replace").returncode == 0
    # clinic.duckdb.wal would be taken for the database's own log, and deleted when the database is next opened.
    wal = cli_process("backup", tmp_path / "clinic.duckdb.wal", "--db", db)
    assert (wal.returncode, wal.stderr) == (2, f"{tmp_path / 'clinic.duckdb.wal'}: a name ending in .wal is DuckDB's "
                                               "own (opening clinic.duckdb would delete it); nothing was written. "
                                               "Give another name, e.g. ending in .duckdb.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic.duckdb", "earlier.duckdb", "victim.csv"]


@pytest.mark.subprocess
def test_a_backup_into_a_folder_writes_a_dated_file_and_a_failed_one_leaves_nothing(tmp_path, sample_db, cli_process):
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    folder = tmp_path / "backups"
    folder.mkdir()
    taken = cli_process("backup", folder, "--db", db)
    assert taken.returncode == 0, taken.stderr
    (written,) = folder.iterdir()
    assert re.fullmatch(r"clinic-\d{4}-\d\d-\d\d-\d{6}\.duckdb", written.name)
    assert taken.stdout.startswith(f"{written}: backup of {db}, checked:")
    with duckdb.connect(str(written), read_only=True) as con:
        assert con.execute("select count(*) from batches").fetchall() == [(3,)]

    # A disk that fills during the copy: one line, no traceback, no temporary copy left behind.
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], check=True)
    try:
        failed = cli_process("backup", small / "clinic.duckdb", "--db", db)
        assert (failed.returncode, failed.stderr.count("\n")) == (2, 1), failed.stderr
        assert "No space left on device); nothing was replaced" in failed.stderr
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=True)


@pytest.mark.subprocess
def test_what_a_killed_backup_left_is_removed_by_the_next_backup_and_by_the_docs_clean_up(tmp_path, sample_db, cli_process):
    # A backup killed mid-copy (kill -9, a power cut) leaves its temporary NAME.partial (issue 23).
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    folder = tmp_path / "backups"
    folder.mkdir()
    hour_ago = time.time() - 3600
    killed = folder / "clinic-2026-01-01-033000.duckdb.partial"  # last night's, killed
    live = folder / "clinic-2026-01-02-033000.duckdb.partial"  # being written this minute, by nobody we know
    others = folder / "pharmacy-2026-01-01-033000.duckdb.partial"  # another database's
    for path in (killed, live, others):
        path.write_bytes(b"DUCK" * 1000)
    for path in (killed, others):
        os.utime(path, (hour_ago, hour_ago))
    named = tmp_path / "weekly.duckdb"
    named.with_name("weekly.duckdb.partial").write_bytes(b"torn")  # a named destination's, killed

    assert cli_process("backup", folder, "--db", db).returncode == 0
    assert cli_process("backup", named, "--db", db).returncode == 0
    assert sorted(p.name for p in folder.glob("*.partial")) == [live.name, others.name]
    assert not named.with_name("weekly.duckdb.partial").exists()

    # The clean-up docs/deploy.md gives for a scheduled backup removes what is left once an hour old.
    docs = (ROOT / "docs" / "deploy.md").read_text()
    command = re.search(r"`(find /var/backups/ketamine-outcomes .*?-delete)`", docs, re.S)[1]
    os.utime(live, (hour_ago - 60, hour_ago - 60))
    subprocess.run(["sh", "-c", " ".join(command.split()).replace("/var/backups/ketamine-outcomes", str(folder))
                    .replace("clinic-", "*-")], check=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in folder.glob("clinic-*.duckdb"))
    assert len(list(folder.glob("clinic-*.duckdb"))) >= 1


def test_a_backup_and_a_printed_mart_are_recorded_in_the_audit_trail(tmp_path, sample_db, cli_process):
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    copy = tmp_path / "copy.duckdb"
    assert cli_process("backup", copy, "--db", db).returncode == 0
    mart = cli_process("mart", "series_summary", "--db", db, "--site", "Northside")
    assert mart.returncode == 0, mart.stderr
    rows = mart.stdout.strip().count("\n")  # lines after the header
    with duckdb.connect(str(db), read_only=True) as con:
        trail = con.execute("select role, action, detail from audit_log order by logged_at").fetchall()
    assert trail == [("command line", "backup", "full copy to copy.duckdb"),
                     ("command line", "mart", f"series_summary (site: Northside): {rows} rows as CSV")]
    with duckdb.connect(str(copy), read_only=True) as con:  # the copy holds its own row
        assert con.execute("select action, detail from audit_log").fetchall() == [
            ("backup", "full copy to copy.duckdb")]
