"""The dashboard's access to the database: a connection for each use, and mart results cached on the
database's data version, so an upload invalidates exactly what it changed.

The file is held only while a script run reads or writes it (opening costs about 15 ms, even at 1M
patients): DuckDB lets one process write a file, and a scheduled `ketamine-outcomes ingest` must be
able to run while the dashboard is up. While such an ingest holds the file, a run waits for it."""

import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from ketamine_outcomes import ingest, mappings, metrics, store
from ketamine_outcomes.definitions import INSTRUMENTS
from ketamine_outcomes.ingest import BatchResult, ingest_export


def database_path() -> str:
    return os.environ.get("KETAMINE_OUTCOMES_DB", str(store.DEFAULT_DB))


WAIT_SECONDS = 60


@st.cache_resource(show_spinner=False)
def _prepared(path: str) -> bool:
    """Create the schema (a new database) and build the metric tables, once per server process."""
    con = store.connect(path, wait_seconds=WAIT_SECONDS)
    try:
        metrics.ensure_built(con)
    finally:
        con.close()
    return True


_this_run = threading.local()


@contextmanager
def held_for_this_run():
    """Hold the database for one script run (the entry file wraps the page in this), so every query of
    the run shares one connection; it is released when the run ends, even on st.stop()."""
    with connection() as con:
        _this_run.con = con
        try:
            yield
        finally:
            _this_run.con = None


@contextmanager
def connection():
    """The database: the run's connection when one is held, else one for this use. Waits while another
    process (a scheduled ingest) writes the file."""
    held = getattr(_this_run, "con", None)
    if held is not None:
        yield held
        return
    path = database_path()
    _prepared(path)
    try:
        con = store.open_file(path, wait_seconds=WAIT_SECONDS)
    except duckdb.IOException:
        st.warning("The database is being updated by another process (a scheduled ingest?). "
                   "Refresh this page in a minute.")
        st.stop()
    try:
        yield con
    finally:
        con.close()


def data_version() -> tuple:
    """The data version; rebuilds the metric tables when another process stored data without them."""
    with connection() as con:
        metrics.ensure_built(con)
        return store.data_version(con)


@st.cache_data(max_entries=1024, show_spinner=False)
def _mart(path: str, version: tuple, name: str, options: tuple) -> pd.DataFrame:
    with connection() as con:
        return getattr(metrics, name)(con, **dict(options))


def mart(name: str, **options) -> pd.DataFrame:
    """A mart's rows for these options (instrument, cohort, by, ...), from cache when the data is unchanged."""
    return _mart(database_path(), data_version(), name, tuple(sorted(options.items())))


@st.cache_data(max_entries=64, show_spinner=False)
def _query(path: str, version: tuple, sql: str) -> pd.DataFrame:
    with connection() as con:
        return con.execute(sql).df()


def table(sql: str) -> pd.DataFrame:
    """A small fixed query (filter options, settings, batch history), cached on the data version."""
    return _query(database_path(), data_version(), sql)


def is_empty() -> bool:
    return int(table("select count(*) as n from int_treatment_series").n.iloc[0]) == 0


def settings() -> dict[str, float]:
    frame = table("select name, value from settings")
    return dict(zip(frame.name, frame.value))


def response_fraction(instrument: str) -> float:
    """The response fraction in force for an instrument (setting response_fraction_<key>)."""
    return settings()[f"response_fraction_{INSTRUMENTS[instrument].key}"]


def ingest_upload(name: str, content: bytes, progress=None, date_format: str | None = None,
                  mapping_name: str | None = None) -> list[BatchResult]:
    """Ingest one uploaded file (written to a temporary file for DuckDB to read; a workbook or zip may
    hold several exports), then rebuild the metrics. `mapping_name`: a saved column mapping."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (Path(name).name or "upload")
        path.write_bytes(content)
        with connection() as con:
            kind, mapping = mappings.load(con, mapping_name) if mapping_name else (None, None)
            results = ingest_export(con, path, date_format=date_format, file_name=name, progress=progress,
                                    mapping=mapping, kind=kind)
            if any(r.batch_id is not None for r in results):
                metrics.build(con)
    return results


def save_mapping(name: str, kind: str, columns: dict[str, str]) -> None:
    with connection() as con:
        mappings.save(con, name, kind, columns)


def undo_batch(batch_id: int) -> str:
    """Undo one batch (ketamine_outcomes.ingest.undo_batch) and rebuild the metrics."""
    with connection() as con:
        message = ingest.undo_batch(con, batch_id)
        metrics.build(con)
    return message


def saved_mappings() -> list[str]:
    """The names of the saved column mappings (not cached: saving one does not change the data version)."""
    with connection() as con:
        return list(mappings.listing(con).name.unique())
