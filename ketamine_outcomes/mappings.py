"""Column mappings: for an export whose headers the contract does not know ("Appt Dt", "Client"), which
header is which contract column, saved under a name in the database and reused for the next upload
(`ketamine-outcomes ingest --mapping NAME`, or the Data page)."""

import duckdb
import pandas as pd

from .contract import COLUMNS
from .definitions import alias_key


def save(con: duckdb.DuckDBPyConnection, name: str, kind: str, columns: dict[str, str]) -> None:
    """Save (or replace) the mapping `name`: header as the file writes it -> contract column."""
    name = name.strip()
    if not name:
        raise ValueError("a mapping needs a name")
    if kind not in COLUMNS:
        raise ValueError(f"unknown export kind {kind!r}; kinds: {', '.join(COLUMNS)}")
    unknown = sorted(set(columns.values()) - set(COLUMNS[kind]))
    if unknown:
        raise ValueError(f"not {kind} columns: {', '.join(unknown)}")
    if len(set(columns.values())) < len(columns):
        raise ValueError("two headers mapped to one column")
    con.execute("begin transaction")
    try:
        con.execute("delete from column_mappings where name = $name", {"name": name})
        for header, column in columns.items():
            con.execute("insert into column_mappings values ($name, $kind, $header, $column, current_timestamp::timestamp)",
                        {"name": name, "kind": kind, "header": header, "column": column})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def load(con: duckdb.DuckDBPyConnection, name: str) -> tuple[str, dict[str, str]]:
    """The mapping's export kind and {header alias key: contract column}; KeyError naming the saved ones."""
    found = con.execute("select kind, header, column_name from column_mappings where name = $name",
                        {"name": name}).fetchall()
    if not found:
        saved = ", ".join(listing(con).name.unique()) or "none saved yet"
        raise KeyError(f"no column mapping named {name!r} (saved: {saved})")
    return found[0][0], {alias_key(header): column for _, header, column in found}


def listing(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every saved mapping, one row per mapped header."""
    return con.execute("select name, kind, header, column_name, saved_at from column_mappings "
                       "order by name, column_name").df()
