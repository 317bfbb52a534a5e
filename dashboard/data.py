"""The dashboard's access to the database: a connection for each use, one writer at a time, and mart
results cached on the version of the data the metric tables were built from, so an upload invalidates
exactly what it changed.

The file is held only while a script run reads or writes it (opening costs about 15 ms, even at 1M
patients): DuckDB lets one process write a file, and a scheduled `ketamine-outcomes ingest` must be
able to run while the dashboard is up. While such an ingest holds the file, a run waits for it.

Within this server process every write (an upload, an undo, a saved mapping, an audit row) goes through
`writing()`: DuckDB's concurrency is optimistic, so two uploads at once would conflict or store one
export twice (database.transaction makes writing transactions take turns as well). Viewing needs no write
access: a file this user may only read is opened read-only. A database that cannot be used is one sentence on the page, never a traceback."""

import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from ketamine_outcomes.store import busy
from ketamine_outcomes.ingest import pipeline
from ketamine_outcomes.ingest import mappings
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes import kept
from ketamine_outcomes.store import publish
from ketamine_outcomes.definitions import INSTRUMENTS
from ketamine_outcomes.ingest.pipeline import BatchResult, ingest_export
from ketamine_outcomes.safe_text import markdown


def database_path() -> str:
    return os.environ.get("KETAMINE_OUTCOMES_DB", str(database.DEFAULT_DB))


def replica() -> bool:
    """This dashboard is one of several replicas (`dashboard --replica`): it reads the newest copy the writer
    publishes beside the database (ketamine_outcomes/publish.py), read-only, and never opens the database
    itself, so an ingest never makes its pages wait."""
    return bool(os.environ.get("KETAMINE_OUTCOMES_REPLICA"))


REPLICA_READ_ONLY = ("this dashboard is a replica: it reads the copy published after the last ingest and cannot "
                     "store anything. Upload on the writer's dashboard, or with `ketamine-outcomes ingest`; "
                     "nothing was changed.")


def _label() -> str:
    """The database as pages name it: its file name, never the server's folders."""
    return Path(database_path()).name


WAIT_SECONDS = 60
# An upload waits this long for another one to finish (a large export takes minutes).
WRITER_WAIT_SECONDS = 15 * 60
_writer = threading.Lock()


def show_fault(fault: database.DatabaseFault) -> None:
    """A database that cannot be used, in one sentence, and nothing else on the page. Its file name is
    the operator's text, shown as text (a name may hold markdown)."""
    st.error(f"The database cannot be used. {markdown(fault)}")
    st.stop()


# Databases this user may only read: once found, opened read-only for the server's life (DuckDB refuses a
# writable connection in a process that has the file open read-only).
_read_only: set[str] = set()


def _open(path: str, wait_seconds: float, on_wait=None) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """The database, writable when this user may write it, else read-only: (connection, writable)."""
    if path not in _read_only:
        try:
            return database.open_file(path, wait_seconds=wait_seconds, on_wait=on_wait, label=_label()), True
        except database.DatabaseReadOnly:
            _read_only.add(path)
    return database.open_file(path, read_only=True, wait_seconds=wait_seconds, label=_label()), False


@st.cache_resource(show_spinner=False)
def _prepared(path: str) -> bool:
    """Bring the schema up to date and build the metric tables, once per server process. Never creates a
    database or adds tables to a file that is not ours (the command's --init does)."""
    con, writable = _open(path, 0)
    try:
        if not database.is_ours(con):
            raise database.DatabaseFault(_label(), database.NOT_OURS)
        if writable:
            database.initialise(con)
            if marts.ensure_built(con) != marts.UP_TO_DATE:  # e.g. an older version's tables and macros
                publish.after_write(con)  # the replicas' copy too (when publishing is on)
        elif not marts.is_current(con):
            raise database.DatabaseFault(_label(), database.OUT_OF_DATE)
    finally:
        con.close()
    return True


