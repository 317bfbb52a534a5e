"""What a command-line ingest tells the dashboard while it holds the database.

DuckDB lets one process write a file, and while it does no other process may open it, not even read-only
(DuckDB 2.0 refuses with "Conflicting lock is held"). A scheduled ingest of a large export holds the file
for minutes. So before it writes anything, the ingest leaves two things beside the database:

- a reading copy (`clinic.duckdb.reading-copy`): the database as it was, checkpointed and copied while
  the ingest already holds it, so it is consistent; the dashboard reads it read-only meanwhile, and pages
  show the last committed data instead of waiting;
- a status file (`clinic.duckdb.ingest.json`): which files, who, since when, which process; the dashboard
  says so above every page.

Both are removed when the ingest ends. A status left by a killed ingest names a process that is gone, and
is ignored (and the database is free again anyway)."""

import json
import os
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ketamine_outcomes.access import audit
from ketamine_outcomes.store import database


def status_path(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".ingest.json")


def copy_path(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".reading-copy")


@dataclass(frozen=True)
class Ingest:
    files: list[str]
    user: str
    since: datetime  # UTC
    pid: int
    host: str
    copy: bool  # whether a reading copy was made

    def sentence(self, now: datetime | None = None) -> str:
        minutes = ((now or datetime.now(UTC).replace(tzinfo=None)) - self.since).total_seconds() / 60
        files = ", ".join(self.files[:3]) + (f" and {len(self.files) - 3} more" if len(self.files) > 3 else "")
        return (f"An ingest of {files} (command line, {self.user}) has been running since "
                f"{self.since:%H:%M} UTC ({minutes:.0f} min)")


@contextmanager
def announced(con: duckdb.DuckDBPyConnection, db: str | Path, files: list[str | Path]):
    """While the body runs (an ingest holding `db` through `con`), leave the reading copy and the status
    file beside the database. A copy that cannot be made (no space for it) is left out: the dashboard then
    says what is running instead of showing the data."""
    db = Path(db)
    copy, status = copy_path(db), status_path(db)
    partial = copy.with_name(copy.name + ".partial")
    made_copy = False
    try:
        con.execute("checkpoint")  # the one file holds every committed change
        database.copy_while_held(db, partial)
        os.replace(partial, copy)
        made_copy = True
    except (OSError, duckdb.Error, subprocess.CalledProcessError):
        partial.unlink(missing_ok=True)
    record = {"files": [Path(f).name for f in files], "user": audit.os_user(),
              "since": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
              "pid": os.getpid(), "host": socket.gethostname(), "copy": made_copy}
    try:
        status.write_text(json.dumps(record))
    except OSError:
        pass  # the dashboard then waits without saying who
    try:
        yield
    finally:
        status.unlink(missing_ok=True)
        copy.unlink(missing_ok=True)


def current(db: str | Path) -> Ingest | None:
    """The ingest announced beside `db`, if its process still runs (on this machine)."""
    try:
        record = json.loads(status_path(db).read_text())
        found = Ingest(list(record["files"]), str(record["user"]), datetime.fromisoformat(record["since"]),
                       int(record["pid"]), str(record["host"]), bool(record["copy"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if found.host == socket.gethostname():
        try:
            os.kill(found.pid, 0)
        except ProcessLookupError:
            return None  # killed: its status file outlived it
        except PermissionError:
            pass  # another user's process: alive
    return found
