"""Where a first load's time goes: every SQL statement of `ingest_files` timed (wall and CPU seconds), summed
by step, beside DuckDB's bare read of the same files in the same run. Writes its section of bench/RESULTS.md.

    python -m bench.first_load                      # 100k patients
    python -m bench.first_load --patients 1000000

CPU seconds are the process's (every thread's, DuckDB's included): a machine shared with other work blurs
them far less than wall time. The statements are timed through a connection that passes every call on
(the product's own code runs unchanged); the Python between statements is the "outside SQL" row.
"""

import argparse
import collections
import os
import re
import resource
import shutil
import sys
import time
from pathlib import Path

from bench.excel import bare_read
from bench.pages import write
from bench.run import CACHE, FILES, ROOT, network
from ketamine_outcomes.ingest import pipeline
from ketamine_outcomes.store import database

SECTION = "## First load, statement by statement"

# (module, function) of the caller -> step; a build statement is named by the table it makes.
STEPS = {"stage": "read: every field as text, each line's MD5; hashes", "privacy": "identifier checks",
         "merge": "merge into the stored tables", "pipeline": "batch rows, counts, temporary tables",
         "transaction": "commits", "one_checkpoint": "checkpoint (the database file written)"}


def step(caller: tuple[str, str], sql: str) -> str:
    module, function = caller
    made = re.match(r"\s*create or replace table (int_\w+)", sql)
    if made:
        return f"build: {made.group(1)}"
    staging = re.search(r"--\s*Staging for an? (\w+)", sql)
    if staging:
        return f"staging: {staging.group(1)} (parse, check)"
    if function in STEPS:
        return STEPS[function]
    if module == "marts" or module == "cohort_series":
        return "build: other statements"
    return STEPS.get(module, f"other ({module}.{function})")


class Timed:
    """A connection that times each execute, naming its caller; everything else is passed on."""

    def __init__(self, con, times):
        object.__setattr__(self, "_con", con)
        object.__setattr__(self, "_times", times)

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, *args, **kwargs):
        frame = sys._getframe(1)
        if frame.f_code.co_name == "run":  # database.run: the query file's caller is the one to name
            frame = frame.f_back
        caller = (Path(frame.f_code.co_filename).stem, frame.f_code.co_name)
        if frame.f_code.co_name in ("transaction", "one_checkpoint"):
            caller = ("database", frame.f_code.co_name)
        wall, cpu = time.perf_counter(), time.process_time()
        result = self._con.execute(sql, *args, **kwargs)
        self._times[step(caller, sql)] += (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    def cursor(self):
        return Timed(self._con.cursor(), self._times)

    def close(self):
        return self._con.close()


class Pair(tuple):
    def __add__(self, other):
        return Pair((self[0] + other[0], self[1] + other[1]))


def measure(patients: int) -> dict:
    folder = network(patients)
    files = [folder / name for name in FILES]
    # A folder of this run's own: two runs at once (helpers share bench/cache) removed each other's files.
    work = CACHE / f"first_load_bench_{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _measure(patients, files, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(patients: int, files: list[Path], work: Path) -> dict:
    bare_cpu = []
    bare = [bare_read(work, files, bare_cpu) for _ in range(2)][-1]  # after a warm-up
    times = collections.defaultdict(lambda: Pair((0.0, 0.0)))
    real_connect = database.connect
    db = work / "first.duckdb"
    db.unlink(missing_ok=True)
    try:
        pipeline.database.connect = lambda *a, **k: Timed(real_connect(*a, **k), times)
        wall, cpu = time.perf_counter(), time.process_time()
        results = pipeline.ingest_files(db, files)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        pipeline.database.connect = real_connect
        db.unlink(missing_ok=True)
    assert all(r.refused is None for r in results)
    in_sql = Pair((sum(t[0] for t in times.values()), sum(t[1] for t in times.values())))
    times["outside SQL (Python: scans, checks of names and headers, results)"] = Pair((wall - in_sql[0], cpu - in_sql[1]))
    return {"patients": patients, "bare": bare, "bare_cpu": bare_cpu[-1], "wall": wall, "cpu": cpu,
            "steps": dict(times), "load": os.getloadavg(),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def section(figures: list[dict]) -> str:
    lines = [SECTION, ""]
    for f in figures:
        lines += [f"`python -m bench.first_load --patients {f['patients']}`, {time.strftime('%Y-%m-%d %H:%M')} UTC, "
                  f"load average {f['load'][0]:.1f} / {f['load'][1]:.1f} (1 / 5 min) on 2 cores. First load of "
                  f"{f['patients']:,} patients: {f['wall']:.1f} s, {f['cpu']:.1f} s CPU; DuckDB's bare read of the "
                  f"same files: {f['bare']:.1f} s, {f['bare_cpu']:.1f} s CPU ({f['wall'] / f['bare']:.1f}x wall, "
                  f"{f['cpu'] / f['bare_cpu']:.1f}x CPU). Peak memory of the process (the bare read's and the "
                  f"load's): {f['peak_mb']:,.0f} MB.", "",
                  "| step | wall s | CPU s | share of CPU |", "|---|---|---|---|"]
        for name, (wall, cpu) in sorted(f["steps"].items(), key=lambda item: -item[1][1]):
            lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {cpu / f['cpu']:.0%} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--patients", type=int, nargs="+", default=[100_000])
    options.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = options.parse_args()
    text = section([measure(patients) for patients in args.patients])
    write(text, args.out, SECTION)
    print(text)


if __name__ == "__main__":
    main()
