"""Benchmark at clinic-network scale: ingest, marts and the dashboard, as ratios against the tools a
user would otherwise pick (a bare DuckDB read_csv, plain pandas) and against itself at small size.

    make bench                                  # 10k, 100k and 1M patients, browser at 100k
    python -m bench.run --sizes 10000 --runs 3  # quicker

Each figure is the median of --runs runs after one warm-up, all in one process on one machine.
Networks come from sample_data/generate.py and are cached in bench/cache/. Results: bench/RESULTS.md.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
from functools import partial
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import duckdb

from bench import pandas_baseline
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_files
from sample_data.generate import generate

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
RESULTS_CACHE = CACHE / "results.json"
FILES = ("patients.csv", "sessions.csv", "outcomes.csv")
OVERVIEW_MARTS = {
    "activity": lambda con: marts.activity(con),
    "cohort_comparison": lambda con: marts.cohort_comparison(con, "PHQ-9"),
    "weekly_outcomes": lambda con: marts.weekly_outcomes(con, "PHQ-9"),
    "attrition": lambda con: marts.attrition(con, "PHQ-9"),
}


def median_time(action, runs: int, setup=None) -> float:
    """Median wall time of `action` over `runs` runs after one warm-up; `setup` runs untimed before each."""
    times = []
    for n in range(runs + 1):
        if setup:
            setup()
        start = time.perf_counter()
        action()
        if n:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def network(patients: int) -> Path:
    folder = CACHE / f"network_{patients}"
    if not (folder / "outcomes.csv").exists():
        print(f"  generating {patients:,} patients ...", flush=True)
        generate(folder, patients, seed=patients)
    return folder


def built_database(size: int) -> Path:
    """A built database of `size` patients (cached), or with 0 the sample clinic (built anew each time:
    sample_data/ changes with the code)."""
    if size:
        folder = network(size)
        if (folder / "product.duckdb").exists():
            return folder / "product.duckdb"
    else:
        folder = CACHE / "sample"
        folder.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copy(ROOT / "sample_data" / name, folder / name)
    bench_ingest(folder, 1)
    return folder / "product.duckdb"


def fresh_db(folder: Path, name: str) -> Path:
    path = folder / name
    for stale in (path, path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    return path


def bench_ingest(folder: Path, runs: int) -> dict:
    files = [folder / f for f in FILES]
    db = folder / "product.duckdb"

    def product_ingest():
        for result in ingest_files(db, files):
            assert result.refused is None and result.rows_rejected == 0, result.summary()

    def floor():
        con = duckdb.connect(str(folder / "floor.duckdb"))
        for file in files:
            con.execute(f"create table {file.stem} as select * from read_csv($path)", {"path": str(file)})
        con.close()

    product = median_time(product_ingest, runs, setup=lambda: fresh_db(folder, "product.duckdb"))
    bare = median_time(floor, runs, setup=lambda: fresh_db(folder, "floor.duckdb"))
    fresh_db(folder, "floor.duckdb")
    # The build alone, on the ingested database, to show where ingest time goes.
    con = database.connect(db)
    build = median_time(lambda: marts.build(con), runs)
    rows = con.execute("select (select count(*) from sessions), (select count(*) from assessments)").fetchall()[0]
    con.close()
    return {"ingest_s": product, "read_csv_floor_s": bare, "build_s": build, "sessions": rows[0],
            "assessments": rows[1], "ingest_peak_rss_mb": ingest_peak_rss(folder, files)}


def ingest_peak_rss(folder: Path, files) -> float:
    """Peak resident memory of the real command-line ingest of all three files, in a child process."""
    db = fresh_db(folder, "rss.duckdb")
    process = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "ingest", *map(str, files),
                                "--db", str(db), "--init", "--quiet"], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    assert status == 0
    fresh_db(folder, "rss.duckdb")
    return usage.ru_maxrss / 1024


def bench_marts(folder: Path, runs: int) -> dict:
    con = duckdb.connect(str(folder / "product.duckdb"), read_only=True)
    result = {f"{name}_s": median_time(partial(query, con), runs) for name, query in OVERVIEW_MARTS.items()}
    result["overview_marts_s"] = sum(result.values())
    result["scan_floor_s"] = median_time(
        lambda: con.execute("select count(*), sum(score) from assessments").fetchall(), runs)
    # The weekly table's own floor: its summary statistics straight from the stored weekly scores,
    # without the cohort, the baseline week, the rates or their intervals.
    result["weekly_floor_s"] = median_time(lambda: con.execute(
        "select week, count(*), avg(score), stddev_samp(score), quantile_cont(score, [0.25, 0.5, 0.75]), "
        "count(*) filter (where is_response) from int_weekly_scores where instrument = 'PHQ-9' group by week"
    ).fetchall(), runs)
    sessions, assessments = con.sql("select * from sessions").df(), con.sql("select * from assessments").df()
    con.close()
    result["pandas_overview_s"] = median_time(lambda: pandas_baseline.overview(sessions, assessments), runs)
    parts = pandas_baseline.intermediate(sessions, assessments)
    result["pandas_marts_only_s"] = median_time(lambda: (
        pandas_baseline.weekly_outcomes(parts, "PHQ-9"), pandas_baseline.end_of_induction(parts, "PHQ-9"),
        pandas_baseline.attrition_sessions(parts), pandas_baseline.activity(parts)), runs)
    return result


DONE = ("() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') "
        "=== 'notRunning' && !document.querySelector('[data-stale=\"true\"]')")


def bench_browser(db: Path, runs: int) -> dict:
    """Navigation to the Overview's last chart, and a filter change's redraw, in Debian's chromium."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_dashboard

    served = db.with_name("served.duckdb")
    shutil.copy(db, served)
    port = free_port()
    server = start_dashboard(served, port)
    chart = '[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg'
    loads, changes = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for n in range(runs + 1):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/")
                page.locator(chart).nth(2).wait_for(timeout=120_000)
                page.wait_for_function(DONE, timeout=120_000)
                if n:
                    loads.append(time.perf_counter() - start)
                # A different minimum baseline every run, so the marts are computed, not cached.
                box = page.get_by_role("spinbutton", name="Minimum baseline score")
                start = time.perf_counter()
                box.fill(str(5 + n))
                box.press("Enter")
                # Streamlit's markdown prints ">=" as "≥".
                # The rerun has begun once the filter line shows the new minimum; it has ended when the app is
                # not running and no element is stale (Streamlit's own end-to-end tests wait the same way).
                page.get_by_text(re.compile(f"baseline (>=|≥) {5 + n}")).first.wait_for(timeout=120_000)
                page.wait_for_function(DONE, timeout=120_000)
                page.locator(chart).nth(2).wait_for(timeout=120_000)
                if n:
                    changes.append(time.perf_counter() - start)
                page.close()
            browser.close()
        peak = int(Path(f"/proc/{server.pid}/status").read_text().split("VmHWM:")[1].split()[0]) / 1024
    finally:
        server.terminate()
        server.wait(timeout=30)
        served.unlink(missing_ok=True)
    return {"page_load_s": statistics.median(loads), "filter_change_s": statistics.median(changes),
            "server_peak_rss_mb": peak}


