"""The embedded DuckDB store: opening it, creating its schema, and running the project's SQL files.

Opening is where a database file that cannot be used is named as such: every fault becomes a
DatabaseFault with one line a person can act on (the CLI prints it, the dashboard shows it), never a
traceback with server paths."""

import contextlib
import functools
import logging
import os
import random
import re
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from ketamine_outcomes import definitions

# The SQL models are package data (pyproject.toml maps the repository's queries/ into the package), found
# the same way from a wheel installed anywhere as from a source checkout. pip installs packages as files,
# never zipped, so this is a real folder.
QUERIES = Path(str(resources.files("ketamine_outcomes.queries")))
DEFAULT_DB = Path("data/clinic.duckdb")
# DuckDB's own default is 80% of the machine's memory; a clinic's desktop shares it with other work.
# Past this limit DuckDB spills to a temporary folder beside the database file.
MEMORY_LIMIT = os.environ.get("KETAMINE_OUTCOMES_MEMORY_LIMIT", "3GB")
# An ingest's limit, lower: its temporary tables (every field of a file as text, then staged) are what fill
# DuckDB's buffers, and they spill well. A first load of 1M patients (885 MB of exports) peaked at 3.1 GB of
# process memory under the 3 GB limit and at 1.9 GB under 1.5 GB, for about a tenth more CPU time.
INGEST_MEMORY_LIMIT = os.environ.get("KETAMINE_OUTCOMES_INGEST_MEMORY_LIMIT", "1500MB")
# Never fetch code from the network because of a file's contents: DuckDB otherwise downloads its sqlite
# extension when pointed at an SQLite file.
CONFIG = {"memory_limit": MEMORY_LIMIT, "autoload_known_extensions": False, "autoinstall_known_extensions": False}
# The natural key of each stored table: an ingest merges on it, deciding inside its writing transaction
# whether a key is stored. Writing transactions take turns (WRITING), so two uploads of one export at the
# same moment store it once. No unique index holds the key: DuckDB writes such an index whole at every
# checkpoint that follows a change to its table (0.7 s for 6 million sessions, at every daily upload).
NATURAL_KEYS = {
    "sessions": ("patient_id", "session_day", "session_id"),
    "assessments": ("patient_id", "instrument", "assessment_day"),
    "patients": ("patient_id",),
}
# One DuckDB process writes a database file at a time; within it, writing transactions run one after
# another. (DuckDB alone would let two begin together, and both insert one new key.)
WRITING = threading.RLock()
# The tables that make a DuckDB file one of ours.
OWN_TABLES = ("batches", "sessions", "assessments")
log = logging.getLogger(__name__)


class DatabaseFault(Exception):
    """A database file that cannot be used as asked, with the reason in one line that names the file only
    as `label` (what the person gave: the CLI's --db, the dashboard's file name)."""

    def __init__(self, label: str, reason: str):
        super().__init__(f"{label}: {reason}")
        self.label, self.reason = label, reason


class DatabaseBusy(DatabaseFault):
    """Another process writes the file (DuckDB lets one process write a database at a time)."""


class DatabaseReadOnly(DatabaseFault):
    """This user may read the file but not write it."""


def sql(name: str) -> str:
    """The text of queries/<name>.sql."""
    return (QUERIES / f"{name}.sql").read_text()


def _refuse_foreign_bytes(path: Path, label: str) -> None:
    """Name a file DuckDB refused that is not a DuckDB database at all (DuckDB's own messages carry paths,
    and for an SQLite file speak of extensions)."""
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise DatabaseFault(label, "an empty file (0 bytes), not a database. Give another --db, or remove "
                                   "the file and create the database with --init.")
    if head.startswith(b"SQLite format 3\0"):
        raise DatabaseFault(label, "an SQLite database, not a ketamine-outcomes database (DuckDB). Give "
                                   "another --db.")
    if head[8:12] != b"DUCK":
        raise DatabaseFault(label, "not a database file (a CSV export? ingest it with `ketamine-outcomes "
                                   "ingest FILE`). Give another --db.")


READ_ONLY = "this user may read the database but not write it; nothing was changed."
NOT_OURS = ("a DuckDB database, but not a ketamine-outcomes one. Give another --db, or --init to add this "
            "product's tables to it.")
OUT_OF_DATE = ("its metric tables or settings are not this version's (an older version wrote it, or a change "
               "was cut off), and this user may only read it. Open it once with write access (an ingest or a "
               "settings command does) to bring it up to date.")
