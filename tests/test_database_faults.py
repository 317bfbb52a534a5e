"""Guards what a person sees when the database file cannot be used: one sentence naming the file as they gave
it (no traceback, no server folders) from the command line and on the dashboard, for each fault (a mistyped
path, an empty, text, SQLite, truncated, corrupted or foreign file, a read-only file, a database moved away
while the dashboard runs, a full disk); the file is left exactly as it was, and nothing is created without
--init."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLE_FILES, open_app, shown
from ketamine_outcomes.cli import commands
from ketamine_outcomes.store import database

MISSING = "no such database (moved, deleted or mistyped?). Nothing was created; give --init to create a new one."
EMPTY = "an empty file (0 bytes), not a database. Give another --db, or remove the file and create the database with --init."
TEXT = "not a database file (a CSV export? ingest it with `ketamine-outcomes ingest FILE`). Give another --db."
SQLITE = "an SQLite database, not a ketamine-outcomes database (DuckDB). Give another --db."
TRUNCATED = ("the database file is damaged: it is shorter than it should be (truncated by a copy or a full disk?). "
             "Restore it from a backup (docs/deploy.md).")
CORRUPTED = "the database file is damaged (a checksum does not match). Restore it from a backup (docs/deploy.md)."
FOREIGN = "a DuckDB database, but not a ketamine-outcomes one. Give another --db, or --init to add this product's tables to it."
READ_ONLY = "this user may read the database but not write it; nothing was changed."
FULL = "the disk is full; nothing was stored, the database is as it was. Free some space and try again."


def truncated(path: Path, sample: Path) -> None:
    """A copy cut short inside its first data block. (DuckDB reads blocks as queries need them: a file cut
    further on answers the queries that read only its start, and names the damage at the first that
    reaches the missing part.)"""
    path.write_bytes(sample.read_bytes()[: 3 * 4096 + 1000])


def corrupted(path: Path, sample: Path) -> None:
    """Every data block of the sample gets 64 bytes overwritten (DuckDB's blocks are 256 KB after 12 KB of
    headers), so whichever block a command reads first fails its checksum."""
    data = bytearray(sample.read_bytes())
    for offset in range(3 * 4096 + 100, len(data), 262144):
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def sqlite_file(path: Path, sample: Path) -> None:
    with sqlite3.connect(path) as lite:
        lite.execute("create table sessions (patient_id text)")


def foreign(path: Path, sample: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create table visits (visit_id integer)")
    con.close()


# (name, how the file is made, the reason every command and page gives)
FAULTS = [
    ("missing", lambda path, sample: None, MISSING),
    ("empty", lambda path, sample: path.write_bytes(b""), EMPTY),
    ("text", lambda path, sample: path.write_text("patient_id,session_day,route\nP1,0,IV\n"), TEXT),
    ("sqlite", sqlite_file, SQLITE),
    ("truncated", truncated, TRUNCATED),
    ("corrupted", corrupted, CORRUPTED),
    ("foreign", foreign, FOREIGN),
]


@pytest.fixture
def faulty(tmp_path, sample_db):
    """Make the file for one fault beside a sample clinic: returns its path (which may not exist)."""

    def make(name, build) -> Path:
        path = tmp_path / f"{name}.duckdb"
        build(path, sample_db)
        return path

    return make


def contents(path: Path):
    return path.read_bytes() if path.exists() else None


COMMANDS = [["batches"], ["ingest", str(SAMPLE_FILES[0])], ["settings"], ["mart", "coverage"],
            ["dashboard", "--port", "1"]]


# `dashboard` on a path with no file yet starts, and its pages offer to create the database
# (test_dashboard_command.py): every other command names the missing file.
@pytest.mark.parametrize("command, name, build, reason", [
    pytest.param(command, *fault, id=f"{fault[0]}-{command[0]}") for command in COMMANDS for fault in FAULTS
    if (command[0], fault[0]) != ("dashboard", "missing")])
def test_the_command_line_names_the_fault_in_one_line(faulty, capsys, name, build, reason, command):
    path = faulty(name, build)
    before = contents(path)
    given = os.path.relpath(path)  # as a person types it
    assert commands.main([*command, "--db", given]) == 2
    err = capsys.readouterr().err
    assert err == f"{given}: {reason}\n"
    assert contents(path) == before  # nothing created, nothing written
    assert not Path(f"{path}.wal").exists()


@pytest.mark.parametrize("name, build, reason", FAULTS, ids=[f[0] for f in FAULTS])
def test_every_page_names_the_fault_without_a_traceback(faulty, monkeypatch, tmp_path, name, build, reason):
    path = faulty(name, build)
    before = contents(path)
    for page in ("overview", "data", "definitions"):
        app = open_app(path, monkeypatch, page)
        assert not app.exception, page
        assert [shown(e.value) for e in app.error] == [f"The database cannot be used. {path.name}: {reason}"], page
        assert str(tmp_path) not in str(app._tree)
    assert contents(path) == before


def test_pages_of_a_dashboard_started_on_a_new_path_offer_to_create_it_and_create_nothing(tmp_path, monkeypatch):
    """Started by `dashboard --db NEW` without --init (the command sets the variable): instead of the fault,
    an offer with a button; nothing exists until it is clicked (test_dashboard_command.py clicks it)."""
    path = tmp_path / "new.duckdb"
    monkeypatch.setenv("KETAMINE_OUTCOMES_OFFER_NEW", "1")
    for page in ("overview", "data"):
        app = open_app(path, monkeypatch, page)
        assert not app.exception and not app.error, page
        assert shown(app.info[0].value).startswith("There is no database at new.duckdb yet"), page
        assert [b.label for b in app.button] == ["Create an empty clinic database"], page
    assert not path.exists()


def test_the_create_button_names_what_stops_it_and_creates_nothing_else(tmp_path, monkeypatch):
    """Its folder was removed (a share unmounted) after the dashboard started, or is a file: one sentence, no
    traceback, and the folder is not made again."""
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("KETAMINE_OUTCOMES_OFFER_NEW", "1")
    for folder in (tmp_path / "share", tmp_path / "afile"):
        app = open_app(folder / "new.duckdb", monkeypatch, "overview")
        app.button[0].click().run()
        assert not app.exception
        assert [shown(e.value) for e in app.error] == [
            "The database cannot be used. new.duckdb: its folder is not there (gone, or no longer mounted?); "
            "nothing was created."]
    assert not (tmp_path / "share").exists()
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_a_database_name_holding_markdown_is_shown_as_text_in_a_fault(tmp_path, monkeypatch):
    path = tmp_path / "*em*_[link](javascript:x)_$x^2$.duckdb"
    app = open_app(path, monkeypatch, "overview")
    assert [shown(e.value) for e in app.error] == [f"The database cannot be used. {path.name}: {MISSING}"]
    assert "\\*em\\*" in app.error[0].value and "\\[link\\]" in app.error[0].value


def test_a_sign_in_before_the_database_is_created_is_logged_not_a_fault(tmp_path, monkeypatch, caplog):
    """Behind sign-in the audit trail is written before any page: with no database yet (and the offer on)
    the sign-in is logged instead, and nothing is created."""
    from ketamine_outcomes.dashboard import signin

    path = tmp_path / "new.duckdb"
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(path))
    monkeypatch.setenv("KETAMINE_OUTCOMES_OFFER_NEW", "1")
    signin.record_audit("ana@clinic.example", "analyst", "sign-in", "", once=True)
    assert "not recorded in the audit trail (there is no database yet" in caplog.text
    assert not path.exists()
    monkeypatch.delenv("KETAMINE_OUTCOMES_OFFER_NEW")
    with pytest.raises(database.DatabaseFault, match="no such database"):
        signin.record_audit("ana@clinic.example", "analyst", "sign-in", "", once=True)


def test_the_dashboard_command_refuses_a_database_in_a_missing_folder(tmp_path, capsys):
    """A mistyped or unmounted folder is named at once; only --init creates folders."""
    path = tmp_path / "mistyped" / "clinic.duckdb"
    assert commands.main(["dashboard", "--port", "1", "--db", str(path)]) == 2
    # The wording is the point: it names the path and the one way to create it (--init).
    assert capsys.readouterr().err == (f"{path}: no such folder (mistyped, or not mounted?). Nothing was created; "
                                       "give --init to create the folder and a new database.\n")
    assert not (tmp_path / "mistyped").exists()


def test_init_names_a_file_where_a_folder_of_the_path_should_be(tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    path = tmp_path / "afile" / "c.duckdb"
    assert commands.main(["settings", "--db", str(path), "--init"]) == 2
    # The wording is the point: it says which part of the path is in the way.
    assert capsys.readouterr().err == f"{path}: its folder cannot be made: a file has the name of a folder in the path.\n"
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_init_creates_a_new_database_and_adds_the_tables_to_a_foreign_one(tmp_path, capsys, sample_db):
    new, other = tmp_path / "new.duckdb", tmp_path / "other.duckdb"
    foreign(other, sample_db)
    assert commands.main(["settings", "--db", str(new), "--init"]) == 0
    assert commands.main(["ingest", str(SAMPLE_FILES[0]), "--db", str(other), "--init", "--quiet"]) == 0
    with database.open_file(other, read_only=True) as con:
        assert con.execute("select (select count(*) from visits), (select count(*) from patients)").fetchall() \
            == [(0, 600)]
    assert database.is_ours(database.open_file(new, read_only=True))


@pytest.mark.parametrize("theirs, named", [
    (["create table sessions (x integer)"], "a table named sessions that is not"),
    (["create table sessions (x integer)", "create view settings as select 1 as y", "create macro clean(v) as v"],
     "a macro named clean, a table named sessions, a view named settings that are not"),
])
def test_init_refuses_a_foreign_database_that_uses_our_names_and_changes_nothing(tmp_path, capsys, theirs, named):
    """Another program's DuckDB file with its own `sessions` table: adding ours would alter or replace it."""
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        for statement in theirs:
            con.execute(statement)
        con.execute("create table visits (visit_id integer)")
    before = other.read_bytes()
    given = os.path.relpath(other)
    assert commands.main(["ingest", str(SAMPLE_FILES[0]), "--db", given, "--init"]) == 2
    # The wording is the point: it names the clashing objects and what to do (another --db).
    assert capsys.readouterr().err == f"{given}: a DuckDB database with {named} this product's; nothing was " \
                                      "changed. Give another --db.\n"
    assert other.read_bytes() == before
    assert not Path(f"{other}.wal").exists()


