"""The dashboard's access to the database: one shared connection, a cursor per query, results
cached on the database's data version so an upload invalidates exactly what it changed."""

import os

import duckdb
import pandas as pd
import streamlit as st

from ketamine_outcomes import store


def database_path() -> str:
    return os.environ.get("KETAMINE_OUTCOMES_DB", str(store.DEFAULT_DB))


@st.cache_resource
def connection(path: str) -> duckdb.DuckDBPyConnection:
    return store.connect(path)


def cursor() -> duckdb.DuckDBPyConnection:
    return connection(database_path()).cursor()


def data_version() -> tuple:
    return store.data_version(cursor())


@st.cache_data(max_entries=256)
def _cached_counts(path: str, version: tuple) -> pd.DataFrame:
    return cursor().execute(
        "select (select count(*) from patients) as patients, "
        "(select count(*) from sessions where status = 'completed') as completed_sessions, "
        "(select count(*) from assessments) as assessments"
    ).df()


def counts() -> pd.DataFrame:
    return _cached_counts(database_path(), data_version())
