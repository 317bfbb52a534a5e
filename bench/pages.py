"""Every dashboard page and every page choice, timed in a real browser: from the click to the last chart
drawn, on the sample clinic and on a large network. Writes its section of bench/RESULTS.md.

    python -m bench.pages                       # sample clinic and 100k patients, 5 runs each
    python -m bench.pages --size 10000 --runs 3 # quicker

Each figure is the median of --runs clicks after one warm-up visit (which fills the server's caches, as a
second visitor would find them). A click is timed until Streamlit's run has ended, no element is stale
and every Plotly chart on the page has drawn its SVG."""

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.run import DONE, ROOT, built_database

# Page title in the navigation -> its URL path.
PAGES = {"Overview": "", "Symptom trajectories": "trajectories", "Response & remission": "response",
         "Compare cohorts": "compare", "Durability": "durability", "Quality review": "quality_review",
         "Safety": "safety", "Data": "data", "Definitions": "definitions"}
DRAWN = ("() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
         ".every(chart => chart.querySelector('.main-svg'))")
SECTION = "## Every page and page choice in a real browser"
TICKS = os.sysconf("SC_CLK_TCK")


def settled(page) -> None:
    page.wait_for_function(DONE, timeout=180_000)
    page.wait_for_function(DRAWN, timeout=180_000)


# Counts the app's runs in this document (window.__koSeen), from its start when installed as an init script
# (served() does): a run that starts and ends between two polls is still counted, and so is the first run of a
# page that loads a new document (the sidebar's link to a page with a query in its address does). Polling for
# 'running' alone missed both and then waited out its whole 3 s.
OBSERVE = ("(() => { if (window.__koSeen !== undefined) return; window.__koSeen = 0;"
           " new MutationObserver(records => { for (const r of records) {"
           " if (r.oldValue === 'running' || r.target.getAttribute('data-test-script-state') === 'running')"
           " window.__koSeen += 1; } }).observe(document, {subtree: true, attributes: true,"
           " attributeOldValue: true, attributeFilter: ['data-test-script-state']}); })()")
MARK = "() => { window.__koMark = window.__koSeen; }"
# A run since the mark; in a new document (no mark), its first run.
RAN = "() => window.__koMark === undefined ? window.__koSeen > 0 : window.__koSeen > window.__koMark"


def after_rerun(page, action) -> float:
    """Seconds from `action` (a click) to the page settled again."""
    page.evaluate(OBSERVE)
    page.evaluate(MARK)
    start = time.perf_counter()
    action()
    try:
        page.wait_for_function(RAN, timeout=3_000)
    except Exception:
        pass  # no run at all (a click that changes nothing), or a new document without OBSERVE
    settled(page)
    return time.perf_counter() - start


