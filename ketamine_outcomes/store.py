"""The embedded DuckDB store: opening it, creating its schema, and running the project's SQL files."""

import os
import re
import time
from pathlib import Path

import duckdb
import pandas as pd

from . import definitions as d

QUERIES = Path(__file__).resolve().parent.parent / "queries"
DEFAULT_DB = Path("data/clinic.duckdb")
# DuckDB's own default is 80% of the machine's memory; a clinic's desktop shares it with other work.
# Past this limit DuckDB spills to a temporary folder beside the database file.
MEMORY_LIMIT = os.environ.get("KETAMINE_OUTCOMES_MEMORY_LIMIT", "3GB")


def sql(name: str) -> str:
    """The text of queries/<name>.sql."""
    return (QUERIES / f"{name}.sql").read_text()


def open_file(path: str | Path, read_only: bool = False, wait_seconds: float = 0,
              on_wait=None) -> duckdb.DuckDBPyConnection:
    """Open the database file. DuckDB lets one process write a file at a time: when another holds it
    (the dashboard between two clicks, a scheduled ingest), wait up to `wait_seconds` for it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() >= deadline:
                raise
            if on_wait:
                on_wait()
                on_wait = None
            time.sleep(0.2)


def connect(path: str | Path = DEFAULT_DB, read_only: bool = False, wait_seconds: float = 0,
            on_wait=None) -> duckdb.DuckDBPyConnection:
    """Open the database file, creating it with its schema and definitions when opened for writing."""
    path = Path(path)
    if read_only:
        return open_file(path, True, wait_seconds, on_wait)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = open_file(path, False, wait_seconds, on_wait)
    initialise(con)
    return con


def initialise(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("schema"))
    write_definitions(con)
    con.execute(sql("macros"))


def write_definitions(con: duckdb.DuckDBPyConnection) -> None:
    """Copy definitions.py into config tables so SQL reads each definition from one place."""
    instruments = pd.DataFrame([
        {"instrument": i.name, "key": i.key, "min_score": i.min_score, "max_score": i.max_score,
         "remission_max": i.remission_max, "remission_label": i.remission_label,
         "reliable_change": i.reliable_change, "source": i.source, "remission_term": i.remission_term,
         "mcid": i.mcid, "mcid_source": i.mcid_source}
        for i in d.INSTRUMENTS.values()
    ]).astype({"reliable_change": "Int64", "mcid": "Int64"})
    bands = pd.DataFrame(
        [{"instrument": i.name, "band_min": lo, "band": label,
          "band_max": (i.bands[n + 1][0] - 1) if n + 1 < len(i.bands) else i.max_score}
         for i in d.INSTRUMENTS.values() for n, (lo, label) in enumerate(i.bands)],
        columns=["instrument", "band_min", "band", "band_max"],
    )
    settings = pd.DataFrame([vars(s) for s in d.SETTINGS.values()]).astype({"value": "float64"})
    aliases = pd.DataFrame(
        [{"kind": kind, "alias_key": d.alias_key(text), "value": value}
         for kind, values in d.ALIASES.items() for value, texts in values.items()
         for text in (value, *texts)]
    ).drop_duplicates(["kind", "alias_key"])
    references = pd.DataFrame(list(d.REFERENCE_RESULTS))
    con.execute("create table if not exists setting_overrides (name varchar primary key, value double not null)")
    for old_name, new_names in d.RENAMED_SETTINGS.items():  # an older database's override keeps its meaning
        con.execute("insert or ignore into setting_overrides select unnest($new), value from setting_overrides "
                    "where name = $old", {"new": list(new_names), "old": old_name})
        con.execute("delete from setting_overrides where name = $old", {"old": old_name})
    for name, frame in (("instruments", instruments), ("severity_bands", bands), ("default_settings", settings),
                        ("aliases", aliases), ("reference_results", references)):
        con.register("frame", frame)
        con.execute(f"create or replace table {name} as select * from frame")
        con.unregister("frame")
    con.execute("""
        create or replace view settings as
        select s.name, coalesce(o.value, s.value) as value, s.value as default_value, s.minimum, s.maximum,
               s.description, s.source,
        from default_settings as s
        left join setting_overrides as o using (name)
    """)


def data_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """Changes whenever stored data or a setting changes: the key for cached query results."""
    return con.execute(
        "select (select coalesce(max(batch_id), 0) from batches), "
        "(select coalesce(list(value order by name), []) from setting_overrides)"
    ).fetchall()[0]


def run(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None,
        into: str | None = None) -> duckdb.DuckDBPyConnection:
    """Execute queries/<name>.sql with the DuckDB parameters it names (others in `params` are left out);
    with `into`, keep the rows as that temporary table."""
    text = sql(name)
    used = {k: v for k, v in (params or {}).items() if re.search(rf"\${k}\b", text)}
    if into:
        text = f"create or replace temp table {into} as {text}"
    return con.execute(text, used)


def query(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> pd.DataFrame:
    """Run queries/<name>.sql and return its rows as a DataFrame."""
    return run(con, name, params).df()
