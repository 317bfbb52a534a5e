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
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
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
            if uses_fixture(item, fixture):
                item.add_marker(marker)


def uses_fixture(item, name: str) -> bool:
    """Whether the test really gets the fixture `name`, not an argument that only shares its name: an AppTest test
    parametrized by a page's name (`page`) starts no browser. pytest stands a directly parametrized argument in for
    the fixture of that name with a pseudo-fixture of its own module; the real one is Playwright's or ours."""
    definitions = getattr(item, "_fixtureinfo", None) and item._fixtureinfo.name2fixturedefs.get(name)
    return bool(definitions) and not definitions[-1].func.__module__.startswith("_pytest")


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


# Streamlit marks its root element with the script run's state: "initial" before the first run, "running" or
# "rerunRequested" during one, "notRunning" once it has finished.
SCRIPT_FINISHED = ("() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"
                   " === 'notRunning'")
# Playwright's own defaults (30 s for an action or a navigation) are short for a page on a loaded 2-core machine.
ACTION_TIMEOUT_MS = 60_000
NAVIGATION_TIMEOUT_MS = 90_000


def wait_for_app(page, timeout: float = 90_000) -> None:
    """A page in chromium has drawn the app and finished its script run. (The status widget's absence, checked
    here before, said nothing: Streamlit shows it only 500 ms into a run, and not before the first one starts.)"""
    page.wait_for_function(SCRIPT_FINISHED, timeout=timeout)


def choose(page, label: str, typed: str, option: str) -> str:
    """Pick an option of the selectbox labelled `label` as a keyboard user does: type `typed` into it, wait until
    the option named `option` (a prefix of its text) is the focused one (Streamlit's match is fuzzy, best first),
    press Enter; again if a rerun closed the list. Not a click: the list of a box near the foot of the page can
    open below the window, where a click cannot land (seen in CI: "element is outside of the viewport" for 60 s).
    Returns the box's value."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_test_id("stSelectbox").filter(has_text=label).locator("input")
    offered = page.get_by_role("option", name=option)
    for _ in range(5):
        wait_for_app(page)
        box.click()
        box.fill(typed)
        try:
            offered.first.wait_for(timeout=10_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        focused = page.locator('[role="option"][data-focused="true"]')  # what Enter takes: the best match
        if focused.count() == 1 and focused.inner_text().startswith(option):
            page.keyboard.press("Enter")
            wait_for_app(page)
            if box.input_value().startswith(option):
                break
        page.keyboard.press("Escape")
    return box.input_value()


def settle(page, condition: str, timeout: float = 60_000) -> None:
    """Wait (bounded) for the state a test asserts next: on a busy machine a page's styles, Plotly's titles and its
    margins land in any order, seconds apart, and a check made on the way reads a page not yet laid out. Not
    reaching it is no error here: the test's own assertion then fails, with the values it found."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(condition, timeout=timeout)
    except PlaywrightTimeout:
        pass


def patient(page_or_context):
    """A page or browser context with Playwright's timeouts raised for a loaded machine; returns it."""
    page_or_context.set_default_timeout(ACTION_TIMEOUT_MS)
    page_or_context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return page_or_context


def new_page(browser, **options):
    """browser.new_page(**options) with the timeouts every test page has (see `context` below)."""
    return patient(browser.new_page(**options))


def free_port() -> int:
    """A loopback port nothing listens on, chosen at random below the kernel's ephemeral range (32768-60999). A port
    from bind(0) is one the kernel also hands to outgoing connections (chromium's, urllib's), which can take it
    before the server binds; xdist workers, and other checkouts on this machine, choosing among 12,000 rarely meet,
    and a server that finds its port taken is started again on another (start_server). SystemRandom: a plugin
    that seeds `random` alike in every worker must not make them all choose the same ports."""
    chooser = random.SystemRandom()
    for _ in range(100):
        port = chooser.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port between 20000 and 32000")


