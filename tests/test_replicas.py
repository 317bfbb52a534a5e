"""Several dashboard replicas behind nginx (docs/deploy.md): each reads the newest copy the writer publishes
after an ingest, so an ingest never makes a reader wait.

A real nginx (Debian's package; its own configuration, pid file, logs and temporary folders in the test's
folder, listening on a loopback port) proxies to two real `ketamine-outcomes dashboard --replica` servers,
with sessions kept on one replica by a cookie and websockets upgraded. Chromium loads the Overview through
the proxy from each replica while a command-line ingest holds the database (paused mid-ingest, so the
overlap is certain), then sees the ingest's new series once it has published."""

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLE, answering, free_port, patient, start_command, stop_group
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.store import busy, publish
from ketamine_outcomes.ingest.pipeline import ingest_files

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
COOKIE = "ko_replica"
# Patients whose sessions the first load leaves out, and the second ingest brings (their series appear).
HELD_BACK = 60


def nginx_config(folder: Path, port: int, replicas: list[int]) -> str:
    """docs/deploy.md's configuration, with every path in `folder` and loopback ports (nothing of root's)."""
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in replicas)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers as root may write the test's own folders
    return f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    map $cookie_{COOKIE} $replica_key {{ '' $request_id; default $cookie_{COOKIE}; }}
    map $cookie_{COOKIE} $replica_cookie {{ '' "{COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax"; default ''; }}
    upstream dashboards {{
        hash $replica_key consistent;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://dashboards;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 1d;
            proxy_max_temp_file_size 0;
            add_header Set-Cookie $replica_cookie always;
            add_header X-Replica $upstream_addr always;
        }}
    }}
}}
"""


def start_nginx(folder: Path, replicas: list[int]) -> tuple[subprocess.Popen, str]:
    folder.mkdir()
    port = free_port()
    (folder / "nginx.conf").write_text(nginx_config(folder, port, replicas))
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e",
                                str(folder / "error.log")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if answering(f"{url}/_stcore/health", process, within=30, every=0.2, timeout=5):
        return process, url
    process.kill()
    log = (folder / "error.log").read_text() if (folder / "error.log").exists() else ""
    raise RuntimeError(f"nginx did not start:\n{process.stdout.read().decode(errors='replace')}\n{log}")


def replica_of(url: str, key: str) -> str:
    """Which replica (its address) nginx sends a browser holding this cookie to."""
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": f"{COOKIE}={key}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.headers["X-Replica"]


def cookie_per_replica(url: str, replicas: list[int]) -> dict[str, str]:
    """A cookie value that nginx sends to each replica (found by asking: the hash decides; bounded)."""
    found: dict[str, str] = {}
    for n in range(200):
        found.setdefault(replica_of(url, f"viewer{n}"), f"viewer{n}")
        if len(found) == len(replicas):
            return found
    raise AssertionError(f"nginx sent 200 cookies to {sorted(found)} only")


def series_count(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select count(*) from int_treatment_series").fetchone()[0]
    finally:
        con.close()


def as_tile(count: int) -> str:
    """A count as the Overview's tile shows it: rounded to 5 (docs/metrics.md, Small cells)."""
    return f"{int(suppress.rounded(count, 11)):,}"


def overview_series_tile(page, url: str) -> str:
    """Open the Overview and read its first tile (treatment series), as a director would."""
    page.goto(url, timeout=120_000)
    page.get_by_test_id("stMetricValue").first.wait_for(timeout=120_000)
    page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                           "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=120_000)
    return page.get_by_test_id("stMetricValue").first.inner_text()


@pytest.fixture
def writer_db(tmp_path) -> Path:
    """The sample clinic without the sessions of its last HELD_BACK patients, published; and the full
    sessions export the later ingest brings."""
    with open(SAMPLE / "sessions.csv", newline="") as source:
        rows = list(csv.reader(source))
    held = sorted({r[0] for r in rows[1:]})[-HELD_BACK:]
    first = tmp_path / "first" / "sessions.csv"
    first.parent.mkdir()
    with open(first, "w", newline="") as out:
        csv.writer(out).writerows([rows[0], *[r for r in rows[1:] if r[0] not in held]])
    db = tmp_path / "clinic.duckdb"
    for result in ingest_files(db, [SAMPLE / "patients.csv", first, SAMPLE / "outcomes.csv"]):
        assert result.refused is None, result.summary()
    subprocess.run([sys.executable, "-m", "ketamine_outcomes.cli", "publish", "--db", str(db)], check=True,
                   capture_output=True)
    return db


