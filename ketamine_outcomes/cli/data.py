"""Commands on what is stored: ingest, batches (and undo), rejects, saved column mappings, vocabulary."""

import sys
from pathlib import Path

from ketamine_outcomes.access import audit
from ketamine_outcomes.ingest import mappings
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import (
    PROGRESS_BYTES, StoredThenFailed, by_reason, ingest_files, undo_batch, upload_detail,
)
from ketamine_outcomes.safe_text import csv_text
from ketamine_outcomes.store import publish
from ketamine_outcomes.cli.output import print_table, record_action


def ingest_command(args) -> int:
    large = any(Path(p).exists() and Path(p).stat().st_size > PROGRESS_BYTES for p in args.files)

    def progress(message: str, fraction: float | None = None) -> None:
        if large and not args.quiet:
            done = f"{fraction:4.0%} " if fraction is not None else ""
            print(f"  ... {done}{message}", file=sys.stderr, flush=True)

    missing = [p for p in args.files if not Path(p).is_file()]
    for p in missing:
        print(f"{p}: refused, nothing stored. No such file.", file=sys.stderr)
    def waiting() -> None:
        print(f"  ... waiting for {args.db}: in use by another process (up to {args.wait:.0f} s)",
              file=sys.stderr, flush=True)

    kind, mapping = None, None
    if args.mapping:
        if not Path(args.db).exists():
            print(f"{args.db}: no such database, so no column mapping {args.mapping!r}", file=sys.stderr)
            return 2
        con = database.connect(args.db, wait_seconds=args.wait, init=False)
        try:
            kind, mapping = mappings.load(con, args.mapping)
        except KeyError as error:
            print(error.args[0], file=sys.stderr)
            return 2
        finally:
            con.close()
    try:
        results = ingest_files(args.db, [p for p in args.files if p not in missing], args.date_format, progress,
                               wait_seconds=args.wait, on_wait=waiting, mapping=mapping, kind=kind, init=args.init,
                               announce=True, recorded_as=(audit.os_user(), audit.CLI))
    except StoredThenFailed as stopped:
        # Some batches are stored (with their audit rows) and something after them failed: say both.
        for result in stopped.results:
            print(result.summary(), file=sys.stderr if result.refused else sys.stdout)
        fault = database.fault(stopped.error, args.db)
        print(f"{args.db}: {fault.reason.split(';')[0] if fault else stopped.error}; "
              f"{sum(r.batch_id is not None for r in stopped.results)} batch(es) above were stored before it "
              "(see each line).", file=sys.stderr)
        return 2
    _record_ingests(args, results)
    for result in results:
        print(result.summary(), file=sys.stderr if result.refused else sys.stdout)
        if args.quiet:
            continue
        for label, problems, command in (("rejected", result.rejects, "rejects"),
                                         ("stored with a warning", result.warnings, "rejects --warnings")):
            if len(problems):
                print(f"  lines {label}, by reason (all of them: ketamine-outcomes {command} --batch "
                      f"{result.filed_before or result.batch_id} --csv):")
                for row in by_reason(problems).itertuples():
                    print(f"    {row.n_lines} x {row.column_name}: {row.reason}. e.g. {row.examples}")
    return 1 if missing or any(r.refused for r in results) else 0


def _record_ingests(args, results) -> None:
    """A stored batch's row was written in its own transaction (ingest recorded_as); a refusal stored
    nothing and is recorded here."""
    record_action(args.db, "upload", [upload_detail(r.file_name, None) for r in results if r.batch_id is None], args.wait)


def batches_command(args) -> int:
    if args.undo is not None:
        con = database.connect(args.db, wait_seconds=120, init=False)
        try:
            print(undo_batch(con, args.undo))
            audit.record(con, audit.os_user(), audit.CLI, "undo", f"batch {args.undo}")
        except ValueError as error:
            print(f"cannot undo: {error}", file=sys.stderr)
            return 2
        marts.ensure_built(con)  # the metric tables follow the data
        publish.after_write(con)  # and so do the dashboard replicas' copies (when publishing is on)
        con.close()
        return 0
    con = database.connect(args.db, read_only=True, init=False)
    frame = con.execute(
        "select batch_id, loaded_at, file_name, kind, rows_read, rows_inserted, rows_replaced, rows_duplicate, "
        "rows_rejected, rows_with_warnings, columns_ignored, source, undone_at, left(sha256, 12) as sha256 "
        "from batches order by batch_id"
    ).df()
    for column in ("loaded_at", "undone_at"):
        frame[column] = frame[column].astype(str).str[:19].replace({"NaT": ""})
    print_table(frame, args.json)
    return 0


def rejects_command(args) -> int:
    con = database.connect(args.db, read_only=True, init=False)
    table = "warnings" if args.warnings else "rejects"
    # An undone batch's lines are not in the database's story any more (re-ingesting the file files them
    # again): listed only when that batch is asked for.
    frame = con.execute(
        f"select batch_id, line_number, column_name, value, reason from {table} "
        "where batch_id = $batch or ($batch is null and batch_id not in "
        "    (select batch_id from batches where undone_at is not null)) "
        "order by batch_id, line_number", {"batch": args.batch}
    ).df()
    con.close()
    # Rejected values are line-level data: every listing is recorded, as the Data page's download is, before the rows
    # are printed (a reader that stops early has still been given some).
    which = f"batch {args.batch}" if args.batch is not None else "every batch"
    form = "CSV" if args.csv else "JSON" if args.json else "a table"
    record_action(args.db, "download", [f"{table} ({which}): {len(frame)} rows as {form}"])
    if args.csv:
        sys.stdout.write(csv_text(frame))
    else:
        print_table(frame, args.json)
    return 0


def mappings_command(args) -> int:
    con = database.connect(args.db, read_only=True, init=False)
    frame = mappings.listing(con)
    frame["saved_at"] = frame["saved_at"].astype(str).str[:19]
    print_table(frame, args.json)
    return 0


def vocabulary_command(args) -> int:
    if args.action == "list":
        con = database.connect(args.db, read_only=True, init=False)
        frame = mappings.terms(con)
        frame["saved_at"] = frame["saved_at"].astype(str).str[:19]
        print_table(frame, args.json)
        return 0
    if not args.column or not args.terms or not args.mapping:
        print("refused, nothing changed: the command is `vocabulary add COLUMN TERM... --mapping NAME`",
              file=sys.stderr)
        return 2
    con = database.connect(args.db, wait_seconds=120, init=False)
    try:
        added = mappings.add_terms(con, args.mapping, args.column, args.terms)
    except ValueError as error:
        print(f"refused, nothing changed: {error}", file=sys.stderr)
        return 2
    if added:
        audit.record(con, audit.os_user(), audit.CLI, "settings",
                     f"vocabulary of {args.column} (mapping {args.mapping}): added {', '.join(added)}")
    print(f"{args.column}: {len(added)} term(s) added" + (f": {', '.join(added)}" if added else
                                                          " (each was already a term)"))
    return 0
