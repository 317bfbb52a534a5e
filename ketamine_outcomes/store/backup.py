"""A consistent copy of the database, safe to take while the dashboard serves and a scheduled ingest runs.

A file copy taken while DuckDB writes can be torn, and committed changes can still sit in the `.wal`
file. The backup takes the database the way an ingest does (DuckDB lets one process write a file, so a
running ingest finishes first and the dashboard waits), checkpoints it so the one file holds every
committed change, copies it under a temporary name, flushes it to disk, checks that the copy opens and
holds the same rows, and only then renames it into place: a backup file is always whole. It never
overwrites a file unless asked to (and then only an earlier backup), and leaves no temporary file behind."""

import glob
import os
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

import duckdb

from ketamine_outcomes.access import audit
from ketamine_outcomes.store import database


def _record_failure(source: Path, destination: Path, recorded_as, reason: str) -> None:
    """Best effort: the trail says the copy it recorded as begun was not kept."""
    if not recorded_as:
        return
    try:
        con = database.open_file(source, wait_seconds=30)
        try:
            audit.record(con, *recorded_as, "backup", f"full copy to {destination.name}: failed ({reason}), removed")
        finally:
            con.close()
    except (duckdb.Error, OSError, database.DatabaseFault):
        pass


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in every stored table: what a backup must carry over."""
    tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where not temporary "
                                        "order by table_name").fetchall()]
    # Table names come from the database's own catalogue, quoted as identifiers.
    return {t: con.execute(f'select count(*) from "{t}"').fetchall()[0][0] for t in tables}


def destination_for(db: str | Path, destination: str | Path) -> Path:
    """Where the backup goes: a destination that is a folder gets a dated file inside it
    (clinic-2026-11-24-033000.duckdb for clinic.duckdb), so a scheduled backup keeps every generation. A
    name ending in / is a folder, created if need be."""
    if Path(destination).is_dir() or str(destination).endswith("/"):
        return Path(destination) / f"{Path(db).stem}-{datetime.now():%Y-%m-%d-%H%M%S}.duckdb"
    return Path(destination)


def _is_backup(path: Path) -> bool:
    """Whether `path` is a ketamine-outcomes database (an earlier backup), which --replace may overwrite."""
    try:
        con = duckdb.connect(str(path), read_only=True, config=database.CONFIG)
    except duckdb.Error:
        return False
    try:
        return database.is_ours(con)
    finally:
        con.close()


# A temporary copy left by a backup that was killed (kill -9, a power cut) is removed by the next backup
# of the same database into the same folder once it is this old: a live copy is written continuously,
# and while this backup holds the database no other backup of it can be copying.
STALE_PARTIAL_SECONDS = 15 * 60


def remove_stale_partials(source: Path, destination: Path) -> list[Path]:
    """Remove what killed backups of `source` left in the destination's folder: the destination's own
    temporary name, and dated ones (clinic-*.duckdb.partial) not written for STALE_PARTIAL_SECONDS.
    Returns what was removed."""
    now = time.time()
    removed = []
    own = destination.with_name(destination.name + ".partial")
    for path in {own, *destination.parent.glob(f"{glob.escape(source.stem)}-*.duckdb.partial")}:
        try:
            if path == own or now - path.stat().st_mtime > STALE_PARTIAL_SECONDS:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            pass
    return sorted(removed)


def backup(db: str | Path, destination: str | Path, wait_seconds: float = 600, on_wait=None,
           replace: bool = False, recorded_as: tuple[str, str] | None = None) -> dict[str, int]:
    """Write a checked copy of `db` to the file `destination` (see destination_for); returns its row counts
    per table. An existing destination is refused (ValueError), unless `replace` and it is an earlier
    backup. On any failure the destination is as it was and no temporary file is left (and those killed
    backups left are removed: remove_stale_partials). `recorded_as` (who, role): the audit trail records
    the copy in the database before it is taken (so the copy holds the row too), and a failure after."""
    source, destination = Path(db), Path(destination)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such database")
    if destination.exists() and destination.resolve() == source.resolve():
        raise ValueError("the backup would overwrite the database itself: give another destination")
    if destination.suffix.lower() == ".wal":
        # DuckDB keeps X's recent changes in X.wal, and deletes an X.wal it cannot replay when X is opened.
        raise ValueError(f"{destination}: a name ending in .wal is DuckDB's own (opening {destination.stem} would "
                         "delete it); nothing was written. Give another name, e.g. ending in .duckdb.")
    if destination.is_dir():
        raise ValueError(f"{destination}: is a folder; give a file name, or the folder alone for a dated file in it")
    if destination.exists() and not replace:
        raise ValueError(f"{destination}: already exists; nothing was written. Give a new file name, a folder "
                         "(for a dated file in it), or --replace to overwrite an earlier backup.")
    if destination.exists() and not _is_backup(destination):
        raise ValueError(f"{destination}: already exists and is not a ketamine-outcomes backup; nothing was "
                         "written, even with --replace. Give another destination.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    try:
        con = database.open_file(source, wait_seconds=wait_seconds, on_wait=on_wait)
        try:
            remove_stale_partials(source, destination)
            if recorded_as:
                audit.record(con, *recorded_as, "backup", f"full copy to {destination.name}")
            con.execute("checkpoint")
            counts = row_counts(con)
            # Still holding the database: no other process can write while the bytes are copied (by a child
            # process: closing the file here would drop this process's lock on it).
            database.copy_while_held(source, partial)
        finally:
            con.close()
        check = duckdb.connect(str(partial), read_only=True)
        try:
            copied = row_counts(check)
        finally:
            check.close()
        if copied != counts:
            raise RuntimeError(f"the copy does not hold the same rows ({copied} != {counts}); nothing replaced")
        os.replace(partial, destination)
    except subprocess.CalledProcessError as error:
        partial.unlink(missing_ok=True)
        # The child's last line is Python's "OSError: [Errno 28] No space left on device: '/path'".
        reason = re.search(r"\[Errno \d+\] ([^:\n]+)", (error.stderr or b"").decode(errors="replace"))
        _record_failure(source, destination, recorded_as, reason[1] if reason else "failed")
        raise OSError(f"{destination}: the copy could not be written ({reason[1] if reason else 'failed'}); "
                      "nothing was replaced") from error
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if not isinstance(error, database.DatabaseFault):  # a database that could not be opened was not copied
            _record_failure(source, destination, recorded_as, type(error).__name__)
        raise
    folder = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
    return counts
