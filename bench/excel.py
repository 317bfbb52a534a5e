"""Benchmark of the analyst path: ingest of a workbook (.xlsx, one sheet per export) against the same
network's CSVs, and the daily re-upload of an unchanged export. Prints figures for bench/RESULTS.md.

    python -m bench.excel --patients 10000
"""

import argparse
import csv
import shutil
import time
from pathlib import Path

from bench.run import CACHE, FILES, network
from ketamine_outcomes import store
from ketamine_outcomes.ingest import ingest_files


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


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--patients", type=int, default=10000)
    args = options.parse_args()
    folder = network(args.patients)
    csvs = [folder / name for name in FILES]
    started = time.perf_counter()
    book = workbook(folder)
    print(f"{args.patients:,} patients: workbook {book.stat().st_size / 1e6:.1f} MB "
          f"(written in {time.perf_counter() - started:.0f} s, cached), CSVs "
          f"{sum(p.stat().st_size for p in csvs) / 1e6:.1f} MB")
    work = CACHE / "excel_bench"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    csv_seconds, csv_results = timed(work / "csv.duckdb", csvs)
    book_seconds, book_results = timed(work / "book.duckdb", [book])
    again_seconds, again_results = timed(work / "csv.duckdb", csvs)
    print(f"first load from CSV: {csv_seconds:.1f} s; from the .xlsx: {book_seconds:.1f} s "
          f"({book_seconds / csv_seconds:.1f}x)")
    print(f"unchanged re-upload of the CSVs: {again_seconds:.1f} s ({again_seconds / csv_seconds:.2f}x the first load); "
          f"duplicates reported: {sum(r.rows_duplicate for r in again_results):,} of "
          f"{sum(r.rows_inserted for r in csv_results):,} rows stored")
    same = []
    for name in ("sessions", "assessments", "patients"):
        queries = []
        for db in ("csv", "book"):
            con = store.open_file(work / f"{db}.duckdb", read_only=True)
            queries.append(con.execute(f"select count(*), sum(hash(t)) from (select * exclude (batch_id) "
                                       f"from {name}) as t").fetchall()[0])
            con.close()
        same.append(f"{name} {'equal' if queries[0] == queries[1] else 'DIFFERENT'} ({queries[0][0]:,} rows)")
    print("stored rows, workbook against CSV: " + ", ".join(same))
    print("rejected lines:", sum(r.rows_rejected for r in csv_results), "(CSV),",
          sum(r.rows_rejected for r in book_results), "(workbook)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
