"""What every command shares: the audit row it writes, its table printed as CSV or JSON, the cohort its
options give, and a database opened with its metric tables built."""

import json
import math
import sys

import duckdb
import pandas as pd

from ketamine_outcomes.access import audit
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database, publish


def record_action(db, action: str, details: list[str], wait: float = 120) -> None:
    """The audit trail names who did what: from the command line, the operating-system user. A database
    this user cannot write keeps no trail; say so rather than fail the command."""
    if not details:
        return
    try:
        con = database.connect(db, wait_seconds=wait, init=False)
        try:
            for detail in details:
                audit.record(con, audit.os_user(), audit.CLI, action, detail)
        finally:
            con.close()
    except (duckdb.Error, OSError) as error:
        print(f"warning: not recorded in the audit trail ({action}: {'; '.join(details)}): {error}",
              file=sys.stderr)


def json_text(frame: pd.DataFrame) -> str:
    """The rows as strict JSON for other tools: an empty value is null (json.dumps would write NaN, which
    JSON does not have and strict parsers refuse)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    records = [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()}
               for r in records]
    return json.dumps(records, default=str, indent=1, allow_nan=False)


def print_table(frame, as_json: bool) -> None:
    if as_json:
        print(json_text(frame))
    else:
        # An empty value is left blank (pandas writes NaN, None or <NA> by the column's type).
        print(frame.astype(object).where(frame.notna(), "").to_string(index=False) if len(frame) else "(none)")


def cohort_from_args(args) -> marts.Cohort:
    return marts.Cohort(
        sites=tuple(args.site), routes=tuple(args.route), indications=tuple(args.indication),
        clinicians=tuple(args.clinician), age_bands=tuple(args.age_band), sexes=tuple(args.sex),
        ethnicities=tuple(args.ethnicity), deprivation_deciles=tuple(args.deprivation_decile),
        first_series_only=args.first_series_only, start_from=args.start_from, start_to=args.start_to,
        min_baseline=args.min_baseline, baseline_instrument=args.instrument,
    )


def open_built(db: str):
    """A connection whose intermediate tables are up to date (building them needs write access). A build here
    (new data another process stored without building, or tables and macros an older version built) is
    published for the dashboard replicas as an ingest's is: their copy would otherwise stay the older one."""
    con = database.connect(db, wait_seconds=120, init=False)
    if marts.ensure_built(con) != marts.UP_TO_DATE:
        publish.after_write(con)
    return con
