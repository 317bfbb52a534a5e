"""The patient-level pages (one series, not on track, item 9 follow-up) in a real browser, on the sample clinic
and on a large network: from the click to the last chart drawn, and the server's CPU seconds for it. Writes its
section of bench/RESULTS.md.

    python -m bench.care                        # sample clinic and 100k patients, 5 runs each
    python -m bench.care --size 0 --runs 3      # the sample clinic only

Each run opens a different series (a series' view is cached only once someone has opened it, so a new one is
what a clinician usually meets); the lists are timed from the sidebar after one warm-up visit. The `query:`
rows are the pages' queries without the browser, in CPU seconds of this process (DuckDB's threads included),
which a busy machine blurs far less than wall time. Every database is a private copy, brought up to date with
this code's metric tables; the cached networks are only read."""

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.pages import after_rerun, served, table, write
from bench.run import ROOT, built_database
from bench.viewers import cpu_seconds

SECTION = "## The patient-level pages in a real browser"
LISTS = {"Not on track": "not_on_track", "Item 9 follow-up": "follow_up", "Quality review": "quality_review"}


def up_to_date_copy(db: Path, folder: Path) -> Path:
    """A copy of `db` in `folder` whose metric tables this code built (a cached network may be older)."""
    from ketamine_outcomes.metrics import marts
    from ketamine_outcomes.store import database

    copy = folder / db.name
    shutil.copy(db, copy)
    con = database.connect(copy)
    try:
        marts.ensure_built(con)
        if not marts.is_current(con):
            marts.build(con)
    finally:
        con.close()
    return copy


def series_to_open(db: Path, runs: int) -> list[tuple[str, float]]:
    """Series with a PHQ-9 baseline, spread over the clinic (one per run, and one for the warm-up), with it."""
    from ketamine_outcomes.store import database

    con = database.open_file(db, read_only=True)
    try:
        return con.execute("select series_id, baseline_score from int_baselines where instrument = 'PHQ-9' "
                           "order by hash(series_id) limit $n", {"n": runs + 1}).fetchall()
    finally:
        con.close()


def measure(db: Path, runs: int) -> dict[str, float]:
    """Seconds from each click to the page settled, and the server's CPU seconds over it (medians)."""
    times: dict[str, list[float]] = {}

    def timed(name: str, n: int, page, server, action) -> None:
        before = cpu_seconds(server.pid)
        seconds = after_rerun(page, action)
        if n:
            times.setdefault(name, []).append(seconds)
            times.setdefault(f"{name}: server CPU s", []).append(cpu_seconds(server.pid) - before)

    with served(db) as (page, server):
        for n, (series_id, _) in enumerate(series_to_open(db, runs)):
            for title in LISTS:
                link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
                timed(f"open {title}", n, page, server, link.click)
            link = page.get_by_test_id("stSidebarNav").get_by_role("link", name="One series", exact=True)
            timed("open One series (the search box)", n, page, server, link.click)
            box = page.get_by_role("textbox", name="Find a series")
            box.fill(series_id)
            timed("search for a series id", n, page, server, lambda: box.press("Enter"))
            result = page.get_by_test_id("stPageLink").filter(has_text=series_id.split("#")[0]).first
            timed("open a series' view (a new series each run)", n, page, server, result.click)
            page.get_by_role("heading", name="Sessions").wait_for(timeout=60_000)
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["(load average during the run)"] = os.getloadavg()[1]
    return medians


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def queries(db: Path, runs: int) -> dict[str, float]:
    """The queries behind the pages, without the browser: CPU seconds, median over `runs` different series
    after a warm-up. What a view runs, and apart what is read once per data version and kept."""
    from ketamine_outcomes.care import follow_up, series
    from ketamine_outcomes.store import database

    chosen = series_to_open(db, runs)
    con = database.open_file(db, read_only=True)
    kept = {"counts": series.expected_range_counts(con, "PHQ-9"),
            "reference": series.checkpoint_reference(con, "PHQ-9"), "placed": follow_up.placed_flags(con)}
    steps = {
        "query: one series' row, sessions, scores, other series": lambda s, b: (
            series.series(con, s), series.sessions(con, s), series.scores(con, s), series.patient_series(con, s)),
        "query: expected range (PHQ-9)": lambda s, b: series.expected_range(con, s, "PHQ-9", b, kept["counts"]),
        "query: why (series_summary, maintenance, sustained_response for one series)": lambda s, b: (
            series.classification(con, s, "PHQ-9")),
        "query: not on track, the active series' list": lambda s, b: (
            series.active_at_checkpoint(con, "PHQ-9", None, kept["reference"].thresholds)),
        "query: item 9 follow-up, first 200 and the counts": lambda s, b: (
            follow_up.flags(con, limit=200, placed=kept["placed"]), follow_up.counts(con, kept["placed"])),
        "query, once per data version: expected range counts (PHQ-9)": lambda s, b: (
            series.expected_range_counts(con, "PHQ-9")),
        "query, once per data version: not on track's thresholds and calibration": lambda s, b: (
            series.checkpoint_reference(con, "PHQ-9")),
        "query, once per data version: item 9 flags and where they were placed": lambda s, b: (
            follow_up.placed_flags(con)),
    }
    times: dict[str, list[float]] = {}
    try:
        for n, (series_id, baseline) in enumerate(chosen):
            for name, step in steps.items():
                start = _cpu()
                step(series_id, float(baseline))
                if n:
                    times.setdefault(name, []).append(_cpu() - start)
    finally:
        con.close()
    return {name: statistics.median(values) for name, values in times.items()}


def section(results: dict[str, dict[str, float]], runs: int) -> str:
    lines = [SECTION, "",
             f"Click to last chart drawn, seconds, and the server's CPU seconds for it (median of {runs} after a "
             f"warm-up visit; {time.strftime('%Y-%m-%d %H:%M')} UTC; `python -m bench.care`). Target: each page "
             "within 1 s on the sample clinic, and the large network within 1.5x of it. The `query:` rows are the "
             "same pages' queries without the browser, CPU seconds (one connection, median over different series); "
             "`once per data version` is what the pages keep until the data changes.", "", *table(results)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="patients in the large network (0: sample only)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--db", type=Path, help="a built database of the large network (instead of --size's cached "
                        "one), with the number of patients it holds in --size")
    parser.add_argument("--sample-db", type=Path, help="a built database of the sample clinic")
    parser.add_argument("--print-only", action="store_true", help="print the section; leave RESULTS.md alone")
    args = parser.parse_args()
    sizes = [0] + ([args.size] if args.size else [])
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-care-") as folder:
        for size in sizes:
            label = f"{size:,} patients" if size else "sample clinic (600 patients)"
            given = (args.db if size else args.sample_db) or built_database(size)
            db = up_to_date_copy(given, Path(folder))
            results[label] = {**queries(db, args.runs), **measure(db, args.runs)}
            db.unlink()
            print(label, results[label], flush=True)
    text = section(results, args.runs)
    if not args.print_only:
        write(text, args.out, SECTION)
    print(text)


if __name__ == "__main__":
    main()
