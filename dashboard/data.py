"""The dashboard's access to the database: one shared connection, a cursor per query, and mart
results cached on the database's data version, so an upload invalidates exactly what it changed."""

import os
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from ketamine_outcomes import metrics, store
from ketamine_outcomes.ingest import BatchResult, ingest_file


def database_path() -> str:
    return os.environ.get("KETAMINE_OUTCOMES_DB", str(store.DEFAULT_DB))


@st.cache_resource
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    con = store.connect(path)
    metrics.ensure_built(con)
    return con


def cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of the shared connection: DuckDB connections are not shared between threads."""
    return _connection(database_path()).cursor()


def data_version() -> tuple:
    return store.data_version(cursor())


@st.cache_data(max_entries=1024, show_spinner=False)
def _mart(path: str, version: tuple, name: str, options: tuple) -> pd.DataFrame:
    return getattr(metrics, name)(cursor(), **dict(options))


def mart(name: str, **options) -> pd.DataFrame:
    """A mart's rows for these options (instrument, cohort, by, ...), from cache when the data is unchanged."""
    return _mart(database_path(), data_version(), name, tuple(sorted(options.items())))


@st.cache_data(max_entries=64, show_spinner=False)
def _query(path: str, version: tuple, sql: str) -> pd.DataFrame:
    return cursor().execute(sql).df()


def table(sql: str) -> pd.DataFrame:
    """A small fixed query (filter options, settings, batch history), cached on the data version."""
    return _query(database_path(), data_version(), sql)


def is_empty() -> bool:
    return int(table("select count(*) as n from int_treatment_series").n.iloc[0]) == 0


def settings() -> dict[str, float]:
    frame = table("select name, value from settings")
    return dict(zip(frame.name, frame.value))


def ingest_upload(name: str, content: bytes, progress=None) -> BatchResult:
    """Ingest one uploaded file (written to a temporary file for DuckDB to read), then rebuild the metrics."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(content)
        con = cursor()
        result = ingest_file(con, path, file_name=name, progress=progress)
        if result.batch_id is not None:
            metrics.build(con)
    return result
