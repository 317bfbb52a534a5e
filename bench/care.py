"""The patient-level pages (one series, not on track, item 9 follow-up) in a real browser, on the sample clinic
and on a large network: from the click to the last chart drawn. Writes its section of bench/RESULTS.md.

    python -m bench.care                        # sample clinic and 100k patients, 5 runs each
    python -m bench.care --size 0 --runs 3      # the sample clinic only

Each run opens a different series (a series' view is cached only once someone has opened it, so a new one is
what a clinician usually meets); the lists are timed from the sidebar after one warm-up visit."""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bench.pages import after_rerun, settled, write
from bench.run import ROOT, built_database

SECTION = "## The patient-level pages in a real browser"
LISTS = {"Not on track": "not_on_track", "Item 9 follow-up": "follow_up", "Quality review": "quality_review"}


def series_to_open(db: Path, runs: int) -> list[str]:
    """Series with scores and sessions, spread over the clinic (one per run, and one for the warm-up)."""
    from ketamine_outcomes.store import database

    con = database.open_file(db, read_only=True)
    try:
        rows = con.execute("select series_id from int_treatment_series where series_id in "
                           "(select series_id from int_baselines where instrument = 'PHQ-9') "
                           "order by hash(series_id) limit $n", {"n": runs + 1}).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def measure(db: Path, runs: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_dashboard

    served = db.with_name("served_care.duckdb")
    import shutil
    shutil.copy(db, served)
    chosen = series_to_open(served, runs)
    port = free_port()
    server = start_dashboard(served, port)
    times: dict[str, list[float]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            settled(page)
            for n, series_id in enumerate(chosen):
                for title in LISTS:
                    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
                    seconds = after_rerun(page, link.click)
                    if n:
                        times.setdefault(f"open {title}", []).append(seconds)
                link = page.get_by_test_id("stSidebarNav").get_by_role("link", name="One series", exact=True)
                seconds = after_rerun(page, link.click)
                if n:
                    times.setdefault("open One series (the search box)", []).append(seconds)
                box = page.get_by_role("textbox", name="Find a series")
                box.fill(series_id)
                seconds = after_rerun(page, lambda: box.press("Enter"))
                if n:
                    times.setdefault("search for a series id", []).append(seconds)
                result = page.get_by_test_id("stPageLink").filter(has_text=series_id.split("#")[0]).first
                seconds = after_rerun(page, result.click)
                page.get_by_role("heading", name="Sessions").wait_for(timeout=60_000)
                if n:
                    times.setdefault("open a series' view (a new series each run)", []).append(seconds)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        served.unlink(missing_ok=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["(load average during the run)"] = os.getloadavg()[1]
    return medians


def queries(db: Path, runs: int) -> dict[str, float]:
    """The queries behind the pages, without the browser (median over `runs` different series after a warm-up):
    where a page's seconds go, and a check on the browser's figures when the machine is busy."""
    from ketamine_outcomes.care import follow_up
    from ketamine_outcomes.care import series
    from ketamine_outcomes.store import database

    from ketamine_outcomes.metrics import marts

    writable = database.connect(db)  # a cached network built by older code: its schema, macros and tables brought up
    try:
        marts.ensure_built(writable)
    finally:
        writable.close()
    chosen = series_to_open(db, runs)
    con = database.open_file(db, read_only=True)
    steps = {
        "query: one series' row, sessions, scores, other series": lambda s: (
            series.series(con, s), series.sessions(con, s), series.scores(con, s), series.patient_series(con, s)),
        "query: expected range (PHQ-9)": lambda s: series.expected_range(con, s, "PHQ-9", 18.0),
        "query: why (series_summary, maintenance, sustained_response for one series)": lambda s: (
            series.classification(con, s, "PHQ-9")),
        "query: not on track and its calibration (whole clinic)": lambda s: series.not_on_track(con, "PHQ-9"),
        "query: item 9 follow-up, first 200 and the counts": lambda s: (
            follow_up.flags(con, limit=200), follow_up.counts(con)),
    }
    times: dict[str, list[float]] = {}
    try:
        for n, series_id in enumerate(chosen):
            for name, step in steps.items():
                start = time.perf_counter()
                step(series_id)
                if n:
                    times.setdefault(name, []).append(time.perf_counter() - start)
    finally:
        con.close()
    return {name: statistics.median(values) for name, values in times.items()}


def section(results: dict[str, dict[str, float]], runs: int) -> str:
    names = list(next(iter(results.values())))
    lines = [SECTION, "",
             f"Click to last chart drawn, seconds (median of {runs} after a warm-up visit; {time.strftime('%Y-%m-%d')}; "
             "`python -m bench.care`). Target: each page within 1 s on the sample clinic, and the large network "
             "within 1.5x of it. The `query:` rows are the same pages' queries without the browser (one connection, "
             "median over different series).", "",
             "| click | " + " | ".join(results) + " | large / sample |", "|---|" + "---|" * (len(results) + 1)]
    for name in names:
        values = [results[db][name] for db in results]
        ratio = f"{values[-1] / values[0]:.1f}x" if len(values) > 1 and values[0] else ""
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="patients in the large network (0: sample only)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    sample = built_database(0)
    results = {"sample clinic (600 patients)": {**queries(sample, args.runs), **measure(sample, args.runs)}}
    print(results, flush=True)
    if args.size:
        large = built_database(args.size)
        results[f"{args.size:,} patients"] = {**queries(large, args.runs), **measure(large, args.runs)}
    text = section(results, args.runs)
    write(text, args.out, SECTION)
    print(text)


if __name__ == "__main__":
    main()
