"""Benchmark of the analyst path: ingest of a workbook (.xlsx, one sheet per export) against the same
network's CSVs, and the daily cumulative re-upload (unchanged, and with 1% of lines corrected), each
against DuckDB's bare read_csv of the CSVs. Writes its section of bench/RESULTS.md.

    python -m bench.excel                       # 100k patients
    python -m bench.excel --patients 10000      # quicker
"""

import argparse
import csv
import os
import shutil
import time
from pathlib import Path

import duckdb

from bench.pages import write
from bench.run import CACHE, FILES, ROOT, network
from ketamine_outcomes import store
from ketamine_outcomes.ingest import ingest_files


SECTION = "## The analyst's path: a workbook, and the daily cumulative re-upload"


def workbook(folder: Path) -> Path:
    """The network's three CSVs as the three sheets of one .xlsx (openpyxl, write-only), cached."""
    from openpyxl import Workbook

    path = folder / "network.xlsx"
    if path.exists():
        return path
    book = Workbook(write_only=True)
    for name in FILES:
        sheet = book.create_sheet(name.removesuffix(".csv"))
        with open(folder / name, newline="") as f:
            for n, row in enumerate(csv.reader(f)):
                sheet.append([_number(v) for v in row] if n else row)
    book.save(path)
    return path


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def timed(db: Path, files) -> tuple[float, list]:
    start = time.perf_counter()
    results = ingest_files(db, files)
    return time.perf_counter() - start, results


def bare_read(folder: Path, files) -> float:
    """DuckDB's bare `create table as select * from read_csv(...)` of the files: the floor."""
    db = folder / "floor.duckdb"
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    for file in files:
        con.execute(f"create table {file.stem} as select * from read_csv($path)", {"path": str(file)})
    con.close()
    seconds = time.perf_counter() - start
    db.unlink()
    return seconds


def corrected(folder: Path, csvs, every: int = 100) -> list[Path]:
    """Tomorrow's cumulative export: the same files with one line in `every` corrected (a score moved by
    one point, a dose by one mg), the rest byte for byte as before."""
    out = []
    for path in csvs:
        target = folder / f"corrected_{path.name}"
        with open(path, newline="") as f, open(target, "w", newline="") as g:
            rows = csv.reader(f)
            writer = csv.writer(g, lineterminator="\n")
            header = next(rows)
            writer.writerow(header)
            column = {"outcomes.csv": "score", "sessions.csv": "dose_mg"}.get(path.name)
            at = header.index(column) if column else None
            for n, row in enumerate(rows, 1):
                if at is not None and n % every == 0 and row[at]:
                    value = int(float(row[at]))
                    row[at] = str(value + 1 if value < 20 else value - 1)
                writer.writerow(row)
        out.append(target)
    return out


def section(figures: dict) -> str:
    f = figures
    lines = [SECTION, "",
             f"{f['patients']:,} patients, {f['mb']:.0f} MB of CSV (three exports); one run each, "
             f"{time.strftime('%Y-%m-%d')}, load average {f['load']:.1f}; `python -m bench.excel --patients "
             f"{f['patients']}`. Every load includes the metric build when something changed.", "",
             "| load | seconds | against the bare read_csv | target |", "|---|---|---|---|",
             f"| bare DuckDB read_csv of the CSVs (the floor) | {f['bare']:.2f} | 1.0x | |",
             f"| first load of the CSVs | {f['csv']:.2f} | {f['csv'] / f['bare']:.1f}x | |",
             f"| first load of the same exports as one .xlsx workbook | {f['book']:.2f} | "
             f"{f['book'] / f['bare']:.1f}x | |",
             f"| re-upload, unchanged | {f['again']:.2f} | {f['again'] / f['bare']:.1f}x | <= 2x |",
             f"| re-upload, 1% of lines corrected | {f['changed']:.2f} | {f['changed'] / f['bare']:.1f}x | <= 3x |",
             "", f"Stored rows from the workbook against the CSVs: {f['same']}. The corrected re-upload replaced "
             f"{f['replaced']:,} rows and reported {f['duplicate']:,} unchanged.", ""]
    return "\n".join(lines)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--patients", type=int, default=100_000)
    options.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = options.parse_args()
    folder = network(args.patients)
    csvs = [folder / name for name in FILES]
    started = time.perf_counter()
    book = workbook(folder)
    print(f"{args.patients:,} patients: workbook {book.stat().st_size / 1e6:.1f} MB "
          f"(written in {time.perf_counter() - started:.0f} s, cached), CSVs "
          f"{sum(p.stat().st_size for p in csvs) / 1e6:.1f} MB", flush=True)
    work = CACHE / "excel_bench"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    figures = {"patients": args.patients, "mb": sum(p.stat().st_size for p in csvs) / 1e6}
    figures["bare"] = bare_read(work, csvs)
    figures["csv"], csv_results = timed(work / "csv.duckdb", csvs)
    figures["book"], book_results = timed(work / "book.duckdb", [book])
    shutil.copy(work / "csv.duckdb", work / "changed.duckdb")
    figures["again"], again_results = timed(work / "csv.duckdb", csvs)
    figures["changed"], changed_results = timed(work / "changed.duckdb", corrected(work, csvs))
    figures["replaced"] = sum(r.rows_replaced for r in changed_results)
    figures["duplicate"] = sum(r.rows_duplicate for r in changed_results)
    figures["load"] = os.getloadavg()[1]
    same = []
    for name in ("sessions", "assessments", "patients"):
        queries = []
        for db in ("csv", "book"):
            con = store.open_file(work / f"{db}.duckdb", read_only=True)
            queries.append(con.execute(f"select count(*), sum(hash(t)) from (select * exclude (batch_id) "
                                       f"from {name}) as t").fetchall()[0])
            con.close()
        same.append(f"{name} {'equal' if queries[0] == queries[1] else 'DIFFERENT'} ({queries[0][0]:,} rows)")
    figures["same"] = ", ".join(same)
    print("rejected lines:", sum(r.rows_rejected for r in csv_results), "(CSV),",
          sum(r.rows_rejected for r in book_results), "(workbook),",
          sum(r.rows_rejected for r in again_results + changed_results), "(re-uploads)")
    text = section(figures)
    write(text, args.out, SECTION)
    print(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
