"""Guards what an ingest says on a disk that fills up (issue 23): on a real small tmpfs, mounted and
unmounted here, whatever point the disk fills at, the command's words are what the database holds. Needs
root (mount); it fails, never skips, where it cannot mount."""

import subprocess

import duckdb
import pytest

from conftest import ingest_summary

LINES = 60_000  # 800 kB of sessions: its batch fits a 10 MB disk, its metric build does not


@pytest.fixture
def small_disk(tmp_path):
    """Mount a tmpfs of a given size at a fresh folder; unmount it after the test."""
    mounted = []

    def mount(megabytes: int):
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}M", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"cannot mount a tmpfs (this test needs root): {done.stderr}"
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


def stored(db) -> tuple[list, list, bool]:
    with duckdb.connect(str(db), read_only=True) as con:
        batches = con.execute("select batch_id, rows_inserted from batches").fetchall()
        audit = con.execute("select action, detail from audit_log").fetchall()
        built = con.execute("select count(*) from duckdb_tables() where table_name = 'build_state'").fetchall()[0][0]
    return batches, audit, bool(built)


def test_what_an_ingest_on_a_filling_disk_says_is_what_it_stored(tmp_path, small_disk, cli_process):
    export = tmp_path / "sessions.csv"
    export.write_text("patient_id,session_day,route\n" + "".join(f"P{n // 6:06d},{n % 6 * 3},IV\n"
                                                                  for n in range(LINES)))
    seen = set()
    for megabytes in (6, 8, 10, 12, 14, 40):
        disk = small_disk(megabytes)
        run = cli_process("ingest", export, "--db", disk / "c.duckdb", "--init")
        said = run.stdout + run.stderr
        batches, audit, _built = stored(disk / "c.duckdb")
        if not batches:  # the batch's own transaction failed: nothing, and it says so
            seen.add("nothing")
            assert run.returncode == 2 and "the disk is full; nothing was stored" in said, said
            assert "batch 1" not in said and audit == []
        elif run.returncode == 0:
            seen.add("all")
            summary = ingest_summary(run.stdout, "sessions.csv")
            assert batches == [(1, LINES)] and (summary["batch"], summary["read"], summary["inserted"]) == (1, LINES, LINES)
        else:  # stored, then the disk filled: it says the batch is stored and what was not done
            seen.add("stored, then full")
            assert run.returncode == 2
            assert batches == [(1, LINES)] and audit == [("upload", "sessions.csv: batch 1")]
            summary = ingest_summary(run.stdout, "sessions.csv")
            assert (summary["batch"], summary["read"], summary["inserted"]) == (1, LINES, LINES)
            assert "Stored and recorded; then" in said
            assert "nothing was stored" not in said, said
            assert "1 batch(es) above were stored before it" in run.stderr
            # Once there is space, the next command that reads the metrics builds them on the stored batch.
            subprocess.run(["mount", "-o", "remount,size=64M", str(disk)], check=True)
            weekly = cli_process("weekly", "--db", disk / "c.duckdb", "--json")
            assert weekly.returncode == 0, weekly.stderr
            assert stored(disk / "c.duckdb")[2]
    # The sizes cover each outcome: the test would prove nothing if the disk never filled after the commit.
    assert seen == {"nothing", "stored, then full", "all"}, seen


def test_when_the_second_file_fills_the_disk_the_first_is_said_to_be_stored(tmp_path, small_disk, cli_process):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_text("patient_id,session_day,route\n" + "".join(f"S{n:04d},0,IV\n" for n in range(1000)))
    big.write_text("patient_id,session_day,route\n" + "".join(f"P{n // 6:06d},{n % 6 * 3},IV\n" for n in range(LINES)))
    seen = set()
    for megabytes in (6, 8, 9):
        disk = small_disk(megabytes)
        run = cli_process("ingest", small, big, "--db", disk / "c.duckdb", "--init")
        said = run.stdout + run.stderr
        batches, audit, _built = stored(disk / "c.duckdb")
        if batches == [(1, 1000)]:
            seen.add("first stored, second not")
            summary = ingest_summary(run.stdout, "small.csv")
            assert run.returncode == 2 and (summary["batch"], summary["read"], summary["inserted"]) == (1, 1000, 1000)
            assert "then big.csv could not be stored (the disk is full; nothing of it was stored)" in said, said
            assert "nothing was stored, the database is as it was" not in said
            assert audit == [("upload", "small.csv: batch 1")]
        elif not batches:
            seen.add("nothing")
            assert "the disk is full; nothing was stored" in said and "batch 1" not in said
        else:
            seen.add("both")
    assert "first stored, second not" in seen, seen
