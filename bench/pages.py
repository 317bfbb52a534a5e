"""Every dashboard page and every page choice, timed in a real browser: from the click to the last chart
drawn, on the sample clinic and on a large network. Writes its section of bench/RESULTS.md.

    python -m bench.pages                       # sample clinic and 100k patients, 5 runs each
    python -m bench.pages --size 10000 --runs 3 # quicker

Each figure is the median of --runs clicks after one warm-up visit (which fills the server's caches, as a
second visitor would find them). A click is timed until Streamlit's run has ended, no element is stale
and every Plotly chart on the page has drawn its SVG."""

import argparse
import contextlib
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


def table(results: dict[str, dict[str, float]]) -> list[str]:
    """A markdown table: one row per figure, one column per database, and the last one over the first."""
    names = list(next(iter(results.values())))
    lines = ["| click | " + " | ".join(results) + " | large / sample |", "|---|" + "---|" * (len(results) + 1)]
    for name in names:
        values = [results[db][name] for db in results]
        ratio = f"{values[-1] / values[0]:.1f}x" if len(values) > 1 and values[0] else ""
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" if v < 0.1 else f"{v:.2f}" for v in values)
                     + f" | {ratio} |")
    return lines


def choose(page, label: str, option: str):
    """A selectbox's option, as a user picks it."""
    def pick():
        # Streamlit 1.67's selectbox is a combobox: a click focuses it, the arrow key opens its list (when the
        # click did, it only moves the highlight). Exact: a chart's description may hold the label's words.
        box = page.get_by_label(label, exact=True)
        box.click()
        box.press("ArrowDown")
        page.get_by_role("option", name=option, exact=True).click()
    return pick


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


def measure(db: Path, runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {}
    with served(db) as (page, _):
        for n in range(runs + 1):
            for title, path in PAGES.items():
                link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
                seconds = after_rerun(page, link.click)
                page.get_by_role("heading", name=title, level=1).wait_for(timeout=60_000)
                if n:
                    times.setdefault(f"open {title}", []).append(seconds)
                for name, action in CHOICES.get(path, []):
                    seconds = after_rerun(page, action(page))
                    if n:
                        times.setdefault(f"{title}: {name}", []).append(seconds)
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["(load average during the run)"] = os.getloadavg()[1]  # a busy machine inflates every figure
    return medians


def section(results: dict[str, dict[str, float]], runs: int) -> str:
    lines = [SECTION, "",
             f"Click to last chart drawn, seconds (median of {runs} after a warm-up visit; {time.strftime('%Y-%m-%d')}; "
             "`python -m bench.pages`). Target: every page within 1 s on the sample clinic, and the large network "
             "within 1.5x of it.", "", *table(results)]
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
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    results = {"sample clinic (600 patients)": measure(built_database(0), args.runs)}
    print(results, flush=True)
    if args.size:
        results[f"{args.size:,} patients"] = measure(built_database(args.size), args.runs)
    text = section(results, args.runs)
    write(text, args.out)
    print(text)


if __name__ == "__main__":
    main()
