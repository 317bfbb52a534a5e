"""Fixtures and helpers shared by the suite: a real DuckDB file per test, exports written from text, the
sample clinic database, the command line (in this process, or as its own process where the process is
the point), the dashboard through AppTest, and a real Streamlit server with Debian's chromium.

Tiers (pyproject.toml's markers; `make check` runs the tests with none of them, `make test` all):
`browser` drives chromium, `server` starts a server process, `subprocess` runs a program as its own
process, `slow` takes seconds of CPU here. A test using a fixture below that starts a browser, server
or process is marked by pytest_collection_modifyitems; a test that starts one itself carries the
marker."""

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

try:  # the repository's dashboard/ is installed as ketamine_outcomes.dashboard (pyproject.toml's mapping)
    import ketamine_outcomes.dashboard  # noqa: F401
except ModuleNotFoundError:
    pytest.exit("ketamine_outcomes.dashboard is not importable: pyproject.toml's package mapping changed "
                "since this venv was installed; run: .venv/bin/pip install -e '.[test]'", returncode=4)

from ketamine_outcomes.store import database
from ketamine_outcomes.cli import commands
from ketamine_outcomes.ingest.pipeline import ingest_file, ingest_files

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
SAMPLE_FILES = [SAMPLE / "patients.csv", SAMPLE / "sessions.csv", SAMPLE / "outcomes.csv"]
ARTIFACTS = ROOT / "test-artifacts"
# Debian's chromium, headless, with its calls home switched off (this network is closed).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from the sample clinic")


# Fixtures that start something outside this process, and the tier marker each gives a test using them.
TIER_OF_FIXTURE = {"page": "browser", "context": "browser", "browser": "browser", "dashboard_url": "server",
                   "cli_process": "subprocess"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, marker in TIER_OF_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@dataclass(frozen=True)
class Ran:
    """What a command did: its exit code and what it printed (named as subprocess.CompletedProcess names
    them, so a test reads the same whichever way the command ran)."""
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args, cwd: Path | None = None) -> Ran:
    """`ketamine-outcomes ARGS` in this process (cli.main, as the console script calls it), without the
    interpreter's start-up a process costs (about 0.9 s each)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or Path.cwd()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = commands.main([str(a) for a in args])
        except SystemExit as stop:  # argparse refusing the arguments
            code = stop.code if isinstance(stop.code, int) else 1
    return Ran(code, out.getvalue(), err.getvalue())


def run_cli_process(*args, cwd: Path | None = None, timeout: float = 300, **options) -> subprocess.CompletedProcess:
    """`python -m ketamine_outcomes.cli ARGS` as its own process: for what only a process shows (exit on a
    closed pipe, a killed ingest, locks held by another process, a command that replaces its process)."""
    return subprocess.run([sys.executable, "-m", "ketamine_outcomes.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, **options)


@pytest.fixture
def cli():
    """The command line in this process: cli("ingest", path, "--db", db) -> Ran."""
    return run_cli


@pytest.fixture
def cli_process():
    """The command line as its own process (the test is marked `subprocess`)."""
    return run_cli_process


@pytest.fixture
def db_path(tmp_path) -> Path:
    """A fresh database file on disk, with the schema and definitions, for one test."""
    path = tmp_path / "clinic.duckdb"
    database.connect(path).close()
    return path


@pytest.fixture
def con(db_path):
    """A writable connection to the test's database."""
    connection = database.connect(db_path)
    yield connection
    connection.close()


@pytest.fixture
def export(tmp_path):
    """Write an export from text (as an EHR would) and return its path: export("a.csv", "x,y\\n1,2\\n")."""

    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def load(con, export):
    """Write an export and ingest it into the test's database; returns the BatchResult."""

    def run(name: str, text: str, **options):
        return ingest_file(con, export(name, text), **options)

    return run


def table_snapshot(con) -> dict:
    """Every stored table's rows, sorted, to compare the database before and after."""
    tables = ("batches", "patients", "sessions", "assessments", "rejects", "replacements")
    return {t: sorted(map(repr, con.execute(f"select * from {t}").fetchall())) for t in tables}


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """The synthetic sample clinic ingested once into a database file, shared read-only by the session."""
    path = tmp_path_factory.mktemp("sample") / "clinic.duckdb"
    for result in ingest_files(path, SAMPLE_FILES):
        assert result.refused is None and result.rows_rejected == 0, result.summary()
    return path


@pytest.fixture
def clinic_db(tmp_path, sample_db) -> Path:
    """A private copy of the sample clinic: the app holds its own write connection to it."""
    path = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, path)
    return path