@pytest.mark.browser
@pytest.mark.server
@pytest.mark.subprocess
def test_replicas_behind_nginx_read_the_published_copy_while_an_ingest_holds_the_database(
        writer_db, tmp_path, browser):
    before = series_count(writer_db)
    replicas = [start_command("--db", writer_db, "--replica") for _ in range(2)]
    nginx = None
    ingest = None
    try:
        ports = [int(url.rsplit(":", 1)[1]) for _, url in replicas]
        nginx, url = start_nginx(tmp_path / "nginx", ports)
        cookies = cookie_per_replica(url, ports)
        assert sorted(cookies) == sorted(f"127.0.0.1:{p}" for p in ports)
        viewers = {}
        for address, value in cookies.items():
            context = patient(browser.new_context())
            context.add_cookies([{"name": COOKIE, "value": value, "url": url}])
            viewers[address] = context.new_page()

        # Each replica serves its viewer the published data, through the proxy (the websocket included:
        # the tile is drawn by the script run the websocket carries).
        for address, page in viewers.items():
            answered = page.goto(url, timeout=120_000)
            assert answered.headers["x-replica"] == address
            assert overview_series_tile(page, url) == as_tile(before)

        # An ingest of the full sessions export, paused while it holds the database.
        ingest = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "ingest", str(SAMPLE / "sessions.csv"),
                                   "--db", str(writer_db)], start_new_session=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while busy.current(writer_db) is None:  # announced: it holds the file
            assert ingest.poll() is None, ingest.stdout.read().decode()
            assert time.monotonic() < deadline, "the ingest never took the database"
            time.sleep(0.05)
        os.killpg(ingest.pid, signal.SIGSTOP)
        try:
            for address, page in viewers.items():
                start = time.monotonic()
                assert overview_series_tile(page, url) == as_tile(before)  # the last published data
                assert time.monotonic() - start < 60
                assert page.get_by_text(re.compile("waits for it|Refresh this page")).count() == 0
            # A replica never opens the database the ingest holds: only published copies.
            for process, _ in replicas:
                opened = {os.path.realpath(f"/proc/{pid}/fd/{fd}") for pid in group_pids(process.pid)
                          for fd in os.listdir(f"/proc/{pid}/fd")}
                assert str(writer_db.resolve()) not in opened
        finally:
            os.killpg(ingest.pid, signal.SIGCONT)
        assert ingest.wait(timeout=300) == 0, ingest.stdout.read().decode()
        after = series_count(writer_db)
        assert as_tile(after) != as_tile(before)  # the held-back patients' series, a change the tile shows
        assert series_count(publish.newest(writer_db)) == after
        assert len(publish.copies(writer_db)) == publish.KEEP  # older copies cleaned

        # The next view on each replica reads the new copy.
        for page in viewers.values():
            assert overview_series_tile(page, url) == as_tile(after)
    finally:
        if ingest is not None and ingest.poll() is None:
            os.killpg(ingest.pid, signal.SIGKILL)
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=30)
        for process, _ in replicas:
            stop_group(process)


def group_pids(leader: int) -> list[int]:
    """The processes of a process group (a replica's command and the Streamlit server it became)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == leader:
                    found.append(int(entry))
            except (ProcessLookupError, PermissionError):
                pass
    return found


@pytest.mark.subprocess  # writer_db publishes its copy with the command
def test_a_replica_refuses_an_upload_and_says_where_to_store(writer_db, tmp_path):
    """The Data page's upload on a replica stores nothing and says why (its copy is read-only)."""
    os.environ["KETAMINE_OUTCOMES_REPLICA"] = "1"
    os.environ["KETAMINE_OUTCOMES_DB"] = str(writer_db)
    try:
        from ketamine_outcomes.dashboard import data
        results = data.ingest_upload("sessions.csv", (SAMPLE / "sessions.csv").read_bytes())
    finally:
        del os.environ["KETAMINE_OUTCOMES_REPLICA"]
        del os.environ["KETAMINE_OUTCOMES_DB"]
    assert [r.refused for r in results] == [data.REPLICA_READ_ONLY]
    assert series_count(writer_db) == series_count(publish.newest(writer_db))
