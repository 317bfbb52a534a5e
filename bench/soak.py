"""Soak: N chromium pages visiting the dashboard while a large command-line ingest holds the database.

    python -m bench.soak                                   # 8 browsers, 50,000-patient ingest
    python -m bench.soak --browsers 4 --patients 10000     # quicker

The served database starts as the sample clinic; a generated network (sample_data/generate.py, cached in
bench/cache/) is ingested into it by `ketamine-outcomes ingest` in another process while the pages
visit every page in turn, from before the ingest starts until after it ends. Reported: page-time
percentiles (navigation to the run ended and every chart drawn) during the ingest and outside it, how
many visits showed the running-ingest notice, exceptions seen on any page, and rows lost: every table's
row count after the soak against the same ingest into a copy with no load. Bounded: at most 16 browsers,
--seconds in all (the ingest is stopped and the soak reports a failure past it). Not part of `make test`.
Writes its section of bench/RESULTS.md."""

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.pages import DRAWN, write
from bench.run import CACHE, DONE, FILES, ROOT, network
from ketamine_outcomes.store import busy
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_files

sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_dashboard  # noqa: E402

SECTION = "## Readers during a large command-line ingest (soak)"
PAGES = ("", "trajectories", "response", "compare", "quality_review", "safety", "data", "definitions")
TABLES = ("patients", "sessions", "assessments", "rejects", "warnings", "replacements")
NOTICE = "has been running since"
MAX_BROWSERS = 16


def counts(db: Path) -> dict[str, int]:
    with database.open_file(db, read_only=True) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in TABLES}


async def visitor(browser, url: str, n: int, stop: asyncio.Event, visits: list) -> None:
    """One person: visits the pages in turn (each browser starting at a different one) until told to stop."""
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    i = n
    try:
        while not stop.is_set():
            path = PAGES[i % len(PAGES)]
            i += 1
            start = time.monotonic()
            error = None
            try:
                await page.goto(f"{url}/{path}", timeout=180_000)
                await page.wait_for_function(DONE, timeout=180_000)
                await page.wait_for_function(DRAWN, timeout=180_000)
            except Exception as failure:  # a timeout is a finding, not the end of the soak
                error = type(failure).__name__
            end = time.monotonic()
            exceptions = await page.get_by_test_id("stException").count()
            text = await page.locator("body").inner_text()
            visits.append({"browser": n, "page": path or "overview", "start": start, "end": end,
                           "seconds": end - start, "exceptions": exceptions,
                           "notice": NOTICE in text, "waiting": "this page waits for it" in text,
                           "error": error})
    finally:
        await context.close()


