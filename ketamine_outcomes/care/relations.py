"""Frames a care query reads as relations: what is kept between page views (a data version's not-on-track
reference, the expected range's counts, the item 9 flags) is handed back to the SQL that reads it by name."""

import contextlib

import pandas as pd
import pyarrow as pa


@contextlib.contextmanager
def registered(con, **frames: pd.DataFrame):
    """The frames as relations of these names on `con` while the body runs (the queries that read them). Handed
    over as Arrow tables: DuckDB plans a scan of a pandas frame in about 20 ms, of an Arrow table in under 1."""
    for name, frame in frames.items():
        con.register(name, pa.Table.from_pandas(frame, preserve_index=False))
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)