@pytest.fixture
def read_only_copy(tmp_path, sample_db):
    """The sample clinic in a file this process may read but not write: `chattr +i` for root (who may
    write any file whatever its mode), mode 0444 for anyone else."""
    path = tmp_path / "readonly.duckdb"
    shutil.copy(sample_db, path)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o444)
    yield path
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.subprocess
def test_a_read_only_database_is_viewed_and_refuses_writes_in_one_line(read_only_copy, capsys):
    given = os.path.relpath(read_only_copy)
    before = read_only_copy.read_bytes()
    assert commands.main(["batches", "--db", given]) == 0
    assert "outcomes.csv" in capsys.readouterr().out
    assert commands.main(["ingest", str(SAMPLE_FILES[0]), "--db", given]) == 2
    assert capsys.readouterr().err == f"{given}: {READ_ONLY}\n"
    assert commands.main(["settings", "set", "min_cell_size", "12", "--db", given]) == 2
    assert capsys.readouterr().err == f"{given}: {READ_ONLY}\n"
    assert read_only_copy.read_bytes() == before


@pytest.mark.subprocess
def test_the_dashboard_shows_a_read_only_database_and_refuses_an_upload(read_only_copy, monkeypatch):
    app = open_app(read_only_copy, monkeypatch, "overview")
    assert not app.exception and not app.error
    assert app.metric[2].value == "600"
    app.switch_page("app_pages/data.py").run()
    app.file_uploader(key="data_upload").set_value([("p.csv", SAMPLE_FILES[0].read_bytes(), "text/csv")]).run()
    assert not app.exception
    assert [shown(e.value) for e in app.error] == [f"p.csv: refused, nothing stored. {READ_ONLY}"]


