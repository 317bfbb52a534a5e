"""The package as a clinic installs it: a wheel built from the checkout, installed into a new virtual
environment in a folder outside the checkout, run from another folder. It ingests the sample clinic,
prints a mart, and serves the dashboard, whose Overview chromium draws.

Nothing of the checkout is importable there: the environment is made without the checkout on any path,
and the test checks the installed package's own files answer (SQL, pages, Streamlit config, docs)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, SAMPLE_FILES, start_server
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import marts

# Builds the wheel and installs it into a new venv: processes of their own.
pytestmark = pytest.mark.subprocess


def run(*command, cwd: Path, timeout: float = 900, attempts: int = 1) -> subprocess.CompletedProcess:
    """Run a command to its end; it must succeed. `attempts`: for pip, which reaches the package index (a dropped
    connection there is no fault of the package; a real fault fails every attempt alike)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for attempt in range(attempts):
        done = subprocess.run([str(c) for c in command], cwd=cwd, env=environment, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode == 0:
            break
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


# What a wheel is not built from: setuptools writes build/ and *.egg-info into the tree it builds.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                    "test-artifacts", "data", "cache", "*.duckdb*")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the clean environment's bin folder, a working folder), both outside the checkout."""
    folder = tmp_path_factory.mktemp("wheel")
    assert ROOT not in folder.parents
    # Built from a copy: setuptools writes build/ into the tree it builds, and two xdist workers (each with its own
    # copy of this fixture) building the checkout at once wrote over each other's.
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE, symlinks=True)
    run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-q", "-w", folder / "dist", cwd=folder,
        attempts=3)
    (wheel,) = (folder / "dist").glob("ketamine_outcomes-*.whl")
    run(sys.executable, "-m", "venv", folder / "venv", cwd=folder)
    run(folder / "venv" / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=folder, attempts=3)
    work = folder / "clinic"
    work.mkdir()
    return folder / "venv" / "bin", work


def test_the_wheel_installs_only_the_product_and_reads_its_files_from_the_package(installed):
    bin_folder, work = installed
    found = json.loads(run(bin_folder / "python", "-c", (
        "import importlib.util, json, ketamine_outcomes as k; from importlib import resources; "
        "print(json.dumps({'package': k.__file__, 'dashboard': importlib.util.find_spec('dashboard') is not None, "
        "'sql': sum(1 for f in resources.files('ketamine_outcomes.queries').iterdir() if f.name.endswith('.sql')) "
        "+ sum(1 for d in resources.files('ketamine_outcomes.queries').iterdir() if d.is_dir() "
        "for f in d.iterdir() if f.name.endswith('.sql')), "
        "'config': resources.files('ketamine_outcomes.dashboard').joinpath('.streamlit/config.toml').is_file(), "
        "'metrics_doc': resources.files('ketamine_outcomes.docs').joinpath('metrics.md').is_file()}))"),
        cwd=work).stdout)
    assert Path(found["package"]).is_relative_to(bin_folder.parent)  # the installed copy, not the checkout
    assert found["dashboard"] is False  # no generic top-level package
    in_checkout = len(list((ROOT / "queries").rglob("*.sql")))
    assert found["sql"] == in_checkout
    assert found["config"] and found["metrics_doc"]


@pytest.mark.browser
@pytest.mark.server
def test_the_installed_command_ingests_prints_a_mart_and_serves_the_overview(installed, sample_db, page):
    bin_folder, work = installed
    command = bin_folder / "ketamine-outcomes"
    run(command, "ingest", *SAMPLE_FILES, "--db", "clinic.duckdb", "--init", cwd=work)
    con = duckdb.connect(str(work / "clinic.duckdb"), read_only=True)
    stored = con.execute("select (select count(*) from patients), (select count(*) from sessions), "
                         "(select count(*) from assessments)").fetchone()
    con.close()
    reference = duckdb.connect(str(sample_db), read_only=True)
    assert stored == reference.execute("select (select count(*) from patients), (select count(*) from sessions), "
                                       "(select count(*) from assessments)").fetchone()
    expected = marts.activity(reference).iloc[0]
    reference.close()

    printed = run(command, "mart", "activity", "--db", "clinic.duckdb", "--json", cwd=work).stdout
    (row,) = json.loads(printed)
    assert (row["n_series"], row["n_patients"], row["n_sessions"]) == (
        expected.n_series, expected.n_patients, expected.n_sessions)

    server, url = start_server([command, "dashboard", "--db", "clinic.duckdb", "--port", "{port}"], None, cwd=work,
                               start_new_session=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    try:
        page.goto(url, timeout=120_000)
        page.get_by_test_id("stMetricValue").first.wait_for(timeout=120_000)
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=120_000)
        assert page.get_by_test_id("stMetricValue").first.inner_text() == f"{int(suppress.rounded(expected.n_series, 11)):,}"  # rounded to 5
        assert page.get_by_test_id("stException").count() == 0
    finally:
        os.killpg(server.pid, 9)
        server.wait(timeout=30)
