"""Ingest of CSV exports: one file, one transaction, every line stored, replaced, counted or rejected.

A file is read by DuckDB as text, checked for direct identifiers (refused whole, before anything is
stored), cleaned and checked line by line by queries/staging/<kind>.sql, and merged on its natural
key: an identical row is a duplicate, a changed row replaces the stored one (recorded in
`replacements`), a new row is inserted. Lines that cannot be stored go to `rejects` with their line
number, column, value and reason. Line numbers count the header as line 1, as DuckDB does; a quoted
value spanning several lines counts as one.

A stored row keeps a hash of the export line it came from (with what else decides how a line is staged:
the header, the date style, the staging code), unless the line had a warning. A daily cumulative export
repeats most lines byte for byte: a line whose hash a stored row holds is counted a duplicate without
being scanned, staged or compared again (it was, when it was stored), unless a changed line in the same
file has its key.

The steps live in their own modules (scan, stage, merge, undo, results); this one runs them per
file and per upload, and names what callers use."""

import contextlib
import itertools
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb

from ketamine_outcomes.access import audit
from ketamine_outcomes.store import busy
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.ingest import readers
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.contract import (
    MissingColumns, read_layout, sniff_delimiter, split_header,
)
from ketamine_outcomes.privacy import check_file_name, check_headers, check_identifier_values
from ketamine_outcomes.refused import RefusedFile
from ketamine_outcomes.store import publish
from ketamine_outcomes.ingest.results import (
    BatchResult, upload_detail, by_reason, StoredThenFailed, stored_then_failed,
)
from ketamine_outcomes.ingest.scan import (
    PROGRESS_BYTES, FileScan, scan_ahead, scanned, scan_file, blank_lines, unclosed_quote,
    lines_with_extra_fields,
)
from ketamine_outcomes.ingest.stage import (
    KEYS, VALUES, LIST_COLUMNS, RAW_COLUMNS, OPTIONAL_SOURCES, KEPT_FIRST, SUPERSEDED, DATE_COLUMNS,
    STRUCTURAL_REASONS, STAGING_PARAMETERS, read_positional, temp_kind, name_contract_columns,
    ROW_HASH, staging_code, layout_salt, hash_lines, restage_known_conflicts, stage_rows,
)
from ketamine_outcomes.ingest.merge import file_rejects, batch_problems, unfile_repeats, absent_columns, merge_staged
from ketamine_outcomes.ingest.undo import undo_batch