@pytest.mark.subprocess
def test_a_read_only_database_an_older_version_wrote_is_named_out_of_date_not_shown_half(tmp_path, sample_db,
                                                                                       monkeypatch):
    """An older version's database lacks a setting this one reads (bp_peak_systolic) and its metric tables
    were built by other code; read-only, neither can be brought up to date, so the dashboard says so."""
    path = tmp_path / "older.duckdb"
    shutil.copy(sample_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("delete from default_settings where name = 'bp_peak_systolic'")
    subprocess.run(["chattr", "+i", str(path)], check=True) if os.geteuid() == 0 else path.chmod(0o444)
    try:
        app = open_app(path, monkeypatch, "safety")
        assert not app.exception
        assert [shown(e.value) for e in app.error] == [f"The database cannot be used. older.duckdb: {database.OUT_OF_DATE}"]
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    # With write access (a server that has not seen it read-only) it is brought up to date and shown.
    writable = tmp_path / "older_writable.duckdb"
    shutil.copy(path, writable)
    app = open_app(writable, monkeypatch, "safety")
    assert not app.exception and not app.error


def test_a_database_moved_away_while_the_dashboard_runs_is_not_recreated(tmp_path, sample_db, monkeypatch):
    path = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, path)
    app = open_app(path, monkeypatch, "overview")
    assert app.metric[2].value == "600"
    path.rename(tmp_path / "elsewhere.duckdb")
    app.run()
    assert not app.exception
    assert [shown(e.value) for e in app.error] == [f"The database cannot be used. clinic.duckdb: {MISSING}"]
    assert not path.exists()