def _busy(path: str) -> str:
    """What holds the database, in words (a command-line ingest announces itself: store/busy.py)."""
    found = busy.current(path)
    return found.sentence() if found else "Another process (an ingest or a backup) is writing the database"


def _open_for_reading(path: str) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """The database for reading: (connection, whether it is the reading copy). While a command-line ingest
    holds the file, its reading copy (the data as it was before the ingest began) is read, and the page
    says so; without a copy the page waits up to WAIT_SECONDS for the file, saying what holds it. A replica
    reads the newest published copy instead (it never waits)."""
    if replica():
        return _open_published(path), False
    try:
        con, _ = _open(path, 0)
    except database.DatabaseBusy:
        found = busy.current(path)
        if found and found.copy:
            try:
                copy = database.open_file(busy.copy_path(path), read_only=True, label=_label())
                st.info(f"{found.sentence()}: pages show the data as it was before it began. Refresh when it "
                        "is done for the new data.")
                return copy, True
            except database.DatabaseFault:
                pass  # the ingest ended meanwhile and removed its copy: the file is free again
        note = st.empty()
        try:
            con, _ = _open(path, WAIT_SECONDS, on_wait=lambda: note.info(
                f"{_busy(path)}; this page waits for it (up to {WAIT_SECONDS} s)."))
        except database.DatabaseBusy:
            note.empty()
            st.warning(f"{_busy(path)}. Refresh this page when it is done.")
            st.stop()
        note.empty()
    try:
        _prepared(path)
    except BaseException:
        con.close()
        raise
    return con, False


def _open_published(path: str) -> duckdb.DuckDBPyConnection:
    """The newest published copy, read-only, checked once per copy to be this version's (a writer of an older
    version publishes tables these pages cannot read)."""
    con, copy = publish.open_newest(path, _label())
    try:
        _published_current(str(copy))
    except BaseException:
        con.close()
        raise
    return con


@st.cache_resource(show_spinner=False, max_entries=8)
def _published_current(copy: str) -> bool:
    con = database.open_file(copy, read_only=True, label=_label())
    try:
        if not database.is_ours(con):
            raise database.DatabaseFault(_label(), database.NOT_OURS)
        if not marts.is_current(con):
            raise database.DatabaseFault(_label(), database.OUT_OF_DATE)
    finally:
        con.close()
    return True


_this_run = threading.local()


# Databases opened during this server's life: one missing afterwards was moved away, not yet to be made.
_opened: set[str] = set()


def offering_new() -> bool:
    """The dashboard was started on a path with no database yet (`ketamine-outcomes dashboard --db NEW`
    without --init sets the variable) and none has been opened there since: pages offer to create it."""
    path = database_path()
    return bool(os.environ.get("KETAMINE_OUTCOMES_OFFER_NEW")) and path not in _opened and not Path(path).exists()


def _offer_new_database(may_create: bool, on_created=None) -> None:
    """One who may upload creates the empty database with a click, and lands on the Data page, which says
    what to upload. Nothing is created before the click. `on_created`: records it (the audit trail)."""
    st.title("A new clinic")
    st.info(f"There is no database at {markdown(_label())} yet: a new clinic starts here. (If the clinic's "
            "data should be here, the file was mistyped or moved: ask whoever started the dashboard.) Create an "
            "empty one to start; the Data page then says what to upload.")
    if not may_create:
        st.caption("Someone who may upload exports (an analyst or an administrator) can create it.")
    elif st.button("Create an empty clinic database", type="primary", icon=":material/add:"):
        path, created = Path(database_path()), False
        try:
            with _writer:  # two browsers clicking at once: the second finds it made
                if not path.exists():
                    # Its folder existed when the dashboard started (the command checks): one gone since
                    # (a share no longer mounted) is not made again here, empty.
                    if not path.parent.is_dir():
                        raise database.DatabaseFault(_label(), "its folder is not there (gone, or no longer "
                                                            "mounted?); nothing was created.")
                    database.connect(path, init=True, label=_label()).close()
                    created = True
        except database.DatabaseFault as fault:
            show_fault(fault)
        except (duckdb.Error, OSError) as error:  # a dangling link, no right to write
            show_fault(database.fault(error, _label()) or database.DatabaseFault(
                _label(), f"could not be created there ({error.strerror if isinstance(error, OSError) else error})."))
        if created and on_created:
            on_created()  # after the lock: the audit row is a write, and takes it
        st.switch_page("app_pages/data.py")
    st.stop()


