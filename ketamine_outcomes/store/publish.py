"""Read-only copies of the database for dashboard replicas (docs/deploy.md, "Several dashboard replicas").

A replica (`ketamine-outcomes dashboard --replica`) never opens the database itself: DuckDB lets one
process write a file, and while it does no other process may open it. It reads the newest copy in the
folder beside the database, `clinic.duckdb.published/`, which the writer fills:

- after every ingest (the command line's and the Data page's), undo and settings change, the writer
  checkpoints (the one file then holds every committed change), copies the file while it still holds
  it (a child process copies: store.copy_while_held) and flushes the copy to disk;
- the copy is renamed into the folder under the next number, `000000000042.duckdb`: a rename within one
  folder is atomic (on one machine and on a shared NFS volume), so a reader sees a whole copy or none;
- readers list the folder and open the highest number, read-only; any number of them, on any machine
  that mounts the folder;
- older copies are removed, keeping the newest KEEP: a reader that listed the folder a moment before
  may be about to open the one before. A copy a reader already has open reads on after its removal
  (Linux keeps an open file until it is closed; NFS renames it aside).

Publishing is on for a database once its folder exists: `ketamine-outcomes publish --db clinic.duckdb`
creates it and publishes the first copy. A database without the folder is never copied (a copy costs
the file's size on disk and a few seconds at 1M patients)."""

import logging
import os
import re
import time
from pathlib import Path

import duckdb

from ketamine_outcomes.store import database

log = logging.getLogger(__name__)

KEEP = 2
COPY = re.compile(r"^(\d{12})\.duckdb$")
PARTIAL_MAX_AGE = 3600  # seconds: a partial copy older than this was left by a killed writer
NONE_YET = ("no published copy to read yet: this dashboard is a replica (--replica) and reads the copies the "
            "writer publishes after each ingest. Run `ketamine-outcomes publish --db` on the database once.")


def folder(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".published")


def is_on(db: str | Path) -> bool:
    return folder(db).is_dir()


def copies(db: str | Path) -> list[Path]:
    """The published copies, oldest first."""
    try:
        names = os.listdir(folder(db))
    except OSError:
        return []
    return [folder(db) / name for name in sorted(n for n in names if COPY.match(n))]


def newest(db: str | Path) -> Path | None:
    found = copies(db)
    return found[-1] if found else None


def database_of(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file the connection's database is (None in memory)."""
    (path,) = con.execute("select path from duckdb_databases() where database_name = current_database()"
                          ).fetchall()[0]
    return Path(path) if path else None


def after_write(con: duckdb.DuckDBPyConnection) -> Path | None:
    """Publish a copy of the connection's database when publishing is on for it; the copy's path, or None.
    Call after the write's transactions committed, while the connection still holds the file. A copy that
    cannot be made (no space, the checkpoint refused) is logged, and the replicas read the last one."""
    db = database_of(con)
    if db is None or not is_on(db):
        return None
    try:
        con.execute("checkpoint")  # what the copy must hold is in the file, not only in its log
    except duckdb.Error as error:
        log.warning("%s: not published (the checkpoint was refused: %s); replicas read the last copy",
                    db.name, error)
        return None
    return publish_file(db)


def publish_file(db: Path) -> Path | None:
    """Copy a checkpointed database file that this process holds into its folder under the next number."""
    target = folder(db)
    last = newest(db)
    number = int(COPY.match(last.name).group(1)) + 1 if last else 1
    final = target / f"{number:012d}.duckdb"
    partial = target / f".{number:012d}.duckdb.{os.getpid()}.partial"
    try:
        database.copy_while_held(db, partial)
        os.replace(partial, final)
    except Exception as error:  # noqa: BLE001 - a failed copy must not fail the ingest that stored the data
        partial.unlink(missing_ok=True)
        log.warning("%s: not published (%s); replicas read the last copy", db.name, error)
        return None
    clean(db)
    return final


def clean(db: str | Path, keep: int = KEEP) -> None:
    """Remove all but the newest `keep` copies, and partial copies left by a killed writer."""
    for old in copies(db)[:-keep]:
        old.unlink(missing_ok=True)
    now = time.time()
    for name in os.listdir(folder(db)):
        path = folder(db) / name
        if name.endswith(".partial"):
            try:
                if now - path.stat().st_mtime > PARTIAL_MAX_AGE:
                    path.unlink(missing_ok=True)
            except OSError:
                pass


def open_newest(db: str | Path, label: str, attempts: int = 5) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """The newest published copy, opened read-only: (connection, its path). A copy removed between the
    listing and the opening (two publications in that moment) sends it to the listing again."""
    for _ in range(attempts):
        copy = newest(db)
        if copy is None:
            raise database.DatabaseFault(label, NONE_YET)
        try:
            return database.open_file(copy, read_only=True, label=label), copy
        except database.DatabaseFault:
            if copy.exists():
                raise
    raise database.DatabaseFault(label, "its published copies changed faster than they could be opened; refresh.")