@contextlib.contextmanager
def served(db: Path):
    """A private copy of `db` served by a real dashboard, and a chromium page on it, settled at its root:
    yields (page, the server process). Everything is stopped and the copy removed on the way out."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_dashboard

    with tempfile.TemporaryDirectory(prefix="bench-served-") as folder:
        copy = Path(folder) / db.name
        shutil.copy(db, copy)
        port = free_port()
        server = start_dashboard(copy, port)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.add_init_script(script=OBSERVE)
                page.goto(f"http://127.0.0.1:{port}/")
                settled(page)
                yield page, server
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


def _figure(value: float) -> str:
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _ratio(small: float, large: float) -> str:
    return f"{large / small:.1f}x" if small else ""


def table(results: dict[str, dict[str, float]]) -> list[str]:
    """A markdown table: one row per figure, one column per database, and the last one over the first (bench.care's)."""
    names = list(next(iter(results.values())))
    lines = ["| click | " + " | ".join(results) + " | large / sample |", "|---|" + "---|" * (len(results) + 1)]
    for name in names:
        values = [results[db][name] for db in results]
        lines.append(f"| {name} | " + " | ".join(map(_figure, values)) + f" | {_ratio(values[0], values[-1])} |")
    return lines


def wall_and_cpu(results: dict[str, tuple]) -> list[str]:
    """A markdown table: one row per click; per database its wall seconds and the server's CPU seconds, and
    the large network's over the sample clinic's for each (the last database over the first)."""
    databases = list(results)
    walls = {db: results[db][0] for db in databases}
    cpus = {db: results[db][1] for db in databases}
    names = list(walls[databases[0]])
    lines = ["| click | " + " | ".join(f"{db}: wall s" for db in databases) + " | large / sample, wall | "
             + " | ".join(f"{db}: server CPU s" for db in databases) + " | large / sample, CPU |",
             "|---|" + "---|" * (2 * len(databases) + 2)]
    for name in names:
        wall = [walls[db].get(name, 0.0) for db in databases]
        used = [cpus[db].get(name, 0.0) for db in databases]
        lines.append(f"| {name} | " + " | ".join(map(_figure, wall)) + f" | {_ratio(wall[0], wall[-1])} | "
                     + " | ".join(map(_figure, used)) + f" | {_ratio(used[0], used[-1])} |")
    return lines


def first_visits(results: dict[str, tuple]) -> list[str]:
    """The warm-up's page opens: the first visit to each page after the server started (its marts computed)."""
    databases = list(results)
    firsts = {db: results[db][2] for db in databases}
    lines = ["| first visit | " + " | ".join(databases) + " | large / sample |", "|---|" + "---|" * (len(databases) + 1)]
    for name in firsts[databases[0]]:
        values = [firsts[db].get(name, 0.0) for db in databases]
        lines.append(f"| {name} | " + " | ".join(map(_figure, values)) + f" | {_ratio(values[0], values[-1])} |")
    return lines


def choose(page, label: str, option: str):
    """A selectbox's option, as a keyboard user picks it (as tests/conftest.choose does): (untimed: open the box
    and type the option until it is the focused one, the best match; timed: Enter). A click on an option raced
    the list being drawn again ("element was detached from the DOM") and can miss a list opened below the window."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).locator("input")
    focused = page.locator('[role="option"][data-focused="true"]')

    def typed():
        box.click()
        box.fill(option)
        page.wait_for_function("(option) => [...document.querySelectorAll('[role=\"option\"][data-focused=\"true\"]')]"
                               ".some(o => o.innerText.startsWith(option))", arg=option, timeout=60_000)

    return typed, lambda: focused.press("Enter")


# Page path -> [(name, action factory)]: each choice is set, then set back, both timed.
ITT = "Intention to treat (limited LOCF, then BOCF)"
CHOICES = {
    "trajectories": [("individual series on", lambda p: p.get_by_text("Individual series", exact=True).click),
                     ("individual series off", lambda p: p.get_by_text("Individual series", exact=True).click),
                     ("intention to treat on", lambda p: p.get_by_text(ITT, exact=True).click),
                     ("intention to treat off", lambda p: p.get_by_text(ITT, exact=True).click),
                     ("one line per route", lambda p: choose(p, "One line per", "route")),
                     ("one line per: none", lambda p: choose(p, "One line per", "none"))],
    "compare": [("compare by clinician", lambda p: choose(p, "Compare by", "clinician")),
                ("compare by site", lambda p: choose(p, "Compare by", "site"))],
    "quality_review": [("one point per quarter", lambda p: p.get_by_text("quarter", exact=True).click),
                       ("one point per month", lambda p: p.get_by_text("month", exact=True).click)],
    "durability": [("one curve per route", lambda p: choose(p, "One curve per", "route")),
                   ("one curve per: all series", lambda p: choose(p, "One curve per", "all series"))],
    "safety": [("split by session number", lambda p: choose(p, "Split adverse events by", "session number")),
               ("split by route", lambda p: choose(p, "Split adverse events by", "route"))],
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process (all its threads, DuckDB's included) so far: what the server
    spends on a click, which the browsers and other work on the same cores blur far less than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15 of proc(5))


def measure(db: Path, runs: int, only: list[str] | None = None) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """(wall seconds per click, the server's CPU seconds per click: medians of the runs after the warm-up;
    and the warm-up's own wall seconds per page opened, the first visit after the server started, which
    computes the page's marts for this data version)."""
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    first: dict[str, float] = {}

    def timed(name: str, n: int, page, server, action) -> None:
        before = cpu_seconds(server.pid)
        seconds = after_rerun(page, action)
        if n:
            times.setdefault(name, []).append(seconds)
            cpu.setdefault(name, []).append(cpu_seconds(server.pid) - before)
        elif name.startswith("open "):
            first[name] = seconds

    with served(db) as (page, server):
        for n in range(runs + 1):
            for title, path in PAGES.items():
                if only and title not in only:
                    continue
                link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
                timed(f"open {title}", n, page, server, link.click)
                page.get_by_role("heading", name=title, level=1).wait_for(timeout=60_000)
                for name, action in CHOICES.get(path, []):
                    action = action(page)
                    if isinstance(action, tuple):  # (untimed preparation, the timed action)
                        action[0]()
                        action = action[1]
                    timed(f"{title}: {name}", n, page, server, action)
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["(load average during the run)"] = os.getloadavg()[1]  # a busy machine inflates every figure
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    cpu_medians["(load average during the run)"] = medians["(load average during the run)"]
    return medians, cpu_medians, first


def section(results: dict[str, tuple], runs: int) -> str:
    lines = [SECTION, "",
             f"Click to last chart drawn, seconds, and the dashboard server's CPU seconds for it (user + system from "
             f"/proc, its threads and DuckDB's included; 10 ms ticks), median of {runs} after a warm-up visit; "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; `python -m bench.pages`. Target: every page "
             "within 1 s on the sample clinic, and the large network within 1.5x of it.", "", *wall_and_cpu(results), "",
             "The warm-up visit's page opens: the first visit after the server started, when each page's marts are "
             "computed for this data version (then kept for every viewer until the data change).", "",
             *first_visits(results)]
    return "\n".join(lines) + "\n"


def write(text: str, out: Path, heading: str = SECTION) -> None:
    """Replace the section under `heading` in RESULTS.md (up to the next section), or add it at the end,
    leaving the other benchmarks' figures alone."""
    old = out.read_text() if out.exists() else "# Benchmark results\n"
    before, found, after = old.partition(f"\n{heading}\n")
    rest = re.search(r"^## ", after, flags=re.MULTILINE) if found else None
    tail = "\n" + after[rest.start():] if rest else ""
    out.write_text(before.rstrip("\n") + "\n\n" + text + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="patients in the large network (0: sample only)")
    parser.add_argument("--db", type=Path, help="a built database of the large network (instead of --size's "
                        "cached one), e.g. one ingested once from bench/cache/network_1000000 outside git")
    parser.add_argument("--sample-db", type=Path, help="a built database of the sample clinic (instead of "
                        "building one in bench/cache/sample)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write the figures here, for comparing runs")
    parser.add_argument("--print-only", action="store_true", help="print the section; leave RESULTS.md alone")
    parser.add_argument("--only", nargs="+", choices=list(PAGES), help="these pages only (more runs where it matters)")
    args = parser.parse_args()
    results = {"sample clinic (600 patients)": measure(args.sample_db or built_database(0), args.runs, args.only)}
    print(results, flush=True)
    if args.db or args.size:
        name = f"{args.size:,} patients" if args.size else args.db.name
        results[name] = measure(args.db or built_database(args.size), args.runs, args.only)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    text = section(results, args.runs)
    if not args.print_only:
        write(text, args.out)
    print(text)


if __name__ == "__main__":
    main()