@contextmanager
def held_for_this_run(may_create: bool = False, on_created=None):
    """Hold the database for one script run (the entry file wraps the page in this), so every query of
    the run shares one connection; it is released when the run ends, even on st.stop(). A database fault
    met during the run (a full disk, a file moved away) ends the page with its sentence; a database the
    dashboard was started to create is offered instead (`may_create`: the signed-in role may upload;
    `on_created`: called once it is made).

    The file is opened at the run's first query, not before: a view whose results are all cached (the same
    view again, for this data version) never opens it (data_version knows the file unchanged by its state
    on disk). It is opened at once when the file is missing (a fault, or a new clinic to offer) or a
    command-line ingest holds it (the page then says so)."""
    try:
        path = database_path()
        _this_run.con, _this_run.on_copy, _this_run.version, _this_run.lazy = None, False, None, True
        if not replica() and (not Path(path).is_file() or busy.current(path)):
            _hold(may_create, on_created)
        try:
            with kept.kept():  # charts and suppressed rows kept by what they show (ketamine_outcomes/kept.py)
                yield
        finally:
            con, _this_run.con, _this_run.on_copy, _this_run.version, _this_run.lazy = (
                getattr(_this_run, "con", None), None, False, None, False)
            if con is not None:
                con.close()
    except (duckdb.Error, OSError) as error:
        meaning = database.fault(error, _label())
        if meaning is None:
            raise
        show_fault(meaning)


def _hold(may_create: bool = False, on_created=None) -> duckdb.DuckDBPyConnection:
    """Open the database for the rest of this run (see held_for_this_run)."""
    try:
        con, _this_run.on_copy = _open_for_reading(database_path())
    except database.DatabaseFault as fault:
        if offering_new():
            _offer_new_database(may_create, on_created)
        show_fault(fault)
    _opened.add(database_path())
    _this_run.con = con
    return con


@contextmanager
def connection():
    """The database for reading: the run's connection when one is held (opened now if this is the run's
    first query), else one for this use."""
    held = getattr(_this_run, "con", None)
    if held is None and getattr(_this_run, "lazy", False):
        held = _hold()
    if held is not None:
        yield held
        return
    try:
        con, _ = _open_for_reading(database_path())
    except database.DatabaseFault as fault:
        show_fault(fault)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def writing(waiting: str | None = None, wait_seconds: float = WRITER_WAIT_SECONDS):
    """The database for a write, as this process's only writer: a second upload waits for the first
    (saying `waiting` meanwhile) instead of conflicting with it, and a write while a command-line ingest
    holds the file waits for that ingest (up to `wait_seconds`). Raises DatabaseFault."""
    if not _writer.acquire(blocking=False):
        note = st.info(waiting) if waiting else None
        if not _writer.acquire(timeout=wait_seconds):
            if note:
                note.empty()
            raise database.DatabaseBusy(_label(), "another upload has been storing for over "
                                               f"{wait_seconds / 60:.0f} minutes; try again later.")
        if note:
            note.empty()
    try:
        if replica():
            raise database.DatabaseReadOnly(_label(), REPLICA_READ_ONLY)
        held = getattr(_this_run, "con", None)
        if held is not None and not getattr(_this_run, "on_copy", False):
            yield held
        else:
            path = database_path()
            if path in _read_only:
                raise database.DatabaseReadOnly(_label(), database.READ_ONLY)
            note = st.empty() if waiting else None
            con = database.open_file(path, wait_seconds=wait_seconds, label=_label(), on_wait=note and (
                lambda: note.info(f"{_busy(path)}; yours waits and starts when it is done.")))
            if note:
                note.empty()
            try:
                yield con
            finally:
                con.close()
    except (duckdb.Error, OSError) as error:
        meaning = database.fault(error, _label())
        if meaning is None:
            raise
        raise meaning from error
    finally:
        _this_run.version = None  # what was written is a new version for the rest of this run
        _writer.release()