def machine() -> str:
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    packages = ", ".join(f"{p} {version(p)}" for p in ("duckdb", "pandas", "streamlit", "plotly", "playwright"))
    return f"{os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}; {packages}"


def report(results: dict, browser: dict, runs: int) -> str:
    sizes = sorted(results)
    lines = ["# Benchmark results", "",
             f"Machine: {machine()}.", f"Each figure: median of {runs} runs after one warm-up, one process, "
             f"{time.strftime('%Y-%m-%d')}. Produced by `make bench` (bench/run.py); do not edit by hand.", "",
             "## Ingest (sessions + outcomes + patients exports, through the product, into a new database)", "",
             "| patients | sessions | assessments | ingest s | of which metric build s | bare read_csv s | "
             "ratio (target <= 2) | ratio without the build | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        r = results[size]
        lines.append(f"| {size:,} | {r['sessions']:,} | {r['assessments']:,} | {r['ingest_s']:.2f} | {r['build_s']:.2f} | "
                     f"{r['read_csv_floor_s']:.2f} | {r['ingest_s'] / r['read_csv_floor_s']:.1f} | "
                     f"{(r['ingest_s'] - r['build_s']) / r['read_csv_floor_s']:.1f} | {r['ingest_peak_rss_mb']:.0f} |")
    lines += ["", "## The Overview's marts (PHQ-9, all series) against plain pandas", "",
              "| patients | marts s | pandas, from stored tables s | ratio (target >= 10) | pandas, intermediates given s | "
              "ratio | weekly table s | count/sum scan s | weekly / scan (target <= 3) | weekly statistics alone s | "
              "weekly / statistics alone |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        r = results[size]
        lines.append(f"| {size:,} | {r['overview_marts_s']:.3f} | {r['pandas_overview_s']:.3f} | "
                     f"{r['pandas_overview_s'] / r['overview_marts_s']:.0f}x | {r['pandas_marts_only_s']:.3f} | "
                     f"{r['pandas_marts_only_s'] / r['overview_marts_s']:.1f}x | {r['weekly_outcomes_s']:.4f} | "
                     f"{r['scan_floor_s']:.4f} | {r['weekly_outcomes_s'] / r['scan_floor_s']:.1f} | "
                     + (f"{r['weekly_floor_s']:.4f} | {r['weekly_outcomes_s'] / r['weekly_floor_s']:.1f} |"
                        if "weekly_floor_s" in r else "not measured | |"))  # results cached by an older bench
    lines += ["", "Per mart (s): " + "; ".join(
        f"{size:,}: " + ", ".join(f"{m} {results[size][m + '_s']:.4f}" for m in OVERVIEW_MARTS) for size in sizes)]
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        factor = large / small
        lines += ["", f"## Growth from {small:,} to {large:,} patients ({factor:.0f}x the data)", "",
                  "| cost | growth | linear would be |", "|---|---|---|"]
        for key, label in (("ingest_s", "ingest"), ("build_s", "metric build"), ("overview_marts_s", "Overview marts"),
                           ("weekly_outcomes_s", "weekly table"), ("ingest_peak_rss_mb", "ingest peak memory")):
            lines.append(f"| {label} | {results[large][key] / results[small][key]:.1f}x | {factor:.0f}x |")
    if browser:
        lines += ["", "## Dashboard in a real browser (Playwright + Debian chromium), Overview page", "",
                  "| database | navigation to last chart s | filter change redraw s | server peak RSS MB |",
                  "|---|---|---|---|"]
        for name, r in browser.items():
            lines.append(f"| {name} | {r['page_load_s']:.2f} | {r['filter_change_s']:.2f} | {r['server_peak_rss_mb']:.0f} |")
        if len(browser) == 2:
            small, large = browser.values()
            lines.append(f"\nFilter change, large / sample: {large['filter_change_s'] / small['filter_change_s']:.2f} "
                         "(target <= 1.5).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                        help="networks to measure (none: only the browser); results of others are kept")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--browser-size", type=int, default=100_000, help="0 skips the browser measurements")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    saved = json.loads(RESULTS_CACHE.read_text()) if RESULTS_CACHE.exists() else {}
    results = {int(k): v for k, v in saved.get("sizes", {}).items()}
    browser = saved.get("browser", {})

    def save():
        RESULTS_CACHE.write_text(json.dumps({"sizes": results, "browser": browser}, indent=1))
        text = report(results, browser, args.runs)
        # The other benchmarks' sections (pages, sign-in, pack, soak, analyst's path) are kept as they are.
        old = args.out.read_text() if args.out.exists() else ""
        ours = set(re.findall(r"^## .*$", text, flags=re.MULTILINE))
        kept = [part for part in re.split(r"\n(?=## )", old)[1:] if part.splitlines()[0] not in ours]
        args.out.write_text("\n".join([text.rstrip("\n") + "\n", *kept]))  # a later failure keeps what was measured

    for size in args.sizes:
        print(f"{size:,} patients", flush=True)
        folder = network(size)
        results[size] = bench_ingest(folder, args.runs) | bench_marts(folder, args.runs)
        print("  ", {k: round(v, 4) for k, v in results[size].items()}, flush=True)
        save()
    if args.browser_size:
        sample = CACHE / "sample"
        sample.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copy(ROOT / "sample_data" / name, sample / name)
        bench_ingest(sample, 1)
        browser["sample clinic (600 patients)"] = bench_browser(sample / "product.duckdb", args.runs)
        large = network(args.browser_size)
        if not (large / "product.duckdb").exists():
            bench_ingest(large, 1)
        browser[f"{args.browser_size:,} patients"] = bench_browser(large / "product.duckdb", args.runs)
        print("  ", browser, flush=True)
    save()
    print(args.out.read_text())


if __name__ == "__main__":
    main()
