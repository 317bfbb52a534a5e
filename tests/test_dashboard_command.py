"""Guards `ketamine-outcomes dashboard` as a clinic starts it: from any folder, on a new database, with the
repo's Streamlit settings (no developer toolbar, no traceback in the browser), stopped by one SIGTERM with
nothing left running, and never serving the network without sign-in by accident."""

import os
import signal
import time
import tomllib
import urllib.request

import duckdb
import pytest

from conftest import ROOT, group_alive, start_command, stop_group


@pytest.fixture
def elsewhere(tmp_path):
    """A working directory outside the repo, as for a clinic's service account."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.mark.browser
@pytest.mark.server
def test_a_new_database_is_created_empty_and_the_dashboard_opens_on_it(page, elsewhere):
    db = elsewhere / "new-clinic" / "clinic.duckdb"
    process, url = start_command("--db", db, "--init", cwd=elsewhere)
    try:
        assert "created an empty database" in process.output.line(0)
        con = duckdb.connect(str(db), read_only=True)
        assert con.execute("select count(*) from batches").fetchall() == [(0,)]
        con.close()
        page.goto(url)
        page.get_by_text("holds no treatment series yet").wait_for(timeout=60_000)
        # The repo's .streamlit/config.toml is read though the command runs in another folder:
        # toolbarMode "viewer" hides the Deploy button and the developer menu even on localhost.
        page.get_by_test_id("stMainMenu").wait_for(timeout=60_000)
        assert page.get_by_test_id("stAppDeployButton").count() == 0
    finally:
        stop_group(process)
    # The same file keeps tracebacks (server paths, data values) out of every browser.
    settings = tomllib.loads((ROOT / "dashboard" / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["showErrorDetails"] == "none"


@pytest.mark.browser
@pytest.mark.server
def test_a_new_path_without_init_is_created_only_when_the_page_is_asked_to(page, elsewhere):
    """`dashboard --db NEW` (issue 10): the server starts and creates nothing; a click creates the empty
    database and lands on the Data page, which says what to upload."""
    db = elsewhere / "clinic.duckdb"
    process, url = start_command("--db", db, cwd=elsewhere)
    try:
        assert "clinic.duckdb: no database there yet; nothing was created" in process.output.line(0)
        page.goto(url)
        page.get_by_text("There is no database at clinic.duckdb yet").wait_for(timeout=60_000)
        assert not db.exists()
        page.get_by_role("button", name="Create an empty clinic database").click()
        page.get_by_text("This clinic has no data yet").wait_for(timeout=60_000)
        assert page.url.endswith("/data")
    finally:
        stop_group(process)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select (select count(*) from batches), (select count(*) from sessions)").fetchall() == [(0, 0)]
    assert con.execute("select action from audit_log where action = 'create'").fetchall() == [("create",)]
    con.close()


@pytest.mark.server
def test_sigterm_stops_the_server_and_leaves_nothing_running(sample_db, elsewhere):
    process, url = start_command("--db", sample_db, cwd=elsewhere)
    try:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) is not None
        # Nothing of the command's process group is left, and the port no longer answers.
        deadline = time.monotonic() + 60  # bounded; a loaded machine can take seconds to reap the group
        while group_alive(process) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_alive(process)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
    finally:
        stop_group(process)


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", "clinic-server.local", "::"])
def test_a_network_address_without_access_is_refused_naming_access(tmp_path, address, cli_process):
    db = tmp_path / "clinic.duckdb"
    run = cli_process("dashboard", "--db", db, "--address", address)
    assert run.returncode == 2
    assert f"--address {address}" in run.stderr and "--access ACCESS.toml" in run.stderr
    assert not db.exists()  # refused before anything was created


def test_an_unusable_access_file_is_refused_with_its_problem(tmp_path, cli_process):
    access = tmp_path / "access.toml"
    access.write_text('[auth]\nredirect_uri = "http://127.0.0.1:8501/"\n')
    run = cli_process("dashboard", "--db", tmp_path / "c.duckdb", "--access", access)
    assert run.returncode == 2
    assert "[auth] needs cookie_secret, client_id, client_secret, server_metadata_url" in run.stderr
    assert cli_process("dashboard", "--access", tmp_path / "missing.toml").stderr.strip().endswith("no such access file")


@pytest.mark.server
def test_no_sign_in_warns_when_it_starts(sample_db, elsewhere):
    process, _url = start_command("--db", sample_db, "--no-sign-in", cwd=elsewhere)
    try:
        assert "WARNING: --no-sign-in: anyone who reaches 127.0.0.1" in process.output.line(0)
    finally:
        stop_group(process)
