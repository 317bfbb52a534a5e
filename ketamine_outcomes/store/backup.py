"""A consistent copy of the database, safe to take while the dashboard serves and a scheduled ingest runs.

A file copy taken while DuckDB writes can be torn, and committed changes can still sit in the `.wal`
file. The backup takes the database the way an ingest does (DuckDB lets one process write a file, so a
running ingest finishes first and the dashboard waits), checkpoints it so the one file holds every
committed change, copies it under a temporary name, flushes it to disk, checks that the copy opens and
holds the same rows, and only then renames it into place: a backup file is always whole. It never
overwrites a file unless asked to (and then only an earlier backup), and leaves no temporary file behind."""

import os
import re
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb

from ketamine_outcomes.store import database as store


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
        con = duckdb.connect(str(path), read_only=True, config=store.CONFIG)
    except duckdb.Error:
        return False
    try:
        return store.is_ours(con)
    finally:
        con.close()


def backup(db: str | Path, destination: str | Path, wait_seconds: float = 600, on_wait=None,
           replace: bool = False) -> dict[str, int]:
    """Write a checked copy of `db` to the file `destination` (see destination_for); returns its row counts
    per table. An existing destination is refused (ValueError), unless `replace` and it is an earlier
    backup. On any failure the destination is as it was and no temporary file is left."""
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
        con = store.open_file(source, wait_seconds=wait_seconds, on_wait=on_wait)
        try:
            con.execute("checkpoint")
            counts = row_counts(con)
            # Still holding the database: no other process can write while the bytes are copied (by a child
            # process: closing the file here would drop this process's lock on it).
            store.copy_while_held(source, partial)
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
        raise OSError(f"{destination}: the copy could not be written ({reason[1] if reason else 'failed'}); "
                      "nothing was replaced") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    folder = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
    return counts
