"""The `ketamine-outcomes` command: ingest exports, list batches, print marts, start the dashboard."""

import argparse
import inspect
import json
import logging
import math
import os
import re
import sys
from datetime import date
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from ketamine_outcomes.access import roles as access
from ketamine_outcomes.access import audit
from ketamine_outcomes.store import backup
from ketamine_outcomes.ingest import mappings
from ketamine_outcomes.metrics import marts as metrics
from ketamine_outcomes.store import database as store
from ketamine_outcomes.definitions import OUTCOME_INSTRUMENTS, PLAIN_NUMBER, RENAMED_SETTINGS, SETTINGS, check_setting
from ketamine_outcomes.ingest.pipeline import (PROGRESS_BYTES, StoredThenFailed, by_reason, ingest_files, undo_batch,
                                               upload_detail)
from ketamine_outcomes.ingest.privacy import DisallowedView
from ketamine_outcomes.safe_text import csv_text
from ketamine_outcomes.store import publish


def _ingest(args) -> int:
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
        con = store.connect(args.db, wait_seconds=args.wait, init=False)
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
        fault = store.fault(stopped.error, args.db)
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


def _record(db, action: str, details: list[str], wait: float = 120) -> None:
    """The audit trail names who did what: from the command line, the operating-system user. A database
    this user cannot write keeps no trail; say so rather than fail the command."""
    if not details:
        return
    try:
        con = store.connect(db, wait_seconds=wait, init=False)
        try:
            for detail in details:
                audit.record(con, audit.os_user(), audit.CLI, action, detail)
        finally:
            con.close()
    except (duckdb.Error, OSError) as error:
        print(f"warning: not recorded in the audit trail ({action}: {'; '.join(details)}): {error}",
              file=sys.stderr)


def _record_ingests(args, results) -> None:
    """A stored batch's row was written in its own transaction (ingest recorded_as); a refusal stored
    nothing and is recorded here."""
    _record(args.db, "upload", [upload_detail(r.file_name, None) for r in results if r.batch_id is None], args.wait)


