"""Many viewers at once: what the dashboard server spends on a page view, and how long viewers wait.

    python -m bench.viewers                          # sample clinic, 1, 4, 8 and 16 viewers
    python -m bench.viewers --size 100000 --viewers 1 8 --rounds 2

One Streamlit server (the product's `streamlit run`, on 127.0.0.1) serves the database; N chromium pages
(each its own browser context, so its own Streamlit session, as N people are) open the same link at once,
every one the same view (a meeting opening the link it was sent), `--rounds` times. Each page is timed
from its navigation until Streamlit's run has ended and every chart has drawn its SVG.

The server's CPU is read from /proc/<pid>/stat (user + system time of the server process and all its
threads, DuckDB's included) before and after each round: the browsers run on the same two cores, so wall
time alone would count their CPU too. What the idle server spends meanwhile (Streamlit polls its config
files) is measured first and subtracted. A warm-up visit draws the view first, so every measured view is a
repeated one (same data version, filters and role): the case the cache serves. For each number of viewers,
N new browsers open it once ("first visit": each downloads Streamlit's scripts, served by the same
process), then the same browsers open it again `--rounds` times ("again"). `--fresh` also measures a view
the server has not drawn yet (a different minimum baseline each round) for comparison.

Bounded: at most 16 viewers, every wait has a timeout, and the server is stopped at the end. Writes its
section of bench/RESULTS.md."""

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.pages import DRAWN
from bench.run import DONE, ROOT, built_database