TRUNCATED = ("the database file is damaged: it is shorter than it should be (truncated by a copy or a full "
             "disk?). Restore it from a backup (docs/deploy.md).")


def fault(error: BaseException, label: str) -> DatabaseFault | None:
    """The DatabaseFault a DuckDB or OS error means for the file `label`, or None for any other error."""
    text = str(error)
    lower = text.lower()
    if isinstance(error, DatabaseFault):
        return error
    if "no space left on device" in lower or "disk is full" in lower or "disk full" in lower:
        return DatabaseFault(label, "the disk is full; nothing was stored, the database is as it was. "
                                    "Free some space and try again.")
    if ("permission denied" in lower or "read-only file system" in lower or "operation not permitted" in lower
            or ("cannot execute" in lower and "read-only" in lower)):
        return DatabaseReadOnly(label, READ_ONLY)
    if "could not read enough bytes" in lower:
        return DatabaseFault(label, TRUNCATED)
    if "corrupt database" in lower or "checksum" in lower:
        return DatabaseFault(label, "the database file is damaged (a checksum does not match). Restore it from "
                                    "a backup (docs/deploy.md).")
    if "not a valid duckdb database" in lower:
        return DatabaseFault(label, "not a database file. Give another --db.")
    if "lock" in lower and isinstance(error, duckdb.IOException):
        return DatabaseBusy(label, "in use by another process (an ingest, a backup, or a dashboard writing); "
                                   "DuckDB lets one process write a database at a time. Try again shortly.")
    if isinstance(error, duckdb.SerializationException) or "serializ" in lower or ("version" in lower and "storage" in lower):
        return DatabaseFault(label, "the database file cannot be read by this version (written by a newer "
                                    "DuckDB, or damaged). Restore it from a backup (docs/deploy.md).")
    if isinstance(error, FileNotFoundError):
        return DatabaseFault(label, "no such database (moved or deleted?). Nothing was created.")
    return None