@pytest.fixture
def full_disk(tmp_path, sample_db):
    """The sample clinic on a file system with 64 KB left: a tmpfs just bigger than the file (mounting
    needs root; there is no honest way to fill a disk without it)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    size = sample_db.stat().st_size + 64 * 1024
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        path = mount / "clinic.duckdb"
        shutil.copy(sample_db, path)
        yield path
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.subprocess
def test_a_full_disk_stores_nothing_and_says_so(full_disk, capsys, tmp_path):
    given = os.path.relpath(full_disk)
    more = tmp_path / "more_sessions.csv"
    more.write_text("patient_id,session_day,route\n" + "".join(f"Q{n},0,IV\n" for n in range(20000)))
    assert commands.main(["ingest", str(more), "--db", given]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"{given}: {FULL}"
    with database.open_file(full_disk, read_only=True) as con:
        assert con.execute("select count(*), max(batch_id) from batches").fetchall() == [(3, 3)]
        assert con.execute("select count(*) from sessions where patient_id like 'Q%'").fetchall() == [(0,)]


@pytest.mark.subprocess
def test_a_full_disk_refuses_an_upload_on_the_data_page(full_disk, monkeypatch):
    more = "patient_id,session_day,route\n" + "".join(f"Q{n},0,IV\n" for n in range(20000))
    app = open_app(full_disk, monkeypatch, "data")
    app.file_uploader(key="data_upload").set_value([("more.csv", more.encode(), "text/csv")]).run()
    assert not app.exception
    assert [shown(e.value) for e in app.error] == [f"more.csv: refused, nothing stored. {FULL}"]