SECTION = "## Many viewers at once: server CPU per page view"
TICKS = os.sysconf("SC_CLK_TCK")
MAX_VIEWERS = 16
TIMEOUT_MS = 180_000


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15 of proc(5))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def view(context, url: str) -> float | None:
    """Open `url` in a new tab of `context` (a new Streamlit session) and wait until every chart is drawn:
    seconds, or None when it did not finish within TIMEOUT_MS."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    page = await context.new_page()
    try:
        start = time.perf_counter()
        await page.goto(url, timeout=TIMEOUT_MS)
        await page.wait_for_function(DONE, timeout=TIMEOUT_MS)
        await page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=TIMEOUT_MS)
        await page.wait_for_function(DRAWN, timeout=TIMEOUT_MS)
        await page.wait_for_function(DONE, timeout=TIMEOUT_MS)
        return time.perf_counter() - start
    except PlaywrightTimeout:
        return None
    finally:
        await page.close()


IDLE = {"rate": 0.0}  # the idle server's CPU seconds per second, measured before the rounds


async def idle_rate(pid: int, seconds: float = 10) -> float:
    """CPU seconds per second of the server with no viewer: Streamlit polls its config files (every 0.2 s)."""
    before, start = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.perf_counter() - start)


async def one_round(contexts: list, url: str, pid: int) -> tuple[list[float], float]:
    """Every context opens `url` at once: (page times, server CPU seconds per view, less what the idle
    server would have spent meanwhile)."""
    before, start = cpu_seconds(pid), time.perf_counter()
    times = await asyncio.gather(*(view(context, url) for context in contexts))
    await asyncio.sleep(0.5)  # the server finishes sending what the last run drew
    idle = IDLE["rate"] * (time.perf_counter() - start)
    return list(times), max(0.0, cpu_seconds(pid) - before - idle) / len(contexts)


def summary(n: int, kind: str, times: list[float | None], cpu: list[float]) -> dict:
    """Percentiles of the views that finished; those that did not are counted (and their page time is
    beyond TIMEOUT_MS, so the percentiles are a lower bound then)."""
    finished = [t for t in times if t is not None]
    done = finished or [float("nan")]
    found = {"viewers": n, "kind": kind, "views": len(times), "unfinished": len(times) - len(finished),
             "cpu_per_view": statistics.median(cpu), "p50": percentile(done, 0.5), "p90": percentile(done, 0.9),
             "max": max(done)}
    print(f"  {n:>2} viewers, {kind}: server CPU {found['cpu_per_view']:.3f} s/view, page p50 {found['p50']:.2f} s, "
          f"p90 {found['p90']:.2f} s", flush=True)
    return found


async def rounds(url: str, pid: int, viewers: list[int], rounds_each: int, fresh: bool) -> list[dict]:
    """For each number of viewers: N new browsers (empty caches) open the view once ("first visit"), then
    the same browsers open it again `rounds_each` times ("again": the browser has Streamlit's scripts)."""
    from playwright.async_api import async_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM, CHROMIUM_ARGS

    found = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warm = await browser.new_context(viewport={"width": 1400, "height": 1000})
        await view(warm, url)  # the server draws the view once before any is measured
        await warm.close()
        IDLE["rate"] = await idle_rate(pid)
        print(f"  idle server: {IDLE['rate']:.4f} CPU s per s (subtracted from each round)", flush=True)
        baseline = 0
        for n in viewers:
            contexts = [await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(n)]
            try:
                times, cpu = await one_round(contexts, url, pid)
                found.append(summary(n, "first visit, the same view", times, [cpu]))
                times, cpu = [], []
                for _ in range(rounds_each):
                    spent = await one_round(contexts, url, pid)
                    times += spent[0]
                    cpu.append(spent[1])
                found.append(summary(n, "again, the same view", times, cpu))
                if fresh:
                    times, cpu = [], []
                    for _ in range(rounds_each):
                        baseline += 1  # a view not drawn before: its marts are computed, its charts drawn
                        spent = await one_round(contexts, f"{url}?min-baseline={baseline}", pid)
                        times += spent[0]
                        cpu.append(spent[1])
                    found.append(summary(n, "again, a view not drawn before", times, cpu))
            finally:
                for context in contexts:
                    await context.close()
        await browser.close()
    return found


def measure(db: Path, viewers: list[int], rounds_each: int, fresh: bool, page: str) -> tuple[list[dict], int]:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import free_port, start_dashboard, stop_server

    port = free_port()
    server = start_dashboard(db, port)
    try:
        url = f"http://127.0.0.1:{port}/{page}"
        found = asyncio.run(rounds(url, server.pid, viewers, rounds_each, fresh))
        rss = int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{server.pid}/status").read_text()).group(1)) // 1024
    finally:
        stop_server(server)
    return found, rss


def write(found: list[dict], label: str, page: str, rounds_each: int, rss: int, load: tuple) -> None:
    rows = "\n".join(
        f"| {r['viewers']} | {r['kind']} | {r['views']} | "
        f"{r['cpu_per_view']:.3f} | {r['p50']:.2f} | {r['p90']:.2f} | {r['max']:.2f} | {r['unfinished']} |"
        for r in found)
    text = (f"{SECTION}\n\n`python -m bench.viewers` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC), {label}, the "
            f"{page or 'Overview'} page. N chromium sessions open the same link at once, {rounds_each} rounds; "
            "server CPU is the Streamlit process's user + system time from /proc (its threads, DuckDB's "
            f"included) over each round, less the idle server's ({IDLE['rate']:.4f} s per s: Streamlit polls its "
            "config files), divided by the round's views (median of the rounds); page time is "
            "navigation to every chart drawn. Load average at the start "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) on 2 cores, shared with other work; "
            f"server peak RSS {rss} MB. Target: a repeated view at most 0.1 s of server CPU.\n\n"
            "| viewers at once | visit | page views | server CPU s per view | page p50 s | page p90 s | page max s | "
            f"not drawn within {TIMEOUT_MS // 1000} s |\n"
            "|---|---|---|---|---|---|---|---|\n" + rows + "\n")
    results = ROOT / "bench" / "RESULTS.md"
    old = results.read_text()
    if SECTION in old:
        start = old.index(SECTION)
        following = old.find("\n## ", start + len(SECTION))
        old = old[:start] + text + (old[following + 1:] if following != -1 else "")
        results.write_text(old if old.endswith("\n") else old + "\n")
    else:
        results.write_text(old.rstrip("\n") + "\n\n" + text)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=0, help="patients (0: the sample clinic)")
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page", default="", help="URL path of the page (default: the Overview)")
    parser.add_argument("--fresh", action="store_true", help="also measure views not drawn before")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if max(args.viewers) > MAX_VIEWERS or min(args.viewers) < 1:
        parser.error(f"viewers: 1 to {MAX_VIEWERS}")
    load = os.getloadavg()
    db = built_database(args.size)
    found, rss = measure(db, args.viewers, args.rounds, args.fresh, args.page)
    label = "sample clinic (600 patients)" if not args.size else f"{args.size:,} patients"
    if not args.no_write:
        write(found, label, args.page, args.rounds, rss, load)


if __name__ == "__main__":
    main()
