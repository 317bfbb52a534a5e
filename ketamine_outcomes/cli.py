"""The `ketamine-outcomes` command: ingest exports, list batches, print marts, start the dashboard."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from . import store
from .ingest import PROGRESS_BYTES, ingest_files

SHOWN_REJECTS = 10


def _ingest(args) -> int:
    large = any(Path(p).exists() and Path(p).stat().st_size > PROGRESS_BYTES for p in args.files)

    def progress(message: str) -> None:
        if large and not args.quiet:
            print(f"  ... {message}", file=sys.stderr, flush=True)

    missing = [p for p in args.files if not Path(p).is_file()]
    for p in missing:
        print(f"{p}: refused, nothing stored. No such file.", file=sys.stderr)
    results = ingest_files(args.db, [p for p in args.files if p not in missing], args.date_format, progress)
    for result in results:
        print(result.summary(), file=sys.stderr if result.refused else sys.stdout)
        if result.rows_rejected and not args.quiet:
            for row in result.rejects.head(SHOWN_REJECTS).itertuples():
                column = "-" if pd.isna(row.column_name) else row.column_name
                value = "" if pd.isna(row.value) else f" {row.value!r}"
                print(f"  line {row.line_number}, {column}{value}: {row.reason}")
            more = len(result.rejects) - SHOWN_REJECTS
            if more > 0:
                print(f"  ... and {more} more problems: ketamine-outcomes rejects --batch {result.batch_id}")
    return 1 if missing or any(r.refused for r in results) else 0


def _print_table(frame, as_json: bool) -> None:
    if as_json:
        print(json.dumps(frame.to_dict(orient="records"), default=str, indent=1))
    else:
        print(frame.to_string(index=False) if len(frame) else "(none)")


def _batches(args) -> int:
    con = store.connect(args.db, read_only=True)
    frame = con.execute(
        "select batch_id, loaded_at, file_name, kind, rows_read, rows_inserted, rows_replaced, rows_duplicate, "
        "rows_rejected, left(sha256, 12) as sha256 from batches order by batch_id"
    ).df()
    frame["loaded_at"] = frame["loaded_at"].astype(str).str[:19]
    _print_table(frame, args.json)
    return 0


def _rejects(args) -> int:
    con = store.connect(args.db, read_only=True)
    frame = con.execute(
        "select batch_id, line_number, column_name, value, reason from rejects "
        "where $batch is null or batch_id = $batch order by batch_id, line_number", {"batch": args.batch}
    ).df()
    _print_table(frame, args.json)
    return 0


def _dashboard(args) -> int:
    entry = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    db = Path(args.db).resolve()
    if not db.exists():
        print(f"{db}: no such database. Create it with: ketamine-outcomes ingest FILE... --db {args.db}",
              file=sys.stderr)
        return 1
    command = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(args.port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    print(f"Dashboard on http://localhost:{args.port} (database {db})")
    return subprocess.call(command, env={**os.environ, "KETAMINE_OUTCOMES_DB": str(db)})


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ketamine-outcomes", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    def command(name, handler, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--db", default=str(store.DEFAULT_DB), help="database file (default: %(default)s)")
        sub.set_defaults(handler=handler)
        return sub

    sub = command("ingest", _ingest, "Ingest CSV exports (sessions, outcomes, patients), one transaction per file.")
    sub.add_argument("files", nargs="+", metavar="FILE")
    sub.add_argument("--date-format", choices=("iso", "us"), default=None,
                     help="declare the dates' format; by default ISO, or MM/DD/YYYY when unambiguous")
    sub.add_argument("--quiet", action="store_true", help="print only the one-line summaries")

    sub = command("batches", _batches, "List every ingest batch with its counts.")
    sub.add_argument("--json", action="store_true")

    sub = command("rejects", _rejects, "List rejected lines with their line number, column, value and reason.")
    sub.add_argument("--batch", type=int, default=None)
    sub.add_argument("--json", action="store_true")

    sub = command("dashboard", _dashboard, "Start the Streamlit dashboard on a database.")
    sub.add_argument("--port", type=int, default=8501)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