def percentiles(values: list[float]) -> str:
    if not values:
        return "no visits"
    ordered = sorted(values)

    def at(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"p50 {at(0.5):.1f} s, p90 {at(0.9):.1f} s, p99 {at(0.99):.1f} s, max {ordered[-1]:.1f} s"


async def soak(args, served: Path, network_files: list[Path]) -> dict:
    from playwright.async_api import async_playwright

    port = free_port()
    server = start_dashboard(served, port)
    url = f"http://127.0.0.1:{port}"
    visits: list[dict] = []
    ingest = None
    ingest_times = {}
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            stop = asyncio.Event()

            tasks = [asyncio.create_task(visitor(browser, url, n, stop, visits))
                     for n in range(args.browsers)]
            deadline = time.monotonic() + args.seconds
            await asyncio.sleep(args.before)  # pages warm the server's caches, as a morning's visitors would
            ingest_times["start"] = time.monotonic()
            ingest = subprocess.Popen(
                [sys.executable, "-m", "ketamine_outcomes.cli", "ingest", *map(str, network_files), "--db",
                 str(served), "--wait", str(args.seconds), "--quiet"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            status = busy.status_path(served)
            while ingest.poll() is None and time.monotonic() < deadline:
                if status.exists():  # the ingest holds the file from its status file's writing to its removal
                    ingest_times.setdefault("held_from", time.monotonic())
                    ingest_times["held_to"] = time.monotonic()
                await asyncio.sleep(0.1)
            if ingest.poll() is None:
                ingest.kill()
                ingest.wait()
                ingest_times["killed"] = True
            ingest_times["end"] = time.monotonic()
            await asyncio.sleep(min(args.after, max(0.0, deadline - time.monotonic())))
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=240)
            await browser.close()
        out, err = ingest.communicate()
    finally:
        if ingest is not None and ingest.poll() is None:
            ingest.kill()
        server.terminate()
        server.wait(timeout=30)
    held = (ingest_times.get("held_from", ingest_times["end"]), ingest_times.get("held_to", ingest_times["end"]))
    for visit in visits:  # any overlap with the time the ingest held the file
        visit["during"] = visit["start"] < held[1] and visit["end"] > held[0]
    return {"visits": visits, "waited_s": held[0] - ingest_times["start"], "held_s": held[1] - held[0],
            "ingest_rc": ingest.returncode, "ingest_out": out, "ingest_err": err,
            "ingest_s": ingest_times["end"] - ingest_times["start"], "killed": ingest_times.get("killed", False)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--browsers", type=int, default=8, help=f"chromium pages at once (at most {MAX_BROWSERS})")
    parser.add_argument("--patients", type=int, default=50_000, help="patients in the ingested network")
    parser.add_argument("--seconds", type=float, default=900, help="the whole soak stops after this")
    parser.add_argument("--before", type=float, default=20, help="seconds of visits before the ingest starts")
    parser.add_argument("--after", type=float, default=20, help="seconds of visits after it ends")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    args.browsers = max(1, min(args.browsers, MAX_BROWSERS))

    folder = network(args.patients)
    files = [folder / f for f in FILES]
    work = CACHE / "soak"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    base, reference, served = work / "base.duckdb", work / "reference.duckdb", work / "served.duckdb"
    ingest_files(base, [ROOT / "sample_data" / f for f in FILES])
    shutil.copy(base, reference)
    shutil.copy(base, served)
    before = counts(served)
    print(f"reference: the same ingest with no load ({args.patients:,} patients) ...", flush=True)
    start = time.perf_counter()
    ingest_files(reference, files, init=False)
    quiet_s = time.perf_counter() - start
    expected = counts(reference)
    print(f"  {quiet_s:.1f} s; soak: {args.browsers} browsers ...", flush=True)

    result = asyncio.run(soak(args, served, files))
    after = counts(served)
    visits = result["visits"]
    during = [v for v in visits if v["during"]]
    outside = [v for v in visits if not v["during"]]
    lost = {t: expected[t] - after[t] for t in TABLES if expected[t] != after[t]}
    load = os.getloadavg()
    summary = {
        "visits": len(visits),
        "during": percentiles([v["seconds"] for v in during]),
        "outside": percentiles([v["seconds"] for v in outside]),
        "notices": sum(v["notice"] for v in during),
        "waited": sum(v["waiting"] for v in visits),
        "exceptions": sum(v["exceptions"] for v in visits),
        "timeouts": sum(v["error"] is not None for v in visits),
    }
    for key, value in summary.items():
        print(f"{key}: {value}")
    print(f"ingest: rc {result['ingest_rc']}, {result['ingest_s']:.1f} s under load (waited {result['waited_s']:.1f} s "
          f"for the file, held it {result['held_s']:.1f} s), {quiet_s:.1f} s without; killed: {result['killed']}")
    print(f"rows before {before}, after {after}, expected {expected}; lost: {lost or 'none'}")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    if result["ingest_rc"] != 0:
        print(result["ingest_err"][-2000:], file=sys.stderr)

    shared = (f" The machine was shared with other work: load average {load[0]:.1f} / {load[1]:.1f} / "
              f"{load[2]:.1f} (1/5/15 min) on {os.cpu_count()} cores at the end, so times are slower than on "
              "a quiet machine." if load[1] > (os.cpu_count() or 1) else
              f" Load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores.")
    lines = [
        SECTION, "",
        f"`python -m bench.soak --browsers {args.browsers} --patients {args.patients}` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC). The dashboard serves the sample clinic; "
        f"`ketamine-outcomes ingest` of a {args.patients:,}-patient network runs in another process; "
        f"{args.browsers} chromium pages visit every page in turn from {args.before:.0f} s before it to "
        f"{args.after:.0f} s after it.{shared}", "",
        "| | |", "|---|---|",
        f"| page visits | {len(visits)} ({len(during)} while the ingest held the database) |",
        f"| page time while the ingest held the database | {summary['during']} |",
        f"| page time otherwise | {summary['outside']} |",
        f"| visits overlapping the hold that showed which ingest runs and since when | {summary['notices']} of "
        f"{len(during)} (a visit whose run opened the file before the ingest took it reads the file itself) |",
        f"| visits that waited for the file (no reading copy yet) | {summary['waited']} |",
        f"| exceptions on any page | {summary['exceptions']} |",
        f"| visits not finished within 180 s | {summary['timeouts']} |",
        f"| ingest | {result['ingest_s']:.0f} s under load: {result['waited_s']:.0f} s waiting for the dashboard "
        f"to let go of the file (it holds it during each page run), {result['held_s']:.0f} s holding it; "
        f"{quiet_s:.0f} s with no load (in-process, no command start-up); exit code {result['ingest_rc']} |",
        f"| rows lost (every table's count against the same ingest with no load) | "
        f"{sum(lost.values()) if lost else 0} |", "",
        "While the ingest holds the file, no other process may open it (DuckDB); the ingest leaves a "
        "checkpointed reading copy beside it, which the dashboard reads, with a notice naming the ingest "
        "(ketamine_outcomes/store/busy.py). Before, a page waited for the file up to 60 s and then said only "
        "'Refresh this page in a minute' (up to 78 s under 15 browsers, issue 9). Page times here are set by "
        f"{args.browsers} chromium pages and the server sharing {os.cpu_count()} busy cores, alike with and "
        "without the ingest.", "",
    ]
    write("\n".join(lines), args.out, SECTION)
    print(f"{args.out}: section written")


if __name__ == "__main__":
    main()
