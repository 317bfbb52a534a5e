"""Guards `ketamine-outcomes dashboard` as a clinic starts it: from any folder, on a new database, with the
repo's Streamlit settings (no developer toolbar, no traceback in the browser), and stopped by one SIGTERM
with nothing left running."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import tomllib

import duckdb
import pytest

from conftest import ROOT, free_port

pytestmark = pytest.mark.browser


def start_command(*args, cwd) -> tuple[subprocess.Popen, str]:
    """`ketamine-outcomes dashboard ...` in its own process group (so the test can see anything it leaves
    behind), ready when the health check answers: (the process, its URL)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "dashboard", "--port", str(port),
                                *map(str, args)], cwd=cwd, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    stop_group(process)
    raise RuntimeError("the dashboard did not start:\n" + process.stdout.read().decode(errors="replace"))


def group_alive(process) -> bool:
    try:
        os.killpg(process.pid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_group(process) -> None:
    if group_alive(process):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


@pytest.fixture
def elsewhere(tmp_path):
    """A working directory outside the repo, as for a clinic's service account."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_a_new_database_is_created_empty_and_the_dashboard_opens_on_it(page, elsewhere):
    db = elsewhere / "new-clinic" / "clinic.duckdb"
    process, url = start_command("--db", db, cwd=elsewhere)
    try:
        assert b"created an empty database" in process.stdout.readline()
        con = duckdb.connect(str(db), read_only=True)
        assert con.execute("select count(*) from batches").fetchall() == [(0,)]
        con.close()
        page.goto(url)
        page.get_by_text("holds no treatment series yet").wait_for(timeout=30_000)
        # The repo's .streamlit/config.toml is read though the command runs in another folder:
        # toolbarMode "viewer" hides the Deploy button and the developer menu even on localhost.
        page.get_by_test_id("stMainMenu").wait_for(timeout=10_000)
        assert page.get_by_test_id("stAppDeployButton").count() == 0
    finally:
        stop_group(process)
    # The same file keeps tracebacks (server paths, data values) out of every browser.
    settings = tomllib.loads((ROOT / "dashboard" / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["showErrorDetails"] == "none"


def test_sigterm_stops_the_server_and_leaves_nothing_running(sample_db, elsewhere):
    process, url = start_command("--db", sample_db, cwd=elsewhere)
    try:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) is not None
        # Nothing of the command's process group is left, and the port no longer answers.
        deadline = time.monotonic() + 10
        while group_alive(process) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_alive(process)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
    finally:
        stop_group(process)