class Output:
    """A server's output (stdout and stderr together), read as it comes by a thread of its own: a pipe nobody reads
    fills at 64 KB and then stops the server in the middle of a write. Kept whole for the test's messages."""

    def __init__(self, stream):
        self._lines: list[str] = []
        self._ended = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, b""):
            with self._changed:
                self._lines.append(line.decode(errors="replace"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, found, within: float = 60) -> bool:
        """Whether found(lines so far) becomes true before `within` seconds pass (False at once when the output
        has ended without it)."""
        deadline = time.monotonic() + within
        with self._changed:
            while not found(self._lines):
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def wait_for_end(self, within: float = 30) -> None:
        """Until the server's output has ended (it closed its end of the pipe), up to `within` seconds."""
        self.wait_for(lambda lines: False, within)

    def line(self, number: int, within: float = 60) -> str:
        """The server's `number`th line (0 is its first), once printed."""
        assert self.wait_for(lambda lines: len(lines) > number, within), self.text()
        return self._lines[number]

    def text(self) -> str:
        with self._changed:
            return "".join(self._lines)


class PortTaken(RuntimeError):
    """The server found its port taken (by another test's server, or an outgoing connection) and ended."""


def start_server(command: list, port: int | None, health: str = "/_stcore/health", within: float = 120,
                 **popen) -> tuple[subprocess.Popen, str]:
    """A Streamlit server (`streamlit run`, or the command that becomes one) on a loopback port: `command` with
    "{port}" in place of the port. Ready when its health check answers and it has said it serves that port:
    (process, URL); what it prints is process.output. (Another server that took the port can answer the health
    check for the moments before this one ends, so the check alone does not say the server is this one.) With
    no port given, a port taken between choosing and binding is chosen again (bounded); a given port that is
    taken raises PortTaken."""
    for _ in range(1 if port else 5):
        chosen = port or free_port()
        process = subprocess.Popen([str(part).replace("{port}", str(chosen)) for part in command],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
        process.output = Output(process.stdout)
        url = f"http://127.0.0.1:{chosen}"
        if (answering(f"{url}{health}", process, within=within)
                and process.output.wait_for(lambda lines: any(f"URL: {url}" in line for line in lines), within=30)):
            return process, url
        end(process)
        if f"Port {chosen} is not available" not in process.output.text():
            raise RuntimeError(f"the server did not start: {command}\n{process.output.text()}")
        if port:
            raise PortTaken(f"port {chosen} is taken:\n{process.output.text()}")
    raise RuntimeError(f"five ports in a row were taken: {command}")


def end(process: subprocess.Popen) -> None:
    """Kill a server that did not start (its whole process group when it leads one), and wait for it."""
    if process.poll() is None:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    process.wait(timeout=30)
    process.output.wait_for_end()  # all it said, for the message


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


def start_dashboard(db: Path, port: int | None = None) -> subprocess.Popen:
    """A real `streamlit run` of the dashboard on `db`, ready when its health check answers; its address is
    process.url (on a free port unless one is given)."""
    entry = ROOT / "dashboard" / "app.py"
    process, url = start_server(
        [sys.executable, "-m", "streamlit", "run", entry, "--server.headless=true", "--server.address=127.0.0.1",
         "--server.port={port}", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"], port,
        env={**os.environ, "KETAMINE_OUTCOMES_DB": str(db)})
    process.url = url
    return process


def start_command(*args, cwd=None, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`ketamine-outcomes dashboard --port <free> ARGS` as a clinic starts it, in its own process group (so a
    test can see anything it leaves behind), ready when its health check answers: (process, URL). What it
    printed is process.output (its first line is the command's own)."""
    return start_server([sys.executable, "-m", "ketamine_outcomes.cli", "dashboard", "--port", "{port}", *args],
                        port, cwd=cwd, start_new_session=True)


def start_provider(users: list[dict], port: int | None = None) -> tuple[subprocess.Popen, str]:
    """A real OpenID Connect provider on this machine (oidc-provider-mock) with these users' claims, ready
    when its discovery document answers: (process, base URL). A provider that ends before answering (its port
    taken) is started again on another port when none was given (bounded)."""
    for _ in range(1 if port else 5):
        chosen = port or free_port()
        process = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(chosen),
                                    *[a for user in users for a in ("--user-claims", json.dumps(user))]],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{chosen}"
        # 120 s: it took 5 s to answer at load 10 on this 2-core machine; 30 s left a thin margin at load 19.
        if answering(f"{url}/.well-known/openid-configuration", process, within=120):
            return process, url
        if process.poll() is None:  # still running and not answering: not a taken port
            process.kill()
            process.wait(timeout=30)
            break
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
    process = start_dashboard(db)
    yield process.url
    stop_server(process)


@pytest.fixture
def context(context):
    """pytest-playwright's browser context, with timeouts for a page on a loaded machine (every `page` is in it)."""
    return patient(context)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium: Playwright's own browser download cannot work on this network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
