"""Item 9 follow-up: each PHQ-9 with item 9 of 1 or more (a flag) can be marked with an outcome from a fixed list,
by whom and when, and the mark enters the audit trail in the same transaction. No free text: a note would carry
names and other identifiers into the database."""

from datetime import UTC, datetime

import duckdb
import pandas as pd

from ketamine_outcomes.access import audit
from ketamine_outcomes.care.relations import registered
from ketamine_outcomes.store import database

OUTCOMES = ("contacted", "safety plan reviewed", "escalated", "no action needed")
STATES = ("open", *OUTCOMES)


class FollowUpRefused(ValueError):
    """A mark that cannot be recorded; the message says why. Nothing was written."""


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """A database opened read-only by an older version has no follow-up table: an empty one, for this connection
    only, lets the lists read as 'every flag open'."""
    (present,) = con.execute("select count(*) from duckdb_tables() where table_name = 'item9_follow_ups'"
                             ).fetchall()[0]
    if not present:
        con.execute("create temp table if not exists item9_follow_ups (patient_id varchar, assessment_day integer, "
                    "outcome varchar, recorded_by varchar, role varchar, recorded_at timestamp)")


def placed_flags(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every item 9 flag and the series it was placed in: the same until the data changes (the page keeps it);
    the follow-ups are joined to it afresh."""
    return database.query(con, "care/item9_flags_placed")


def flags(con: duckdb.DuckDBPyConnection, only_open: bool = False, patient: str | None = None,
          limit: int | None = None, placed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Item 9 flags with their latest follow-up, open flags first, newest first: every one, or those still open,
    of patients whose id starts with `patient`, at most `limit`. `placed`: placed_flags(con), when kept."""
    _ensure_table(con)
    with registered(con, item9_flags_placed=placed_flags(con) if placed is None else placed):
        return database.query(con, "care/item9_follow_up", {"only_open": only_open, "patient": patient or None,
                                                         "limit": limit if limit is not None else 2 ** 62})


def counts(con: duckdb.DuckDBPyConnection, placed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Flags by state (open, then each outcome): what a meeting may see. `placed`: placed_flags(con), when kept."""
    _ensure_table(con)
    with registered(con, item9_flags_placed=placed_flags(con) if placed is None else placed):
        return database.query(con, "care/item9_follow_up_counts", {"states": list(STATES)})


def mark(con: duckdb.DuckDBPyConnection, patient_id: str, assessment_day: int, outcome: str, email: str,
         role: str) -> None:
    """Record `outcome` for the flag (patient_id, assessment_day) and its audit row, in one transaction through
    the store's one writer: both are written or neither. Raises FollowUpRefused for an outcome off the list or a
    PHQ-9 that is not flagged."""
    if outcome not in OUTCOMES:
        raise FollowUpRefused(f"{outcome!r} is not a follow-up outcome; the outcomes are: {', '.join(OUTCOMES)}")

    def record():
        found = con.execute("select assessment_date from assessments where instrument = 'PHQ-9' and item9 >= 1 "
                            "and patient_id = $patient and assessment_day = $day",
                            {"patient": patient_id, "day": assessment_day}).fetchall()
        if not found:
            raise FollowUpRefused("there is no item 9 flag for that patient and day (the export may have changed); "
                                  "nothing was recorded")
        at = datetime.now(UTC).replace(tzinfo=None)
        con.execute("insert into item9_follow_ups values ($patient, $day, $outcome, $email, $role, $at)",
                    {"patient": patient_id, "day": assessment_day, "outcome": outcome, "email": email,
                     "role": role, "at": at})
        when = found[0][0] or f"day {assessment_day}"  # a dated export's date; an offset export's day
        audit.record(con, email, role, "follow-up", f"item 9 flag of patient {patient_id} on {when}: {outcome}")

    database.transaction(con, record)
