"""Column mappings: for an export whose headers the contract does not know ("Appt Dt", "Client"), which
header is which contract column, saved under a name in the database and reused for the next upload
(`ketamine-outcomes ingest --mapping NAME`, or the Data page)."""

import duckdb
import pandas as pd

from ketamine_outcomes.ingest.contract import COLUMNS
from ketamine_outcomes.definitions import VOCABULARY_KINDS, alias_key
from ketamine_outcomes.privacy import identifier_in_text


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


# A term is a word or a short phrase ("bipolar II depression", "tinnitus"), never a note.
MAX_TERM = 60


def add_terms(con: duckdb.DuckDBPyConnection, name: str, column: str, terms: list[str]) -> list[str]:
    """Add the clinic's own terms to the vocabulary of a free-text column (primary_indication,
    adverse_events), saved with the mapping `name`: from the next upload on, a value that is one of them
    (case, spaces and punctuation aside) is stored as the term, not as 'other'. Returns the terms that were
    new. Refuses (ValueError, nothing saved) a column without a vocabulary, and a term that is long or
    looks like an identifier: the vocabulary is shown on every page's filters."""
    name = name.strip()
    if not name:
        raise ValueError("a vocabulary term is saved with a mapping: give the mapping's name")
    if column not in VOCABULARY_KINDS:
        raise ValueError(f"{column!r} has no vocabulary; columns with one: {', '.join(VOCABULARY_KINDS)}")
    cleaned = [" ".join(t.split()) for t in terms]
    for term in cleaned:
        if not alias_key(term):
            raise ValueError(f"an empty term for {column}")
        if len(term) > MAX_TERM:
            raise ValueError(f"a term of {len(term)} characters for {column}: a term is a word or a short phrase "
                             f"(at most {MAX_TERM}), not a note")
        found = identifier_in_text(term)
        if found:
            raise ValueError(f"a term for {column} looks like it holds {found}; nothing saved")
    kind = VOCABULARY_KINDS[column]
    known = {k for (k,) in con.execute("select alias_key from aliases where kind = $kind", {"kind": kind}).fetchall()}
    keys: dict[str, str] = {}  # the first spelling of each new term
    for term in cleaned:
        if alias_key(term) not in known:
            keys.setdefault(alias_key(term), term)
    con.execute("begin transaction")
    try:
        for key, term in keys.items():
            con.execute("insert or ignore into vocabulary_terms values ($name, $column, $term, "
                        "current_timestamp::timestamp)", {"name": name, "column": column, "term": term})
            con.execute("insert into aliases values ($kind, $key, $term)", {"kind": kind, "key": key, "term": term})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return list(keys.values())


def terms(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The clinic's own vocabulary terms, with the mapping each was saved with."""
    return con.execute("select mapping_name, column_name, term, saved_at from vocabulary_terms "
                       "order by column_name, term").df()