_load_counter = itertools.count(1)


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    date_format: str | None = None,
    file_name: str | None = None,
    progress: Callable[..., None] | None = None,
    mapping: dict[str, str] | None = None,
    kind: str | None = None,
    source: readers.Source | None = None,
    ahead: Future | None = None,
    recorded_as: tuple[str, str] | None = None,
) -> BatchResult:
    """Ingest one CSV export in one transaction. A refused file stores nothing and says why.
    `mapping` and `kind` (a saved column mapping) name columns the contract does not know; `source`
    says how readers.sources made the file (ingest_export reads any file through it); `ahead`, its
    scan begun ahead (ingest_files). `recorded_as` (who, role): the audit trail's 'upload' row is written
    in the batch's own transaction, so a stored batch always has its row, even when the process is
    killed right after (a refusal, which stores nothing, is the caller's to record)."""
    path = Path(path)
    result = BatchResult(file_name or path.name)
    say = progress or (lambda message, fraction=None: None)
    load = next(_load_counter)
    errors_table = None
    line_offset = source.line_offset if source else 0
    result.source = source.read_as if source else None
    try:
        say(f"{result.file_name}: reading {path.stat().st_size / 1e6:.1f} MB", 0.05)
        scan = scanned(path, ahead)
        # Identifiers first: the privacy reason is the one to give, whatever else is wrong.
        check_file_name(result.file_name)
        check_headers(split_header(scan.header, sniff_delimiter(scan.header)))
        layout = read_layout(scan.header, mapping, kind)
        if scan.quotes % 2:
            opened = unclosed_quote(path, layout, scan)
            if opened:
                raise RefusedFile(
                    f"line {opened + line_offset}: a quoted value is opened there and never closed, so every line "
                    "after it would be read as part of that value. Close the quote (or remove it) and export again."
                )
        result.kind, result.columns_ignored = layout.kind, layout.ignored
        # A file most of whose lines may be stored already (a wide line gives several rows: hash_lines), and
        # whose text can be joined with the separators (read_positional).
        joined = (layout.kind != "outcomes_wide" and not scan.separators
                  and con.execute(f"select exists (from {layout.table})").fetchall()[0][0])
        try:
            errors_table = read_positional(con, path, layout, scan, load, line_offset, joined)
        except duckdb.Error as error:
            raise RefusedFile(f"could not be read as CSV: {str(error).splitlines()[0]}") from error
        name_contract_columns(con, layout)
        date_style = None
        if "date_text" in RAW_COLUMNS[layout.kind]:
            declared = date_format or layout.date_format or "auto"
            date_style = database.run(con, "staging/date_style", {"declared": declared}).fetchall()[0][0]
        result.date_style = date_style
        known = hash_lines(con, layout, date_style)
        if known:
            con.execute("create or replace temp table raw_pending as select * from raw_export_positional "
                        "where raw_row in (select raw_row from line_hashes where not is_known)")
        say(f"{result.file_name}: checking for direct identifiers", 0.3)
        # A known line was scanned when it was stored; a malformed line never is known.
        check_identifier_values(con, layout, errors_table,
                                "raw_pending" if known else "raw_export_positional" if joined else "raw_file")
        say(f"{result.file_name}: checking {layout.kind.replace('_', ' ')} lines", 0.45)
        if known:
            name_contract_columns(con, layout, "raw_pending")
        stage_rows(con, layout, date_style)
        if known:
            known -= restage_known_conflicts(con, layout, date_style)
        result.lines_known = known
        say(f"{result.file_name}: storing", 0.7)
        # Whether each line is new, a duplicate or a replacement is decided against the stored rows inside
        # the writing transaction: an upload of the same export at the same moment (another browser) waits
        # for this one's turn to end (database.transaction) and finds its lines stored.
        def store_batch():
            (batch_id,) = con.execute("select nextval('batch_ids')").fetchall()[0]
            file_rejects(con, layout, batch_id, errors_table)
            counts = merge_staged(con, layout.table, batch_id, absent_columns(layout), ROW_HASH.get(layout.kind, "line_hash"))
            if known:
                counts["rows_duplicate"] += con.execute("select count(*) from known_rows").fetchall()[0][0]
            # A wide line holds several assessments: its rejected ones are counted as the stored ones are (a
            # malformed line or a repeated key, filed without a column, counts once).
            rejected_rows = ("(select count(*) from staged where len(problems) > 0) + (select count(*) from rejects "
                             "where batch_id = $batch and column_name is null)" if layout.kind == "outcomes_wide" else
                             "(select count(distinct line_number) from rejects where batch_id = $batch)")
            rows_read, rejected, warned = con.execute(
                f"select (select count(*) from raw_export_positional) + (select count(distinct line) from {errors_table}), "
                f"{rejected_rows}, (select count(distinct line_number) from warnings where batch_id = $batch)",
                {"batch": batch_id},
            ).fetchall()[0]
            result.rejects, result.warnings = batch_problems(con, "rejects", batch_id), batch_problems(con, "warnings", batch_id)
            result.filed_before = unfile_repeats(con, batch_id, scan.sha256)
            con.execute(
                "insert into batches (batch_id, file_name, sha256, kind, rows_read, rows_inserted, rows_replaced, "
                "rows_duplicate, rows_rejected, columns_ignored, date_style, loaded_at, rows_with_warnings, source) "
                "values ($batch, $name, $sha, $kind, $read, $inserted, $replaced, $duplicate, "
                "$rejected, $ignored, $date_style, current_timestamp::timestamp, $warned, $source)",
                {"batch": batch_id, "name": result.file_name, "sha": scan.sha256, "kind": layout.kind,
                 "read": rows_read, "inserted": counts["rows_inserted"], "replaced": counts["rows_replaced"],
                 "duplicate": counts["rows_duplicate"], "rejected": rejected, "ignored": layout.ignored,
                 "date_style": date_style, "warned": warned, "source": result.source},
            )
            if recorded_as:
                audit.record(con, *recorded_as, "upload", upload_detail(result.file_name, batch_id))
            return batch_id, counts, rows_read, rejected, warned

        batch_id, counts, rows_read, rejected, warned = database.transaction(con, store_batch)
        result.batch_id, result.rows_read, result.rows_rejected = batch_id, rows_read, rejected
        result.rows_with_warnings = warned
        for name, value in counts.items():
            setattr(result, name, value)
    except RefusedFile as refusal:
        result.refused = str(refusal)
        if isinstance(refusal, MissingColumns):
            result.missing = refusal
    finally:
        temporary = con.execute("select table_name, table_type from information_schema.tables "
                                "where table_schema = 'main' and table_catalog = 'temp'").fetchall()
        for name, kind in sorted(temporary, key=lambda t: t[1] != "VIEW"):  # views before what they read
            if name in ("raw_outcomes", "raw_export", "raw_export_positional", "raw_lines", "raw_file", "staged",
                        "ranked", "repeated", "classified", "line_hashes", "known_rows", "raw_pending", "restage_lines",
                        "raw_restage", "staged_more", "wide_rows"):
                con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} if exists temp.{name}")
        if errors_table:
            con.execute(f"drop table if exists temp.{errors_table}")
            con.execute(f"drop table if exists temp.load_scans_{load}")
    return result


