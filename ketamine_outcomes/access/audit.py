"""The audit trail: who signed in, was refused a page, uploaded, downloaded, changed a setting or exported
a report, and when (the `audit_log` table). The dashboard records the signed-in address and role; the
command line records the operating-system user."""

import getpass
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

ACTIONS = ("sign-in", "sign-out", "denied", "upload", "undo", "download", "settings", "export",
           "create",  # create: the empty database, from the dashboard (dashboard --db NEW)
           "mart",  # a mart printed by the command line (patient-level rows, some of them)
           "backup",  # a full copy of the database
           "follow-up", "note")  # an item 9 flag's follow-up; a process change noted on the charts (or taken back)
# Command-line and no-sign-in use: the role column says where the action came from.
CLI = "command line"
LOCAL = "local (no sign-in)"


def os_user() -> str:
    """The operating-system account running this process (what a command-line ingest is recorded as)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown user"


def record(con: duckdb.DuckDBPyConnection, email: str, role: str, action: str, detail: str = "") -> None:
    """Add one row. The caller's connection must be writable (the dashboard's one writer)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; actions: {', '.join(ACTIONS)}")
    con.execute("insert into audit_log values ($at, $email, $role, $action, $detail)",
                {"at": datetime.now(UTC).replace(tzinfo=None), "email": email, "role": role, "action": action,
                 "detail": detail})


def entries(con: duckdb.DuckDBPyConnection, since: date | datetime | None = None) -> pd.DataFrame:
    """The trail, oldest first, from `since` (UTC) on. A database from before the trail existed, opened
    read-only, has none."""
    if not con.execute("select count(*) from duckdb_tables() where table_name = 'audit_log'").fetchall()[0][0]:
        return pd.DataFrame(columns=["logged_at", "email", "role", "action", "detail"])
    return con.execute(
        "select logged_at, email, role, action, detail from audit_log "
        "where $since is null or logged_at >= $since order by logged_at, rowid", {"since": since}
    ).df()


def has_signed_in(con: duckdb.DuckDBPyConnection, email: str, detail: str) -> bool:
    """Whether this sign-in (one identity token) is already recorded: a new tab or a reload of the same
    sign-in is not a new sign-in."""
    return con.execute("select count(*) from audit_log where action = 'sign-in' and email = $email "
                       "and detail = $detail", {"email": email, "detail": detail}).fetchall()[0][0] > 0