def json_text(frame: pd.DataFrame) -> str:
    """The rows as strict JSON for other tools: an empty value is null (json.dumps would write NaN, which
    JSON does not have and strict parsers refuse)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    records = [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()}
               for r in records]
    return json.dumps(records, default=str, indent=1, allow_nan=False)


def _print_table(frame, as_json: bool) -> None:
    if as_json:
        print(json_text(frame))
    else:
        # An empty value is left blank (pandas writes NaN, None or <NA> by the column's type).
        print(frame.astype(object).where(frame.notna(), "").to_string(index=False) if len(frame) else "(none)")


def _batches(args) -> int:
    if args.undo is not None:
        con = store.connect(args.db, wait_seconds=120, init=False)
        try:
            print(undo_batch(con, args.undo))
            audit.record(con, audit.os_user(), audit.CLI, "undo", f"batch {args.undo}")
        except ValueError as error:
            print(f"cannot undo: {error}", file=sys.stderr)
            return 2
        metrics.ensure_built(con)  # the metric tables follow the data
        publish.after_write(con)  # and so do the dashboard replicas' copies (when publishing is on)
        con.close()
        return 0
    con = store.connect(args.db, read_only=True, init=False)
    frame = con.execute(
        "select batch_id, loaded_at, file_name, kind, rows_read, rows_inserted, rows_replaced, rows_duplicate, "
        "rows_rejected, rows_with_warnings, columns_ignored, source, undone_at, left(sha256, 12) as sha256 "
        "from batches order by batch_id"
    ).df()
    for column in ("loaded_at", "undone_at"):
        frame[column] = frame[column].astype(str).str[:19].replace({"NaT": ""})
    _print_table(frame, args.json)
    return 0


def _rejects(args) -> int:
    con = store.connect(args.db, read_only=True, init=False)
    table = "warnings" if args.warnings else "rejects"
    # An undone batch's lines are not in the database's story any more (re-ingesting the file files them
    # again): listed only when that batch is asked for.
    frame = con.execute(
        f"select batch_id, line_number, column_name, value, reason from {table} "
        "where batch_id = $batch or ($batch is null and batch_id not in "
        "    (select batch_id from batches where undone_at is not null)) "
        "order by batch_id, line_number", {"batch": args.batch}
    ).df()
    if args.csv:
        sys.stdout.write(csv_text(frame))
    else:
        _print_table(frame, args.json)
    return 0


def _mappings(args) -> int:
    con = store.connect(args.db, read_only=True, init=False)
    frame = mappings.listing(con)
    frame["saved_at"] = frame["saved_at"].astype(str).str[:19]
    _print_table(frame, args.json)
    return 0


def _vocabulary(args) -> int:
    if args.action == "list":
        con = store.connect(args.db, read_only=True, init=False)
        frame = mappings.terms(con)
        frame["saved_at"] = frame["saved_at"].astype(str).str[:19]
        _print_table(frame, args.json)
        return 0
    if not args.column or not args.terms or not args.mapping:
        print("refused, nothing changed: the command is `vocabulary add COLUMN TERM... --mapping NAME`",
              file=sys.stderr)
        return 2
    con = store.connect(args.db, wait_seconds=120, init=False)
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


def _cohort(args) -> metrics.Cohort:
    return metrics.Cohort(
        sites=tuple(args.site), routes=tuple(args.route), indications=tuple(args.indication),
        clinicians=tuple(args.clinician), age_bands=tuple(args.age_band), sexes=tuple(args.sex),
        ethnicities=tuple(args.ethnicity), deprivation_deciles=tuple(args.deprivation_decile),
        first_series_only=args.first_series_only, start_from=args.start_from, start_to=args.start_to,
        min_baseline=args.min_baseline, baseline_instrument=args.instrument,
    )


def _open_built(db: str):
    """A connection whose intermediate tables are up to date (building them needs write access)."""
    con = store.connect(db, wait_seconds=120, init=False)
    metrics.ensure_built(con)
    return con


_SPLIT_MARTS = [name for name in metrics.MARTS if "by" in inspect.signature(getattr(metrics, name)).parameters]

# The stable JSON form of the weekly table: other tools read it.
WEEKLY_COUNTS = ("n_scored", "n_paired", "responders", "remitters", "reliably_improved", "reliably_deteriorated")
WEEKLY_MEANS = ("mean_score", "mean_change")
WEEKLY_RATES = ("response_rate", "remission_rate")


def weekly_records(frame: pd.DataFrame) -> list[dict]:
    records = []
    for row in frame.to_dict(orient="records"):
        record = {"week": int(row["week"])}
        for name in WEEKLY_COUNTS + WEEKLY_MEANS + WEEKLY_RATES:
            value = row[name]
            if pd.isna(value):
                continue
            record[name] = int(value) if name in WEEKLY_COUNTS else round(float(value), 2 if name in WEEKLY_MEANS else 4)
        records.append(record)
    return records


def _weekly(args) -> int:
    con = _open_built(args.db)
    frame = metrics.weekly_outcomes(con, args.instrument, _cohort(args))
    if args.json:
        print(json.dumps(weekly_records(frame), indent=1))
    else:
        print(f"{args.instrument} by week of treatment series ({_cohort(args).describe()}); week 0 = baseline")
        print(frame[["week", *WEEKLY_COUNTS[:4], *WEEKLY_MEANS, *WEEKLY_RATES]].round(2).to_string(index=False))
    return 0


def _mart(args) -> int:
    """Marts can hold patient-level rows: the audit trail records each one printed, before it is."""
    function = getattr(metrics, args.name)
    options = {"cohort": _cohort(args)}
    if args.name not in metrics.WITHOUT_INSTRUMENT:
        options["instrument"] = args.instrument
    if args.by is not None:
        if "by" not in inspect.signature(function).parameters:
            print(f"mart {args.name} is not split: --by applies to {', '.join(_SPLIT_MARTS)}", file=sys.stderr)
            return 2
        options["by"] = args.by
    con = _open_built(args.db)
    try:
        frame = function(con, **options)
    except ValueError as error:  # a --by the mart does not know; the message lists the ones it does
        print(f"mart {args.name}: {error}", file=sys.stderr)
        return 2
    # Written before the rows are printed, on the connection that read them (a reader that stops early,
    # `| head`, has still been given rows).
    audit.record(con, audit.os_user(), audit.CLI, "mart",
                 f"{args.name}{' by ' + args.by if args.by else ''} ({_cohort(args).describe()}): {len(frame)} rows "
                 f"as {'JSON' if args.json else 'CSV'}")
    if args.json:
        _print_table(frame, True)
    else:
        print(csv_text(frame), end="")
    return 0


def _report(args) -> int:
    from ketamine_outcomes.report import pack as report  # plotly and jinja2 load only for this command

    started, con = False, None
    try:
        period = report.parse_period(args.period, args.period_from, args.period_to)
        if not Path(args.db).exists():
            raise report.ReportError(f"{args.db}: no such database")
        pack = (f"meeting pack {Path(args.out).name} ({args.instrument}, "
                f"{period.label if period else 'latest closed quarter'})")
        # Recorded before a byte is written: a command killed while writing leaves 'started' without
        # 'written' in the trail (the file may exist), never a pack with no row at all.
        _record(args.db, "export", [f"{pack}: started"])
        started = True
        con = store.connect(args.db, read_only=True, init=False)
        if not metrics.is_built(con):  # a database ingested by an older version, or mid-rebuild
            con.close()
            con = _open_built(args.db)
        out = report.write(con, args.out, instrument=args.instrument, cohort=_cohort(args), period=period,
                           min_cell=args.min_cell, clinic=args.clinic, cases_only=not args.all_baselines)
    except report.ReportError as error:
        if con is not None:
            con.close()  # this process may not hold a second, writable connection to the file beside it
        if started:
            _record(args.db, "export", [f"{pack}: not written ({error})"])
        print(f"report: {error}", file=sys.stderr)
        return 2
    con.close()
    _record(args.db, "export", [f"{pack}: written"])
    print(f"{out}: meeting pack written")
    return 0


def _settings(args) -> int:
    wanted = {"list": 0, "set": 2, "reset": 1}[args.action]
    given = [a for a in (args.name, args.value) if a is not None]
    if len(given) != wanted:
        usage = {"list": "settings list", "set": "settings set NAME VALUE", "reset": "settings reset NAME"}
        print(f"refused, nothing changed: the command is `{usage[args.action]}`; got {' '.join(given) or 'nothing'} "
              f"after {args.action}", file=sys.stderr)
        return 2
    con = store.connect(args.db, wait_seconds=120, init=args.init)
    if args.action in ("set", "reset"):
        known = [r[0] for r in con.execute("select name from default_settings").fetchall()]
        if args.name in RENAMED_SETTINGS:
            kind = "instrument" if args.name == "response_fraction" else "route"
            print(f"refused, nothing changed: {args.name} is now per {kind}: {', '.join(RENAMED_SETTINGS[args.name])}",
                  file=sys.stderr)
            return 2
        if args.name not in known:
            print(f"unknown setting {args.name!r}; settings: {', '.join(sorted(known))}", file=sys.stderr)
            return 2
        if args.action == "set":
            try:
                value = check_setting(args.name, args.value)
            except ValueError as refusal:
                print(f"refused, nothing changed: {refusal}", file=sys.stderr)
                return 2
            con.execute("insert or replace into setting_overrides values ($name, $value)",
                        {"name": args.name, "value": value})
            change = f"{args.name} = {value:g}"
        else:
            con.execute("delete from setting_overrides where name = $name", {"name": args.name})
            change = f"{args.name} reset"
        audit.record(con, audit.os_user(), audit.CLI, "settings", change)
        metrics.ensure_built(con)  # the metric tables follow the new definition
        publish.after_write(con)  # and so do the dashboard replicas' copies (when publishing is on)
    frame = con.execute("select name, value, default_value, minimum, maximum, description from settings order by name").df()
    _print_table(frame, args.json)
    return 0


def _audit(args) -> int:
    if not Path(args.db).is_file():
        print(f"{args.db}: no such database", file=sys.stderr)
        return 1
    con = store.connect(args.db, read_only=True, init=False)
    frame = audit.entries(con, args.since)
    frame["logged_at"] = frame["logged_at"].astype(str).str[:19]
    _print_table(frame, args.json)
    return 0


def _backup(args) -> int:
    def waiting() -> None:
        print(f"  ... waiting for {args.db}: in use by another process (up to {args.wait:.0f} s)",
              file=sys.stderr, flush=True)

    destination = backup.destination_for(args.db, args.destination)
    try:
        counts = backup.backup(args.db, destination, wait_seconds=args.wait, on_wait=waiting, replace=args.replace,
                               recorded_as=(audit.os_user(), audit.CLI))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    except (store.DatabaseFault, duckdb.Error):
        raise  # the database's own faults: main names them
    except OSError as error:  # the destination's: a folder this user may not write, a full disk
        reason = error.strerror or str(error)
        print(reason if str(destination) in reason else f"{destination}: cannot write the backup there ({reason}); "
              "nothing was replaced", file=sys.stderr)
        return 2
    print(f"{destination}: backup of {args.db}, checked: {len(counts)} tables, {sum(counts.values()):,} rows "
          f"({counts.get('batches', 0)} batches)")
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _publish(args) -> int:
    """Turn publishing on for the database (its folder of copies) and publish the first copy."""
    if not Path(args.db).is_file():
        print(f"{args.db}: no such database; nothing was published", file=sys.stderr)
        return 2
    con = store.connect(args.db, wait_seconds=args.wait, init=False)
    try:
        publish.folder(args.db).mkdir(exist_ok=True)
        copy = publish.after_write(con)
    finally:
        con.close()
    if copy is None:
        print(f"{args.db}: the copy could not be made (see the message above); nothing was published",
              file=sys.stderr)
        return 1
    print(f"{args.db}: published {copy.name} in {publish.folder(args.db)}; replicas (dashboard --replica) read "
          "it, and every ingest, undo and settings change publishes a new one")
    return 0


def _dashboard(args) -> int:
    # Streamlit runs a script by its path; the dashboard is package data of this package (pyproject.toml).
    entry = Path(str(resources.files("ketamine_outcomes.dashboard") / "app.py"))
    db = Path(args.db).resolve()
    environment = {**os.environ, "KETAMINE_OUTCOMES_DB": str(db)}
    options = []
    if args.access and args.no_sign_in:
        print("--access and --no-sign-in contradict each other: give one", file=sys.stderr)
        return 2
    if args.access:
        try:
            access_file = access.read(args.access).path.resolve()
        except access.AccessFileError as error:
            print(error, file=sys.stderr)
            return 2
        # Streamlit reads [auth] from its secrets file: the access file is that file, so the keys live in
        # one place. Tables' own CSV buttons are off: row downloads go through the audited Data page.
        options += ["--secrets.files", str(access_file), "--client.disableDataExport", "true"]
        environment["KETAMINE_OUTCOMES_ACCESS"] = str(access_file)
    elif args.address not in LOOPBACK and not args.no_sign_in:
        print(f"--address {args.address} would show every page, upload and patient-level download to anyone "
              "who can reach it. Give --access ACCESS.toml (sign-in and roles: docs/deploy.md), or "
              "--no-sign-in if something in front of the dashboard already signs people in.", file=sys.stderr)
        return 2
    elif args.no_sign_in:
        print(f"WARNING: --no-sign-in: anyone who reaches {args.address}:{args.port} sees every page and may "
              "upload, download patient-level rows and change settings.", file=sys.stderr, flush=True)
    # Checked here so an unusable --db is one line now, not a page later. A path with no file yet is a new
    # clinic: --init creates its database now; without it the pages offer to create it with a click (one
    # who may upload), so that a mistyped or moved path is seen, never silently made a new, empty database.
    existed = db.exists()
    if args.replica:
        if args.init:
            print("--replica and --init contradict each other: a replica only reads", file=sys.stderr)
            return 2
        if publish.newest(db) is None:
            print(f"{args.db}: {publish.NONE_YET}", file=sys.stderr)
            return 2
        environment["KETAMINE_OUTCOMES_REPLICA"] = "1"
    elif not existed and not args.init:
        if not db.parent.is_dir():
            print(f"{args.db}: no such folder (mistyped, or not mounted?). Nothing was created; give --init to "
                  "create the folder and a new database.", file=sys.stderr)
            return 2
        environment["KETAMINE_OUTCOMES_OFFER_NEW"] = "1"
        print(f"{args.db}: no database there yet; nothing was created. The dashboard offers to create an empty "
              "one (or give --init).", flush=True)
    else:
        try:
            store.connect(db, read_only=not args.init, init=args.init, label=args.db).close()
        except store.DatabaseBusy:
            pass  # an ingest is running: the dashboard waits for it
        except store.DatabaseReadOnly:
            pass  # the dashboard opens it read-only for viewing
    if args.init and not existed:
        print(f"{args.db}: created an empty database")
    command = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(args.port),
               "--server.address", args.address, "--server.headless", "true",
               "--browser.gatherUsageStats", "false", *options]
    print(f"Dashboard on http://{'localhost' if args.address in LOOPBACK else args.address}:{args.port} "
          f"(database {db}{', sign-in and roles from ' + str(args.access) if args.access else ''})", flush=True)
    # Streamlit replaces this process, so a SIGTERM (systemd, Ctrl-C, kill) reaches the server itself
    # instead of leaving it running behind a dead parent.
    os.execve(sys.executable, command, environment)


def seconds(text: str) -> float:
    """A --wait: a finite number of seconds, 0 or more (float() alone takes -5, nan and inf)."""
    number = float(text) if PLAIN_NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more; got {text!r}")
    return number


def whole_number(text: str) -> int:
    """A count, batch number or port typed as plain digits (int() alone also takes 1_1 and other scripts'
    digits, such as ١١)."""
    if not re.fullmatch(r"[0-9]+", text):
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, in plain digits; got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ketamine-outcomes", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    def command(name, handler, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--db", default=str(store.DEFAULT_DB), help="database file (default: %(default)s)")
        sub.set_defaults(handler=handler)
        return sub

    def init_option(sub):
        sub.add_argument("--init", action="store_true",
                         help="create the database if --db names no file yet (or add this product's tables to a "
                              "DuckDB file without them); without it a mistyped --db is refused")

    sub = command("ingest", _ingest, "Ingest exports (sessions, outcomes, patients) as CSV, gzip, zip or Excel/ODS "
                                     "workbooks, one transaction per file or sheet.")
    sub.add_argument("files", nargs="+", metavar="FILE")
    sub.add_argument("--date-format", choices=("iso", "us", "dmy"), default=None,
                     help="declare the dates' format (us: MM/DD/YYYY, dmy: DD/MM/YYYY); by default ISO, or "
                          "a slash format when the file's dates are unambiguous")
    sub.add_argument("--quiet", action="store_true", help="print only the one-line summaries")
    sub.add_argument("--mapping", metavar="NAME", help="a saved column mapping for headers the contract does not "
                                                         "know (ketamine-outcomes mappings lists them)")
    sub.add_argument("--wait", type=seconds, default=120, metavar="SECONDS",
                     help="how long to wait while another process (the dashboard) uses the database "
                          "(default: %(default)s)")
    init_option(sub)

    sub = command("batches", _batches, "List every ingest batch with its counts, or undo one.")
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--undo", type=whole_number, metavar="N", help="remove what batch N inserted and restore what it "
                                                          "replaced, in one transaction (recorded in the history)")

    sub = command("rejects", _rejects, "List rejected lines (or, with --warnings, fields stored empty) with "
                                       "their line number, column, value and reason; an undone batch's only "
                                       "with --batch.")
    sub.add_argument("--batch", type=whole_number, default=None)
    sub.add_argument("--warnings", action="store_true", help="the warnings: lines stored with a field left empty")
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--csv", action="store_true", help="as CSV (formulas neutralised), for a spreadsheet")

    sub = command("mappings", _mappings, "List the saved column mappings (save them on the Data page).")
    sub.add_argument("--json", action="store_true")

    sub = command("vocabulary", _vocabulary, "List the clinic's own terms for free-text columns (indication, "
                                             "adverse events, ethnicity), or add some with a column mapping; other text "
                                             "there is stored as 'other'.")
    sub.add_argument("action", choices=("list", "add"))
    sub.add_argument("column", nargs="?", help="primary_indication, adverse_events or ethnicity")
    sub.add_argument("terms", nargs="*", metavar="TERM")
    sub.add_argument("--mapping", metavar="NAME", help="the column mapping the terms are saved with")
    sub.add_argument("--json", action="store_true")

    def cohort_options(sub, as_json=True):
        sub.add_argument("--instrument", default="PHQ-9", choices=tuple(OUTCOME_INSTRUMENTS))
        for option in ("site", "route", "indication", "clinician", "age-band", "sex", "ethnicity",
                       "deprivation-decile"):
            sub.add_argument(f"--{option}", action="append", default=[], help="repeat to include several")
        sub.add_argument("--first-series-only", action="store_true")
        sub.add_argument("--start-from", type=date.fromisoformat, help="first session on or after (YYYY-MM-DD)")
        sub.add_argument("--start-to", type=date.fromisoformat, help="first session on or before (YYYY-MM-DD)")
        sub.add_argument("--min-baseline", type=whole_number, help="lowest baseline score, e.g. 10 for PHQ-9 moderate")
        if as_json:
            sub.add_argument("--json", action="store_true")

    sub = command("weekly", _weekly, "Print outcomes by week of treatment series for one instrument.")
    cohort_options(sub)

    sub = command("mart", _mart, "Print any mart as CSV (or JSON) for a cohort.")
    sub.add_argument("name", choices=metrics.MARTS)
    sub.add_argument("--by", default=None, help="split for the marts that take one (cohort_comparison, adverse_events, "
                     "sustained_response, time_to_response, maintenance, protocol_adherence, item9_course, dissociation); "
                     "default: the mart's own")
    cohort_options(sub)

    sub = command("report", _report, "Write the meeting pack (HTML, or PDF through chromium) for one period.")
    sub.add_argument("--out", required=True, metavar="FILE.html|FILE.pdf")
    sub.add_argument("--period", help="a quarter (2025-Q3) or a month (2025-09) of series starts; default: the "
                                      "latest quarter whose end-of-induction window has closed")
    sub.add_argument("--from", dest="period_from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                     help="instead of --period: first day of the series starts reported on")
    sub.add_argument("--to", dest="period_to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                     help="instead of --period: last day of the series starts reported on")
    sub.add_argument("--min-cell", type=whole_number, default=None,
                     help="suppress counts below this (never below the min_cell_size setting, and at least 11)")
    sub.add_argument("--clinic", default=None, help="clinic name on the cover (default: $KETAMINE_OUTCOMES_CLINIC)")
    sub.add_argument("--all-baselines", action="store_true",
                     help="headline end-of-induction rates over every series (default: series at or above caseness "
                          "at baseline, PHQ-9 >= 10 / GAD-7 >= 8; --min-baseline replaces it)")
    cohort_options(sub, as_json=False)  # the pack is a document: the marts it shows are `mart NAME --json`

    sub = command("settings", _settings, "List the settings in force, or change one (the metrics are rebuilt).")
    sub.add_argument("action", nargs="?", default="list", choices=("list", "set", "reset"))
    sub.add_argument("name", nargs="?")
    sub.add_argument("value", nargs="?", help="the new value; each setting has a range (settings list shows them)")
    sub.add_argument("--json", action="store_true")
    init_option(sub)

    sub = command("audit", _audit, "Print the audit trail: sign-ins, refusals, uploads, downloads, settings "
                                   "changes and report exports, with who and when (UTC).")
    sub.add_argument("--since", type=date.fromisoformat, metavar="DATE", help="from this day on (YYYY-MM-DD)")
    sub.add_argument("--json", action="store_true")

    sub = command("backup", _backup, "Copy the database to DESTINATION (a new file, or a folder for a dated "
                                     "file in it), consistent while the dashboard and ingests run, and check the "
                                     "copy (restoring: docs/deploy.md).")
    sub.add_argument("destination", metavar="DESTINATION")
    sub.add_argument("--wait", type=seconds, default=600, metavar="SECONDS",
                     help="how long to wait for a running ingest (default: %(default)s)")
    sub.add_argument("--replace", action="store_true",
                     help="overwrite DESTINATION if it is an earlier backup (any other existing file is refused)")

    sub = command("dashboard", _dashboard, "Start the Streamlit dashboard on a database.")
    sub.add_argument("--port", type=whole_number, default=8501)
    init_option(sub)
    sub.add_argument("--address", default="127.0.0.1",
                     help="interface to serve on; the default keeps patient-level pages on this machine "
                          "(any other address needs --access, or --no-sign-in)")
    sub.add_argument("--access", metavar="ACCESS.toml", default=None,
                     help="sign in with your identity provider ([auth]) and give roles by e-mail address "
                          "([roles]): docs/deploy.md")
    sub.add_argument("--no-sign-in", action="store_true",
                     help="serve a non-loopback --address without sign-in (only behind something that already "
                          "signs people in); warns on every start")
    sub.add_argument("--replica", action="store_true",
                     help="read the newest copy the writer publishes beside --db (never --db itself), read-only: "
                          "one of several dashboards behind a load balancer (docs/deploy.md)")

    sub = command("publish", _publish, "Publish a read-only copy of the database for dashboard replicas now, "
                                       "and after every ingest, undo and settings change from now on "
                                       "(docs/deploy.md, replicas).")
    sub.add_argument("--wait", type=seconds, default=600, metavar="SECONDS",
                     help="how long to wait for a running ingest (default: %(default)s)")
    return top


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, so a reader that stopped early is met below, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader stopped early (`| head`): what was asked is done, and there is nobody left to tell.
        # Output still buffered goes nowhere; 141 is what a shell reports for a command stopped by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    # Messages from the store (e.g. duplicates an older version stored, removed on open) reach the user.
    logging.basicConfig(format="%(message)s", level=logging.WARNING)
    try:
        return args.handler(args)
    except DisallowedView as refusal:  # equity fields combined beyond what the privacy guard allows
        print(f"refused: {refusal}", file=sys.stderr)
        return 2
    except (store.DatabaseFault, duckdb.Error, OSError) as error:
        fault = store.fault(error, args.db)
        if fault is None:
            raise
        print(fault, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