def open_app(db: Path, monkeypatch, page: str = "overview") -> AppTest:
    """The dashboard on `db` through Streamlit's AppTest (in this process), on one page."""
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(db))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    return app.switch_page(f"app_pages/{page}.py").run()


def shown(markdown: str) -> str:
    """What a reader sees of an element's markdown: export text in it is escaped (safe_text.markdown)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def numbers_in(text: str) -> list[float]:
    """The numbers a sentence states, in order (1,234 -> 1234; 48% -> 48; 27%-39% -> 27, 39): what a test of a
    sentence checks when the numbers, not the wording, are what a reader relies on."""
    return [float(number.replace(",", "")) for number in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text)]


def sentence_about(text: str, opening: str) -> str:
    """The one sentence (or bullet line) of `text` that opens with `opening`; fails when none or several do."""
    parts = [part.strip() for part in re.split(r"(?<=[.!?])\s+|\n", text)]
    found = [part for part in parts if part.startswith(opening)]
    assert len(found) == 1, f"{len(found)} sentences open with {opening!r} in {text!r}"
    return found[0]


def ingest_summary(output: str, file_name: str) -> dict[str, int]:
    """The numbers the ingest's summary line for `file_name` gives: batch, read, inserted, replaced, duplicate,
    rejected (those it states). Fails when the file has no summary line."""
    [line] = [line for line in output.splitlines() if line.startswith(f"{file_name}: ") and " lines read" in line]
    counts = {"batch": int(re.search(r"batch (\d+):", line).group(1))}
    for number, what in re.findall(r"(\d+) (lines read|inserted|replaced|duplicate|rejected)", line):
        counts["read" if what == "lines read" else what] = int(number)
    return counts


def wait_for_app(page) -> None:
    """A page in chromium has drawn the app and finished its run."""
    page.get_by_test_id("stApp").wait_for(timeout=30_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answering(url: str, process: subprocess.Popen, within: float = 60, every: float = 0.3,
              timeout: float = 2) -> bool:
    """Whether `url` answers (a 2xx) before `within` seconds pass, asking every `every` s while `process` (the
    server behind it) runs: False at once when it ends. The one wait every server start here uses."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=timeout).close()
            return True
        except OSError:
            time.sleep(every)
    return False


def start_dashboard(db: Path, port: int) -> subprocess.Popen:
    """A real `streamlit run` of the dashboard on `db`, ready when its health check answers."""
    entry = ROOT / "dashboard" / "app.py"
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(entry), "--server.headless=true",
         "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
         "--server.fileWatcherType=none"],
        env={**os.environ, "KETAMINE_OUTCOMES_DB": str(db)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    if answering(f"http://127.0.0.1:{port}/_stcore/health", process):
        return process
    process.kill()
    raise RuntimeError("the dashboard did not start:\n" + process.stdout.read().decode(errors="replace"))


def start_command(*args, cwd=None, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`ketamine-outcomes dashboard --port <free> ARGS` as a clinic starts it, in its own process group (so a
    test can see anything it leaves behind), ready when its health check answers: (process, URL)."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "dashboard", "--port", str(port),
                                *map(str, args)], cwd=cwd, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if answering(f"{url}/_stcore/health", process):
        return process, url
    stop_group(process)
    raise RuntimeError("the dashboard did not start:\n" + process.stdout.read().decode(errors="replace"))


def start_provider(users: list[dict], port: int | None = None) -> tuple[subprocess.Popen, str]:
    """A real OpenID Connect provider on this machine (oidc-provider-mock) with these users' claims, ready
    when its discovery document answers: (process, base URL)."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(port),
                                *[a for user in users for a in ("--user-claims", json.dumps(user))]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if answering(f"{url}/.well-known/openid-configuration", process, within=30):
        return process, url
    process.kill()
    raise RuntimeError("oidc-provider-mock did not start")


def stop_server(process: subprocess.Popen) -> None:
    """End a server started here: SIGTERM, and SIGKILL if it has not ended in 30 s (a loaded machine can
    keep Streamlit's shutdown waiting on its sessions)."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def group_alive(process: subprocess.Popen) -> bool:
    try:
        os.killpg(process.pid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_group(process: subprocess.Popen) -> None:
    """End a start_command() process and anything it started (by its own process group)."""
    if group_alive(process):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


@pytest.fixture(scope="session")
def dashboard_url(tmp_path_factory, sample_db):
    """The dashboard served by a real Streamlit server on a copy of the sample database."""
    db = tmp_path_factory.mktemp("served") / "clinic.duckdb"
    shutil.copy(sample_db, db)
    port = free_port()
    process = start_dashboard(db, port)
    yield f"http://127.0.0.1:{port}"
    stop_server(process)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium: Playwright's own browser download cannot work on this network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
