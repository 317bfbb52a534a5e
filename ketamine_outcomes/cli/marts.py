"""Commands that print or write the numbers: weekly, mart and the meeting pack (report)."""

import inspect
import json
import sys
from pathlib import Path

import pandas as pd

from ketamine_outcomes.access import audit
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.safe_text import csv_text
from ketamine_outcomes.cli.output import cohort_from_args, open_built, print_table, record_action


SPLIT_MARTS = [name for name in marts.MARTS if "by" in inspect.signature(getattr(marts, name)).parameters]

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


def weekly_command(args) -> int:
    con = open_built(args.db)
    frame = marts.weekly_outcomes(con, args.instrument, cohort_from_args(args))
    if args.json:
        print(json.dumps(weekly_records(frame), indent=1))
    else:
        print(f"{args.instrument} by week of treatment series ({cohort_from_args(args).describe()}); week 0 = baseline")
        print(frame[["week", *WEEKLY_COUNTS[:4], *WEEKLY_MEANS, *WEEKLY_RATES]].round(2).to_string(index=False))
    return 0


def mart_command(args) -> int:
    """Marts can hold patient-level rows: the audit trail records each one printed, before it is."""
    function = getattr(marts, args.name)
    options = {"cohort": cohort_from_args(args)}
    if args.name not in marts.WITHOUT_INSTRUMENT:
        options["instrument"] = args.instrument
    if args.by is not None:
        if "by" not in inspect.signature(function).parameters:
            print(f"mart {args.name} is not split: --by applies to {', '.join(SPLIT_MARTS)}", file=sys.stderr)
            return 2
        options["by"] = args.by
    con = open_built(args.db)
    try:
        frame = function(con, **options)
    except ValueError as error:  # a --by the mart does not know; the message lists the ones it does
        print(f"mart {args.name}: {error}", file=sys.stderr)
        return 2
    # Written before the rows are printed, on the connection that read them (a reader that stops early,
    # `| head`, has still been given rows).
    audit.record(con, audit.os_user(), audit.CLI, "mart",
                 f"{args.name}{' by ' + args.by if args.by else ''} ({cohort_from_args(args).describe()}): {len(frame)} rows "
                 f"as {'JSON' if args.json else 'CSV'}")
    if args.json:
        print_table(frame, True)
    else:
        print(csv_text(frame), end="")
    return 0


def report_command(args) -> int:
    from ketamine_outcomes.report import pack  # plotly and jinja2 load only for this command

    started, con = False, None
    try:
        period = pack.parse_period(args.period, args.period_from, args.period_to)
        if not Path(args.db).exists():
            raise pack.ReportError(f"{args.db}: no such database")
        pack_name = (f"meeting pack {Path(args.out).name} ({args.instrument}, "
                f"{period.label if period else 'latest closed quarter'})")
        # Recorded before a byte is written: a command killed while writing leaves 'started' without
        # 'written' in the trail (the file may exist), never a pack with no row at all.
        record_action(args.db, "export", [f"{pack_name}: started"])
        started = True
        con = database.connect(args.db, read_only=True, init=False)
        # Data stored without a build, or tables and macros an older version built: built (and published) first.
        if not marts.is_built(con) or not marts.is_current(con):
            con.close()
            con = open_built(args.db)
        out = pack.write(con, args.out, instrument=args.instrument, cohort=cohort_from_args(args), period=period,
                           min_cell=args.min_cell, clinic=args.clinic, cases_only=not args.all_baselines)
    except pack.ReportError as error:
        if con is not None:
            con.close()  # this process may not hold a second, writable connection to the file beside it
        if started:
            record_action(args.db, "export", [f"{pack_name}: not written ({error})"])
        print(f"report: {error}", file=sys.stderr)
        return 2
    con.close()
    record_action(args.db, "export", [f"{pack_name}: written"])
    print(f"{out}: meeting pack written")
    return 0
