"""A consistent copy of the database, safe to take while the dashboard serves and a scheduled ingest runs.

A file copy taken while DuckDB writes can be torn, and committed changes can still sit in the `.wal`
file. The backup takes the database the way an ingest does (DuckDB lets one process write a file, so a
running ingest finishes first and the dashboard waits), checkpoints it so the one file holds every
committed change, copies it under a temporary name, flushes it to disk, checks that the copy opens and
holds the same rows, and only then renames it into place: a backup file is always whole."""

import os
from pathlib import Path

import duckdb

from . import store


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in every stored table: what a backup must carry over."""
    tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where not temporary "
                                        "order by table_name").fetchall()]
    # Table names come from the database's own catalogue, quoted as identifiers.
    return {t: con.execute(f'select count(*) from "{t}"').fetchall()[0][0] for t in tables}


def backup(db: str | Path, destination: str | Path, wait_seconds: float = 600, on_wait=None) -> dict[str, int]:
    """Write a checked copy of `db` to `destination`; returns its row counts per table."""
    source, destination = Path(db), Path(destination)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such database")
    if destination.exists() and destination.resolve() == source.resolve():
        raise ValueError("the backup would overwrite the database itself: give another destination")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    con = store.open_file(source, wait_seconds=wait_seconds, on_wait=on_wait)
    try:
        con.execute("checkpoint")
        counts = row_counts(con)
        # Still holding the database: no other process can write while the bytes are copied (by a child
        # process: closing the file here would drop this process's lock on it).
        store.copy_while_held(source, partial)
    finally:
        con.close()
    try:
        check = duckdb.connect(str(partial), read_only=True)
        try:
            copied = row_counts(check)
        finally:
            check.close()
        if copied != counts:
            raise RuntimeError(f"the copy does not hold the same rows ({copied} != {counts}); nothing replaced")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, destination)
    folder = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
    return counts
