"""Guards the dashboard while another process holds the database (DuckDB lets no other process open it then,
not even read-only): pages read the reading copy a command-line ingest leaves and say which ingest runs and
since when; an upload meanwhile waits for the ingest and then lands; without a copy a page says what holds
the file instead of failing; a status left by a killed ingest is ignored; the command line's ingest leaves
both files only while it runs."""

import json
import re
import subprocess
import sys
import threading

import pytest

from conftest import SAMPLE_FILES, open_app, shown
from ketamine_outcomes.store import busy
from ketamine_outcomes.cli import commands
from ketamine_outcomes.store import database

HOLDER = """
import sys
from ketamine_outcomes.store import busy
from ketamine_outcomes.store import database
db, copy = sys.argv[1], sys.argv[2] == "copy"
con = database.open_file(db)
with busy.announced(con, db, ["big_sessions.csv"]):
    if not copy:
        busy.copy_path(db).unlink()
        record = busy.status_path(db).read_text().replace('"copy": true', '"copy": false')
        busy.status_path(db).write_text(record)
    print("holding", flush=True)
    sys.stdin.readline()
con.close()
"""


@pytest.fixture
def held(clinic_db):
    """Another process holding the sample clinic as a command-line ingest does (busy.announced); release()
    ends it. Parametrised indirectly: "copy" leaves the reading copy, anything else leaves none."""
    processes = []

    def hold(copy: bool = True):
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(clinic_db), "copy" if copy else "none"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline() == "holding\n"
        processes.append(process)
        return process

    yield hold
    for process in processes:
        if process.poll() is None:
            process.stdin.write("\n")
            process.stdin.flush()
        process.wait(timeout=30)


def release(process) -> None:
    process.stdin.write("\n")
    process.stdin.flush()
    process.wait(timeout=30)


@pytest.mark.subprocess
def test_pages_show_the_last_committed_data_and_the_running_ingest(held, clinic_db, monkeypatch):
    held()
    since = busy.current(clinic_db).since
    # Making the reading copy kept the holder's lock (closing any descriptor of the file would drop it).
    with pytest.raises(database.DatabaseBusy):
        database.open_file(clinic_db, read_only=True)
    for page in ("overview", "data"):
        app = open_app(clinic_db, monkeypatch, page)
        assert not app.exception, page
        notice = app.info[0].value
        assert notice.startswith("An ingest of big_sessions.csv (command line, ")
        assert re.search(f"has been running since {since:%H:%M} UTC \\(\\d+ min\\): pages show the data as it was "
                         "before it began.", notice), notice
    app.switch_page("app_pages/overview.py").run()
    assert app.metric[2].value == "600"


@pytest.mark.subprocess
def test_an_upload_during_the_ingest_waits_for_it_then_lands(held, clinic_db, monkeypatch):
    holder = held()
    app = open_app(clinic_db, monkeypatch, "data")
    threading.Timer(3, release, args=(holder,)).start()
    app.file_uploader(key="data_upload").set_value(
        [("late.csv", b"patient_id,session_day,route\nL1,0,IV\nL2,0,IM\n", "text/csv")]).run()
    assert not app.exception
    assert shown(app.success[0].value).startswith("late.csv: sessions, batch 4: 2 lines read, 2 inserted")
    with database.open_file(clinic_db, read_only=True) as con:
        assert con.execute("select count(*) from sessions where patient_id in ('L1', 'L2')").fetchall() == [(2,)]


@pytest.mark.subprocess
def test_without_a_copy_the_page_says_what_holds_the_database(held, clinic_db, monkeypatch):
    held(copy=False)
    monkeypatch.setattr("ketamine_outcomes.dashboard.data.WAIT_SECONDS", 1)
    app = open_app(clinic_db, monkeypatch, "overview")
    assert not app.exception
    assert app.warning[0].value.startswith("An ingest of big_sessions.csv (command line, ")
    assert app.warning[0].value.endswith(". Refresh this page when it is done.")


@pytest.mark.subprocess
def test_a_status_left_by_a_killed_ingest_is_ignored(clinic_db):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    busy.status_path(clinic_db).write_text(json.dumps({
        "files": ["s.csv"], "user": "ana", "since": "2026-01-01T00:00:00", "pid": int(gone),
        "host": __import__("socket").gethostname(), "copy": False}))
    assert busy.current(clinic_db) is None


def test_the_command_line_ingest_leaves_its_status_only_while_it_runs(clinic_db, capsys):
    assert commands.main(["ingest", str(SAMPLE_FILES[0]), "--db", str(clinic_db), "--quiet"]) == 0
    assert "600 duplicate" in capsys.readouterr().out
    assert not busy.status_path(clinic_db).exists() and not busy.copy_path(clinic_db).exists()