# The data version last read from the file, by the file's state on disk (device, inode, size and time of
# change of the file and of its log): while neither changed, the version stands without opening the file.
_versions: dict[str, tuple[tuple, str]] = {}


def _file_state(path: str) -> tuple:
    """(the file read, its state on disk, its log's): on a replica, the newest published copy's."""
    if replica():
        copy = publish.newest(path)
        path = str(copy) if copy else path
    found = [path]
    for name in (path, path + ".wal"):
        try:
            status = os.stat(name)
            found.append((status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns))
        except OSError:
            found.append(None)
    return tuple(found)


def data_version() -> str:
    """The version of the data the metric tables were built from: what every cached result is keyed on.
    When another process stored data without building them, they are built first (by this process's one
    writer); while an upload here is storing, or an ingest elsewhere, pages keep reading the last build.
    Asked once per script run (a page asks for a dozen marts and lists), and read from the file only when
    the file changed on disk since it was last read (any write changes the file or its log)."""
    known = getattr(_this_run, "version", None)
    if known is not None:
        return known
    path = database_path()
    state = _file_state(path)
    remembered = _versions.get(path)
    if remembered and remembered[0] == state and state[1] is not None and not _writer.locked():
        version = remembered[1]
    else:
        with connection() as con:
            if not getattr(_this_run, "on_copy", False) and not _writer.locked() and not marts.is_built(con):
                try:
                    with writing(wait_seconds=0):
                        marts.ensure_built(con)
                        publish.after_write(con)
                except (database.DatabaseReadOnly, database.DatabaseBusy):
                    pass  # a database this user may only read, or one being written, shows its last build
            # The file's state before its version is read: no other process writes while this one holds
            # the file, and a write of this one's after it makes the next run read the version again.
            state = _file_state(path)
            version = marts.built_version(con) or ""
            if not getattr(_this_run, "on_copy", False) and is_built_now(con, version):
                _versions[path] = (state, version)
    if getattr(_this_run, "lazy", False):
        _this_run.version = version
    return version


def is_built_now(con: duckdb.DuckDBPyConnection, version: str) -> bool:
    """Whether `version` is the data as stored (not a last build kept while a writer stores more)."""
    return version != "" and version == str(database.data_version(con))


@st.cache_data(max_entries=1024, show_spinner=False)
def _mart(path: str, version: str, name: str, options: tuple) -> pd.DataFrame:
    with connection() as con:
        return getattr(marts, name)(con, **dict(options))


def mart(name: str, **options) -> pd.DataFrame:
    """A mart's rows for these options (instrument, cohort, by, ...), from cache when the data is unchanged."""
    return _mart(database_path(), data_version(), name, tuple(sorted(options.items())))


@st.cache_data(max_entries=64, show_spinner=False)
def _query(path: str, version: str, sql: str) -> pd.DataFrame:
    with connection() as con:
        return con.execute(sql).df()


def table(sql: str) -> pd.DataFrame:
    """A small fixed query (filter options, settings, batch history), cached on the data version."""
    return _query(database_path(), data_version(), sql)


