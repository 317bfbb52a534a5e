"""The `ketamine-outcomes` command: ingest exports, list batches, print marts, start the dashboard.

The parser and main are here; each command's handler lives with its group (data, marts, admin),
and what they share in output."""

import argparse
import logging
import math
import os
import re
import sys
from datetime import date

import duckdb

from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.definitions import OUTCOME_INSTRUMENTS, PLAIN_NUMBER
from ketamine_outcomes.privacy import DisallowedView
from ketamine_outcomes.cli.admin import (
    audit_command, backup_command, dashboard_command, publish_command, settings_command,
)
from ketamine_outcomes.cli.data import (
    batches_command, ingest_command, mappings_command, rejects_command, vocabulary_command,
)
from ketamine_outcomes.cli.marts import SPLIT_MARTS, mart_command, report_command, weekly_command


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
        sub.add_argument("--db", default=str(database.DEFAULT_DB), help="database file (default: %(default)s)")
        sub.set_defaults(handler=handler)
        return sub

    def init_option(sub):
        sub.add_argument("--init", action="store_true",
                         help="create the database if --db names no file yet (or add this product's tables to a "
                              "DuckDB file without them); without it a mistyped --db is refused")

    sub = command("ingest", ingest_command, "Ingest exports (sessions, outcomes, patients) as CSV, gzip, zip or Excel/ODS "
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

    sub = command("batches", batches_command, "List every ingest batch with its counts, or undo one.")
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--undo", type=whole_number, metavar="N", help="remove what batch N inserted and restore what it "
                                                          "replaced, in one transaction (recorded in the history)")

    sub = command("rejects", rejects_command, "List rejected lines (or, with --warnings, fields stored empty) with "
                                       "their line number, column, value and reason; an undone batch's only "
                                       "with --batch.")
    sub.add_argument("--batch", type=whole_number, default=None)
    sub.add_argument("--warnings", action="store_true", help="the warnings: lines stored with a field left empty")
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--csv", action="store_true", help="as CSV (formulas neutralised), for a spreadsheet")

    sub = command("mappings", mappings_command, "List the saved column mappings (save them on the Data page).")
    sub.add_argument("--json", action="store_true")

    sub = command("vocabulary", vocabulary_command, "List the clinic's own terms for free-text columns (indication, "
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

    sub = command("weekly", weekly_command, "Print outcomes by week of treatment series for one instrument.")
    cohort_options(sub)

    sub = command("mart", mart_command, "Print any mart as CSV (or JSON) for a cohort.")
    sub.add_argument("name", choices=marts.MARTS)
    sub.add_argument("--by", default=None, help=f"split for the marts that take one ({', '.join(SPLIT_MARTS)}); "
                     "default: the mart's own")
    cohort_options(sub)

    sub = command("report", report_command, "Write the meeting pack (HTML, or PDF through chromium) for one period.")
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

    sub = command("settings", settings_command, "List the settings in force, or change one (the metrics are rebuilt).")
    sub.add_argument("action", nargs="?", default="list", choices=("list", "set", "reset"))
    sub.add_argument("name", nargs="?")
    sub.add_argument("value", nargs="?", help="the new value; each setting has a range (settings list shows them)")
    sub.add_argument("--json", action="store_true")
    init_option(sub)

    sub = command("audit", audit_command, "Print the audit trail: sign-ins, refusals, uploads, downloads, settings "
                                   "changes and report exports, with who and when (UTC).")
    sub.add_argument("--since", type=date.fromisoformat, metavar="DATE", help="from this day on (YYYY-MM-DD)")
    sub.add_argument("--json", action="store_true")

    sub = command("backup", backup_command, "Copy the database to DESTINATION (a new file, or a folder for a dated "
                                     "file in it), consistent while the dashboard and ingests run, and check the "
                                     "copy (restoring: docs/deploy.md).")
    sub.add_argument("destination", metavar="DESTINATION")
    sub.add_argument("--wait", type=seconds, default=600, metavar="SECONDS",
                     help="how long to wait for a running ingest (default: %(default)s)")
    sub.add_argument("--replace", action="store_true",
                     help="overwrite DESTINATION if it is an earlier backup (any other existing file is refused)")

    sub = command("dashboard", dashboard_command, "Start the Streamlit dashboard on a database.")
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

    sub = command("publish", publish_command, "Publish a read-only copy of the database for dashboard replicas now, "
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
    except (database.DatabaseFault, duckdb.Error, OSError) as error:
        fault = database.fault(error, args.db)
        if fault is None:
            raise
        print(fault, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
