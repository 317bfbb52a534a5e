"""Meeting-pack timing at clinic-network scale: `python -m bench.pack --patients 100000`.

Generates (or reuses, in bench/cache/) the synthetic network, ingests it into a fresh database, then
times `pack.write` for the HTML pack (target: under 10 s at 100k patients) and for the PDF, each the
median of --runs runs after a warm-up. Prints the figures and writes them as the "Meeting pack"
section of bench/RESULTS.md (replacing that section only; `make bench` rewrites the rest).
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.run import ROOT, fresh_db, machine, network
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.report import pack
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_files


def timed(action, runs: int) -> float:
    action()  # warm-up: DuckDB's caches and plotly's imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    folder = network(args.patients)
    with tempfile.TemporaryDirectory() as work:
        db = fresh_db(Path(work), "pack.duckdb")
        files = [folder / "patients.csv", folder / "sessions.csv", folder / "outcomes.csv"]
        ingest_files(db, files)
        con = database.connect(db, read_only=True)
        assert marts.is_built(con)
        period = pack.latest_closed_quarter(con, "PHQ-9", marts.Cohort())
        html = timed(lambda: pack.write(con, Path(work) / "pack.html", period=period), args.runs)
        pdf = timed(lambda: pack.write(con, Path(work) / "pack.pdf", period=period), args.runs)
        size = (Path(work) / "pack.html").stat().st_size / 1e6
    lines = [
        "## Meeting pack",
        "",
        f"`python -m bench.pack --patients {args.patients} --runs {args.runs}` on {machine()}.",
        f"Median of {args.runs} runs after a warm-up; the pack for the latest closed quarter ({period.label}), "
        "all series, PHQ-9.",
        "",
        "| patients | HTML pack (s) | PDF pack (s) | HTML size (MB) |",
        "|---:|---:|---:|---:|",
        f"| {args.patients:,} | {html:.1f} | {pdf:.1f} | {size:.1f} |",
        "",
        f"Load average when the run started: {load:.1f} (other work on the machine slows every figure).",
        "Target: the HTML pack in under 10 s at 100k patients. The PDF adds chromium's start, layout and print.",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    text = args.out.read_text() if args.out.exists() else ""
    if "## Meeting pack" in text:
        before, _, rest = text.partition("## Meeting pack")
        after = rest[rest.index("\n## "):] if "\n## " in rest else ""
        text = before + section + after.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    args.out.write_text(text)


if __name__ == "__main__":
    main()