def last_data_day():
    """The date of the latest session or assessment stored (None for exports with day offsets only)."""
    frame = table("select greatest((select max(session_date) from sessions), "
                  "(select max(assessment_date) from assessments)) as last_date")
    value = frame.last_date.iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def is_empty() -> bool:
    return int(table("select count(*) as n from int_treatment_series").n.iloc[0]) == 0


def stored_instruments() -> set[str]:
    """The instruments with at least one assessment stored (scored or not)."""
    return set(table("select distinct instrument from assessments").instrument)


def settings() -> dict[str, float]:
    frame = table("select name, value from settings")
    return dict(zip(frame.name, frame.value))


def caseness() -> dict[str, float]:
    """Caseness thresholds in force, by instrument (PHQ-9, GAD-7: NHS Talking Therapies)."""
    in_force = settings()
    return {instrument: in_force[name] for instrument, name in marts.CASENESS_SETTINGS.items()}


def response_fraction(instrument: str) -> float:
    """The response fraction in force for an instrument (setting response_fraction_<key>)."""
    return settings()[f"response_fraction_{INSTRUMENTS[instrument].key}"]


UPLOAD_WAITS = "Another upload is being stored; yours waits and starts when it is done."


def ingest_upload(name: str, content: bytes, progress=None, date_format: str | None = None,
                  mapping_name: str | None = None, recorded_as: tuple[str, str] | None = None) -> list[BatchResult]:
    """Ingest one uploaded file (written to a temporary file for DuckDB to read; a workbook or zip may
    hold several exports), then rebuild the metrics. `mapping_name`: a saved column mapping;
    `recorded_as`: who uploads (each stored batch's audit row is written in its transaction). A database
    that cannot take the upload (read-only, a full disk) refuses it with the reason; nothing is stored."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (Path(name).name or "upload")
        path.write_bytes(content)
        results, stage = [], "storing"
        try:
            with writing(UPLOAD_WAITS) as con, database.one_checkpoint(con):
                kind, mapping = mappings.load(con, mapping_name) if mapping_name else (None, None)
                results = ingest_export(con, path, date_format=date_format, file_name=name, progress=progress,
                                        mapping=mapping, kind=kind, recorded_as=recorded_as)
                stage = "building"
                marts.ensure_built(con)  # no rebuild when the upload stored nothing new
                stage = "checkpoint"
                publish.after_write(con)  # replicas read it (when publishing is on)
        except database.DatabaseFault as fault:
            return [BatchResult(name, refused=fault.reason)]
        except pipeline.StoredThenFailed as partial:  # a workbook's later sheet failed: its earlier ones are stored
            return partial.results
        except (duckdb.Error, OSError) as error:  # a full disk while storing, building or checkpointing
            fault = database.fault(error, _label())
            if fault is None:
                raise
            if not any(r.batch_id is not None for r in results):
                return [BatchResult(name, refused=fault.reason)]
            pipeline.stored_then_failed(results, error, None, stage)  # each stored batch says what failed after it
    return results


def save_mapping(name: str, kind: str, columns: dict[str, str]) -> None:
    with writing() as con:
        mappings.save(con, name, kind, columns)


def add_vocabulary_terms(mapping_name: str, column: str, terms: list[str]) -> list[str]:
    """Add the clinic's own terms to a free-text column's vocabulary (mappings.add_terms; ValueError when
    refused). Stored rows keep what they hold: the terms apply from the next upload on."""
    with writing() as con:
        return mappings.add_terms(con, mapping_name, column, terms)


def undo_batch(batch_id: int) -> str:
    """Undo one batch (ketamine_outcomes.ingest.pipeline.undo_batch) and bring the metric tables up to date."""
    with writing() as con:
        message = pipeline.undo_batch(con, batch_id)
        marts.ensure_built(con)
        publish.after_write(con)
    return message


def saved_mappings() -> list[str]:
    """The names of the saved column mappings (not cached: saving one does not change the data version)."""
    with connection() as con:
        return list(mappings.listing(con).name.unique())