def ingest_export(con: duckdb.DuckDBPyConnection, path: str | Path, date_format: str | None = None,
                  file_name: str | None = None, progress: Callable[..., None] | None = None,
                  mapping: dict[str, str] | None = None, kind: str | None = None,
                  ahead: Future | None = None, recorded_as: tuple[str, str] | None = None) -> list[BatchResult]:
    """Ingest any file an analyst has (CSV in any common encoding, gzip, zip, a workbook): each export
    it holds (readers.sources) in its own transaction. In a workbook or zip holding several, a sheet or
    member with no known layout is skipped (said so) rather than refused. `ahead`: the file's scan begun
    ahead, used when the file is read as it is."""
    path = Path(path)
    name = file_name or path.name
    with tempfile.TemporaryDirectory(prefix="ketamine-outcomes-") as folder:
        try:
            found = list(readers.sources(path, name, Path(folder)))
        except RefusedFile as refusal:
            return [BatchResult(name, refused=str(refusal))]
        except OSError as error:
            return [BatchResult(name, refused=f"could not be read: {error.strerror or error}.")]
        if not found:
            return [BatchResult(name, refused="holds no export: every sheet is empty.")]
        results = []
        for s in found:
            try:
                results.append(ingest_file(con, s.path, date_format, s.name, progress, mapping, kind, s,
                                           ahead if s.path == path else None, recorded_as))
            except (duckdb.Error, OSError) as error:  # a workbook's earlier sheets may be stored already
                if any(r.batch_id is not None for r in results):
                    raise stored_then_failed(results, error, Path(s.name), "storing") from error
                raise
    if len(results) > 1 and any(r.refused is None for r in results):
        for r in results:
            if r.missing is not None and r.missing.kind is None:
                r.refused, r.skipped = None, "its first row names no known export; skipped"
    return results


def ingest_files(db_path: str | Path, paths, date_format: str | None = None,
                 progress: Callable[..., None] | None = None, wait_seconds: float = 0,
                 on_wait: Callable[[], None] | None = None, mapping: dict[str, str] | None = None,
                 kind: str | None = None, init: bool = True, announce: bool = False,
                 recorded_as: tuple[str, str] | None = None) -> list[BatchResult]:
    """Ingest several files into the database at db_path, each export in its own transaction, then
    rebuild the metrics' intermediate tables once. Waits up to wait_seconds for another process's lock.
    `init`: create the database when there is none (database.connect). `announce`: leave a reading copy and
    a status file for the dashboard while the file is held (busy.py; the command line's ingest does)."""
    paths = [Path(p) for p in paths]
    con = database.connect(db_path, wait_seconds=wait_seconds, on_wait=on_wait, init=init)
    # Each file's bytes are checked (scan_file: checksum, lines, quotes) on a thread, in turn, while DuckDB
    # works on the files before it: 2 s of Python for a network's 885 MB, most of it hidden so.
    scanning = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-ahead")
    results, current, stage = [], None, "storing"
    try:
        ahead = {p: scanning.submit(scan_ahead, p) for p in paths}
        # What is said must be what happened: once a batch is committed, a failure after it (a full disk
        # during the next file, the build or the checkpoint) is reported with the batches it leaves stored.
        try:
            with database.memory_limit(con, database.INGEST_MEMORY_LIMIT), \
                    busy.announced(con, db_path, paths) if announce else contextlib.nullcontext(), \
                    database.one_checkpoint(con):
                for current in paths:
                    results += ingest_export(con, current, date_format, progress=progress, mapping=mapping,
                                             kind=kind, ahead=ahead[current], recorded_as=recorded_as)
                current, stage = None, "building"
                if progress:
                    progress("building treatment series and weekly outcomes", 0.9)
                marts.ensure_built(con)
                stage = "checkpoint"
                publish.after_write(con)  # dashboard replicas read the new data (when publishing is on)
        except StoredThenFailed as partial:  # a workbook stopped part-way: with the files stored before it
            raise stored_then_failed(results + partial.results, partial.error, partial.failed, stage) from partial
        except (duckdb.Error, OSError) as error:
            if any(r.batch_id is not None for r in results):
                raise stored_then_failed(results, error, current, stage) from error
            raise
        if progress:
            progress("done", 1.0)
        return results
    finally:
        scanning.shutdown(cancel_futures=True)
        con.close()