def open_file(path: str | Path, read_only: bool = False, wait_seconds: float = 0,
              on_wait=None, create: bool = False, label: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database file. DuckDB lets one process write a file at a time: when another holds it
    (the dashboard between two clicks, a scheduled ingest), wait up to `wait_seconds` for it. A missing
    file is created only with `create`: a mistyped path, or a database moved away while the dashboard
    runs, must not silently become a new, empty one. Raises DatabaseFault, named as `label`."""
    path = Path(path)
    label = label or str(path)
    if not path.exists() and not create:
        raise DatabaseFault(label, "no such database (moved, deleted or mistyped?). Nothing was created; "
                                   "give --init to create a new one.")
    if path.is_dir():
        raise DatabaseFault(label, "a folder, not a database file.")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=CONFIG)
        except (duckdb.Error, OSError) as error:
            meaning = fault(error, label)
            if isinstance(meaning, DatabaseBusy) and time.monotonic() < deadline:
                if on_wait:
                    on_wait()
                    on_wait = None
                time.sleep(0.2)
                continue
            if not isinstance(meaning, DatabaseBusy) and path.is_file():
                # Read only after DuckDB refused the file: this process then holds no lock on it (reading
                # and closing a file drops every POSIX lock this process has on it: see copy_while_held).
                _refuse_foreign_bytes(path, label)
            raise (meaning or DatabaseFault(label, "cannot be opened: " + _without_paths(error, path))) from error


COPY_SCRIPT = ("import os, shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2]); "
               "f = os.open(sys.argv[2], os.O_RDONLY); os.fsync(f); os.close(f)")


def copy_while_held(source: str | Path, destination: str | Path) -> None:
    """Copy a database file that this process holds open, flushed to disk. DuckDB's lock is a POSIX record
    lock, which the kernel drops as soon as the process closes any descriptor of the file: a copy made in
    this process would free the database for another writer while this one still uses it. A child process
    makes the copy, so this one's lock stays."""
    subprocess.run([sys.executable, "-c", COPY_SCRIPT, str(source), str(destination)], check=True,
                   capture_output=True)


def _without_paths(error: BaseException, path: Path) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    for shown in (str(path.resolve()), str(path.resolve().parent), str(path)):
        text = text.replace(shown, path.name)
    return text


def is_ours(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the open database holds this product's tables."""
    (n,) = con.execute("select count(distinct table_name) from duckdb_tables() where database_name = "
                       "current_database() and schema_name = 'main' and table_name in $names",
                       {"names": list(OWN_TABLES)}).fetchall()[0]
    return n == len(OWN_TABLES)


def connect(path: str | Path = DEFAULT_DB, read_only: bool = False, wait_seconds: float = 0,
            on_wait=None, init: bool = True, label: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open this product's database, bringing its schema up to date when opened for writing. With `init`,
    a missing file is created and a DuckDB file without our tables gets them; without it both are refused
    (the command line and the dashboard pass --init's value; tests and benchmarks create freely)."""
    path = Path(path)
    label = label or str(path)
    if init and not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as error:
            raise DatabaseFault(label, "its folder cannot be made: a file has the name of a folder in the path."
                                ) from error
    con = open_file(path, read_only, wait_seconds, on_wait, create=init and not read_only, label=label)
    try:
        if not is_ours(con):
            if read_only or not init:
                raise DatabaseFault(label, NOT_OURS)
            refuse_clashing_names(con, label)
        if not read_only:
            try:
                initialise(con)
            except duckdb.Error as error:
                raise (fault(error, label) or error) from error
    except BaseException:
        con.close()
        raise
    return con


def initialise(con: duckdb.DuckDBPyConnection) -> None:
    """Create this product's tables, or bring an older database's up to date, in one transaction: a failure
    part-way leaves the file as it was. (Rows an earlier version stored twice are removed first, in their own
    transaction: an interrupted open finds them again.)"""
    remove_rows_stored_twice(con)

    def create():
        con.execute(sql("schema"))
        for table in NATURAL_KEYS:  # an earlier version's (see NATURAL_KEYS); DuckDB alters no indexed table
            con.execute(f"drop index if exists {table}_natural_key")
        add_new_columns(con)
        write_definitions(con)
        con.execute(sql("macros"))

    transaction(con, create)


def _objects(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The tables, views, sequences and macros someone made in the open database: name (DuckDB compares
    names without case) -> kind."""
    here = "database_name = current_database() and schema_name = 'main'"
    return {name.lower(): kind for name, kind in con.execute(f"""
        select table_name, 'table' from duckdb_tables() where {here} and not temporary
        union all select view_name, 'view' from duckdb_views() where {here} and not internal
        union all select sequence_name, 'sequence' from duckdb_sequences() where {here}
        union all select function_name, 'macro' from duckdb_functions() where {here} and not internal
    """).fetchall()}


@functools.cache
def product_names() -> frozenset[str]:
    """Every name this product gives a table, view, sequence or macro: what initialise makes (learned by
    running it on an empty database in memory, so this cannot drift from the schema), the metric tables and
    the cohort macros."""
    con = duckdb.connect(":memory:", config=CONFIG)
    try:
        initialise(con)
        names = set(_objects(con))
    finally:
        con.close()
    names |= {f"int_{p.stem}" for p in (QUERIES / "intermediate").glob("*.sql")} | {"build_state"}
    names |= set(re.findall(r"create or replace macro (\w+)", sql("cohort_series")))
    return frozenset(names)


def refuse_clashing_names(con: duckdb.DuckDBPyConnection, label: str) -> None:
    """Before --init adds this product's tables to another program's DuckDB file: refuse, changing nothing,
    when that file already uses one of our names (ours would alter or replace the other program's table)."""
    theirs = _objects(con)
    clashing = [f"a {theirs[name]} named {name}" for name in sorted(set(theirs) & product_names())]
    if clashing:
        raise DatabaseFault(label, f"a DuckDB database with {', '.join(clashing)} that "
                                   f"{'are' if len(clashing) > 1 else 'is'} not this product's; "
                                   "nothing was changed. Give another --db.")


# Columns a stored table gained after its first release: (table, column, type). schema.sql creates a new
# database with them.
ADDED_COLUMNS = (("sessions", "systolic_bp_pre", "integer"), ("sessions", "diastolic_bp_pre", "integer"),
                 ("sessions", "diastolic_bp_peak", "integer"), ("sessions", "source_hash", "hugeint"),
                 ("assessments", "source_hash", "hugeint"), ("patients", "source_hash", "hugeint"),
                 ("stale_patients", "source", "varchar"), ("patients", "ethnicity", "varchar"),
                 ("patients", "deprivation_decile", "integer"))


def add_new_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Give an older database the columns it lacks, keeping its rows; the metric tables are marked
    unbuilt: they were built without the new columns."""
    present = dict(((table, column), kind.lower()) for table, column, kind in con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main'").fetchall())
    # A column of another type (a line hash first stored in 64 bits) is made again, empty: it held only hashes.
    missing = [(table, column, kind) for table, column, kind in ADDED_COLUMNS if present.get((table, column)) != kind]
    if not missing:
        return
    for table, column, kind in missing:
        if (table, column) in present:
            con.execute(f"alter table {table} drop column {column}")
        con.execute(f"alter table {table} add column {column} {kind}")
    con.execute("drop table if exists build_state")
    log.info("added columns %s to an older database; the metric tables will be rebuilt",
             ", ".join(f"{t}.{c}" for t, c, _ in missing))


def remove_rows_stored_twice(con: duckdb.DuckDBPyConnection) -> None:
    """A database written before writers took turns, and before a unique index held the natural key, can
    hold a row twice (two simultaneous uploads of one export): the newest copy (latest batch) is kept and
    the others removed, and the log says how many. Its tables that lack that index are checked, once:
    schema.sql then creates `keys_kept_unique`, which says the file is written by writers that take turns."""
    existing = {r[0] for r in con.execute("select index_name from duckdb_indexes() where database_name = "
                                          "current_database()").fetchall()}
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables() where database_name = "
                                        "current_database() and schema_name = 'main'").fetchall()}
    if "keys_kept_unique" in tables:
        return
    for table in [t for t in NATURAL_KEYS if t in tables and f"{t}_natural_key" not in existing]:
        key_list = ", ".join(NATURAL_KEYS[table])
        (removed,) = con.execute(f"""
            delete from {table} where rowid in (
                select rowid from (
                    select rowid, row_number() over (partition by {key_list}
                                                     order by batch_id desc, line_number desc) as nth,
                    from {table}
                ) where nth > 1
            )""").fetchall()[0]
        if removed:
            log.warning("%s: removed %d rows stored twice by an earlier version (two uploads of one export at "
                        "the same moment); the newest copy of each is kept", table, removed)


@contextlib.contextmanager
def one_checkpoint(con: duckdb.DuckDBPyConnection):
    """Write the changes of several transactions (each file's, then the metric tables') into the database
    file once, at the end. DuckDB checkpoints after any commit that leaves its log over 16 MB, and a
    checkpoint writes every changed table again: a daily upload of three files
    and its build paid for four (2.5 s of 8 at 100k patients). Committed changes are safe in the log
    meanwhile: it is replayed after a crash. The checkpoint is left to DuckDB's next commit when another
    writer holds a transaction."""
    (before,) = con.execute("select current_setting('checkpoint_threshold')").fetchall()[0]
    con.execute("set checkpoint_threshold = '1GB'")
    try:
        yield
        try:
            con.execute("checkpoint")
        except duckdb.TransactionException:
            pass
    finally:
        con.execute(f"set checkpoint_threshold = '{before}'")


@contextlib.contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str):
    """DuckDB's buffer limit lowered to `limit` meanwhile (never raised above MEMORY_LIMIT), then back to
    MEMORY_LIMIT. The setting is the whole database instance's: every connection of this process to the
    file shares it."""
    lower = min((limit, MEMORY_LIMIT), key=_bytes)
    con.execute(f"set memory_limit = '{_size(lower)}'")
    try:
        yield
    finally:
        con.execute(f"set memory_limit = '{_size(MEMORY_LIMIT)}'")


_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?([KMGT])(i?)B")


def _size(text: str) -> str:
    """A memory size as DuckDB's setting takes it ('1500MB', '2.5 GiB'), refusing anything else: it is
    written into the SET statement, which takes no parameter."""
    if not _SIZE.fullmatch(text.strip()):
        raise ValueError(f"not a memory size: {text!r} (write it as 1500MB or 2GB)")
    return text.strip()


def _bytes(text: str) -> float:
    number, unit, binary = _SIZE.fullmatch(_size(text)).groups()
    return float(number) * (1024 if binary else 1000) ** ("KMGT".index(unit) + 1)


def transaction(con: duckdb.DuckDBPyConnection, body, attempts: int = 6):
    """Run body() in one transaction and return what it returns. Writing transactions of this process take
    turns (WRITING): one that begins while another runs waits for it to end, and then sees what it wrote.
    When DuckDB still reports a conflict (with a write made outside these turns), everything is
    rolled back and body() runs again on the new state, up to `attempts` times in all, each attempt waiting
    a little longer first (a random part, so two waiting writers do not collide again)."""
    with WRITING:
        for attempt in range(1, attempts + 1):
            con.execute("begin transaction")
            try:
                value = body()
                con.execute("commit")
                return value
            except duckdb.TransactionException as error:
                _rollback(con)
                if attempt == attempts or "conflict" not in str(error).lower():
                    raise
                log.info("write conflict, running the transaction again (attempt %d): %s", attempt + 1, error)
                time.sleep(random.uniform(0.05, 0.15) * attempt)
            except BaseException:
                _rollback(con)
                raise


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("rollback")
    except duckdb.TransactionException:
        pass  # a failed commit has already rolled back


def write_definitions(con: duckdb.DuckDBPyConnection) -> None:
    """Copy definitions.py into config tables so SQL reads each definition from one place."""
    instruments = pd.DataFrame([
        {"instrument": i.name, "key": i.key, "min_score": i.min_score, "max_score": i.max_score,
         "remission_max": i.remission_max, "remission_label": i.remission_label,
         "reliable_change": i.reliable_change, "source": i.source, "remission_term": i.remission_term,
         "mcid": i.mcid, "mcid_source": i.mcid_source, "is_outcome": i.is_outcome}
        for i in definitions.INSTRUMENTS.values()
    ]).astype({"remission_max": "Int64", "reliable_change": "Int64", "mcid": "Int64"})
    bands = pd.DataFrame(
        [{"instrument": i.name, "band_min": lo, "band": label,
          "band_max": (i.bands[n + 1][0] - 1) if n + 1 < len(i.bands) else i.max_score}
         for i in definitions.INSTRUMENTS.values() for n, (lo, label) in enumerate(i.bands)],
        columns=["instrument", "band_min", "band", "band_max"],
    )
    settings = pd.DataFrame([vars(s) for s in definitions.SETTINGS.values()]).astype({"value": "float64"})
    aliases = pd.DataFrame(
        [{"kind": kind, "alias_key": definitions.alias_key(text), "value": value}
         for kind, values in definitions.ALIASES.items() for value, texts in values.items()
         for text in (value, *texts)]
    )
    # The clinic's own terms (mappings.add_terms) after the built-in ones: a built-in meaning wins.
    clinic_terms = pd.DataFrame(
        [{"kind": definitions.VOCABULARY_KINDS[column], "alias_key": definitions.alias_key(term), "value": term}
         for column, term in con.execute("select column_name, term from vocabulary_terms order by saved_at, term"
                                         ).fetchall() if column in definitions.VOCABULARY_KINDS],
        columns=["kind", "alias_key", "value"])
    aliases = pd.concat([aliases, clinic_terms]).drop_duplicates(["kind", "alias_key"])
    references = pd.DataFrame(list(definitions.REFERENCE_RESULTS))
    safety_references = pd.DataFrame(list(definitions.SAFETY_REFERENCES))
    con.execute("create table if not exists setting_overrides (name varchar primary key, value double not null)")
    for old_name, new_names in definitions.RENAMED_SETTINGS.items():  # an older database's override keeps its meaning
        con.execute("insert or ignore into setting_overrides select unnest($new), value from setting_overrides "
                    "where name = $old", {"new": list(new_names), "old": old_name})
        con.execute("delete from setting_overrides where name = $old", {"old": old_name})
    for name, frame in (("instruments", instruments), ("severity_bands", bands), ("default_settings", settings),
                        ("aliases", aliases), ("reference_results", references),
                        ("safety_references", safety_references)):
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
    """Changes whenever stored data or a setting changes: the key for cached query results. Settings count by
    name and value (two settings overridden to one value are two states)."""
    return con.execute(
        "select (select coalesce(max(batch_id), 0) from batches), "
        "(select coalesce(list(name || '=' || value order by name), []) from setting_overrides)"
    ).fetchall()[0]


def content_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """Changes only when stored rows or a setting change: the newest batch that inserted or replaced a row
    (or undid one). A re-upload that found every line already stored leaves it as it was, so the metric
    tables need no rebuild for it (the daily cumulative export's unchanged days)."""
    return con.execute(
        "select (select coalesce(max(batch_id), 0) from batches "
        "        where kind = 'undo' or rows_inserted > 0 or rows_replaced > 0), "
        "(select coalesce(list(name || '=' || value order by name), []) from setting_overrides)"
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
