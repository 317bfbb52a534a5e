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
"""

import codecs
import contextlib
import csv
import functools
import hashlib
import itertools
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ketamine_outcomes.access import audit
from ketamine_outcomes.store import busy
from ketamine_outcomes.metrics import marts as metrics
from ketamine_outcomes.ingest import privacy
from ketamine_outcomes.ingest import readers
from ketamine_outcomes.store import database as store
from ketamine_outcomes.ingest.contract import AGE_BAND_FORM, Layout, MissingColumns, RefusedFile, read_layout, sniff_delimiter, split_header
from ketamine_outcomes.definitions import DOSE_LIMITS, alias_key
from ketamine_outcomes.ingest.privacy import check_file_name, check_headers, check_identifier_values
from ketamine_outcomes.store import publish

# Natural key (unique in the store) and stored values of each table; identifiers in generated SQL come only
# from here.
KEYS = store.NATURAL_KEYS
VALUES = {
    "sessions": ("session_date", "route", "status", "dose_mg", "dose_mg_per_kg", "site", "clinician_id",
                 "adverse_events", "systolic_bp_peak", "systolic_bp_pre", "diastolic_bp_pre", "diastolic_bp_peak"),
    "assessments": ("assessment_date", "score", "item9"),
    "patients": ("age_band", "sex", "primary_indication", "site", "ethnicity", "deprivation_decile"),
}
LIST_COLUMNS = ("adverse_events",)
RAW_COLUMNS = {  # the text columns each staging query reads from raw_export
    "sessions": ("patient_id", "date_text", "day_text", "route", "status", "dose_mg", "dose_mg_per_kg", "site",
                 "clinician_id", "adverse_events", "systolic_bp_peak", "systolic_bp_pre", "diastolic_bp_pre",
                 "diastolic_bp_peak", "session_id"),
    "outcomes": ("patient_id", "date_text", "day_text", "instrument", "score", "item9"),
    "outcomes_wide": ("patient_id", "date_text", "day_text", "item9", "score_phq9", "score_gad7", "score_pcl5",
                      "score_madrs", "score_qidssr16", "score_cadss"),
    "patients": ("patient_id", "age_band", "sex", "primary_indication", "site", "ethnicity", "deprivation_decile"),
}
# Optional stored columns and the export columns that fill them. A file without any of a column's sources
# says nothing about it: a row it repeats keeps the stored value (a narrower export does not empty it).
OPTIONAL_SOURCES = {
    "sessions": {"session_date": ("date_text",), "status": ("status",),
                 "dose_mg": ("dose_mg", "dose_mg_per_kg"), "dose_mg_per_kg": ("dose_mg", "dose_mg_per_kg"),
                 **{c: (c,) for c in ("site", "clinician_id", "adverse_events", "systolic_bp_peak",
                                      "systolic_bp_pre", "diastolic_bp_pre", "diastolic_bp_peak")}},
    "assessments": {"assessment_date": ("date_text",), "item9": ("item9",)},
    "patients": {c: (c,) for c in ("age_band", "sex", "primary_indication", "site", "ethnicity", "deprivation_decile")},
}
# Which of several lines with one natural key is kept: the first, except that a completed session beats a
# cancelled or no-show line for the same patient and day, whatever their order.
KEPT_FIRST = {"sessions": "(status = 'completed') desc, line_number", "assessments": "line_number",
              "patients": "line_number"}
SUPERSEDED = {"sessions": "first_value(status = 'completed') over same_key and status <> 'completed'"}
DATE_COLUMNS = {"session_date": "date_text", "assessment_date": "date_text",
                "session_day": "day_text", "assessment_day": "day_text"}

STRUCTURAL_REASONS = {
    "TOO MANY COLUMNS": "line has more fields than the header",
    "MISSING COLUMNS": "line has fewer fields than the header",
    "UNQUOTED VALUE": "a quote character inside an unquoted value",
    "INVALID ENCODING": "text that is not valid UTF-8",
    "LINE SIZE OVER MAXIMUM": "line is longer than 2 MB",
}
PROGRESS_BYTES = 5 * 1024 * 1024
# What the staging queries read besides the file: the dose limits and the age bands' forms.
STAGING_PARAMETERS = {**DOSE_LIMITS, "age_band_form": AGE_BAND_FORM}
_load_counter = itertools.count(1)


@dataclass
class BatchResult:
    file_name: str
    kind: str | None = None
    batch_id: int | None = None
    rows_read: int = 0
    rows_inserted: int = 0
    rows_replaced: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    rows_with_warnings: int = 0
    lines_known: int = 0  # lines an earlier batch stored as they are: counted duplicate, not checked again
    filed_before: int | None = None  # the batch of this very file that holds its rejects and warnings
    columns_ignored: list[str] = field(default_factory=list)
    date_style: str | None = None
    source: str | None = None  # how the file was read, when not plain UTF-8 CSV: "Windows-1252", "sheet 'Visits'"
    refused: str | None = None
    after: str | None = None  # what failed after this batch was stored (a full disk during the build)
    skipped: str | None = None  # a sheet or zip member that holds no export
    missing: MissingColumns | None = None  # a refusal a column mapping can answer
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> str:
        if self.skipped:
            return f"{self.file_name}: {self.skipped}."
        if self.refused:
            return f"{self.file_name}: refused, nothing stored. {self.refused}"
        text = (f"{self.file_name}: {self.kind.replace('_', ' ')}, batch {self.batch_id}: {self.rows_read} lines read, "
                f"{self.rows_inserted} inserted, {self.rows_replaced} replaced, {self.rows_duplicate} duplicate, "
                f"{self.rows_rejected} rejected")
        if self.rows_with_warnings:
            text += f", {self.rows_with_warnings} stored with warnings"
        if self.filed_before:
            text += f" (as filed with batch {self.filed_before}, the same file: not filed again)"
        if self.columns_ignored:
            text += f"; columns ignored: {', '.join(self.columns_ignored)}"
        if self.source:
            text += f"; read as {self.source}"
        if self.after:
            text += f". Stored and recorded; then {self.after}"
        return text


@dataclass
class FileScan:
    sha256: str
    size: int
    header: str
    encoding: str
    lines: int  # as an editor counts them, header included
    quotes: int = 0  # '"' characters: an odd number means a quoted value may never be closed
    delimiter: str = ","  # the header's (contract.sniff_delimiter)
    delimiters: int = 0  # how many of it the file holds
    separators: bool = True  # it holds ASCII's record or unit separator (bytes 0x1E, 0x1F): _read_positional


def _scan_ahead(path: Path) -> tuple[FileScan, tuple[int, int]]:
    """scan_file, with the size and time of change it was read at."""
    before = os.stat(path)
    return scan_file(path), (before.st_size, before.st_mtime_ns)


def _scanned(path: Path, ahead: Future | None) -> FileScan:
    """The file's scan: the one made ahead (ingest_files) when the file has not changed since, else made now."""
    if ahead is not None:
        scan, read_at = ahead.result()
        now = os.stat(path)
        if read_at == (now.st_size, now.st_mtime_ns):
            return scan
    return scan_file(path)


def scan_file(path: Path) -> FileScan:
    """One pass over the bytes: checksum, header line, encoding, number of lines, and how many of the
    header's delimiter the file holds (_lines_with_extra_fields)."""
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8"
    first, newlines, last, quotes, separators = b"", 0, b"", 0, False
    delimiter, delimiters = b",", 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            digest.update(chunk)
            if not first:
                first = chunk[: chunk.find(b"\n") + 1 or None]
                delimiter = sniff_delimiter(first.decode("latin-1")).encode()
            delimiters += chunk.count(delimiter)
            # An ASCII chunk is UTF-8 (a quick test), unless it ends a character the last chunk began.
            if encoding == "utf-8" and not (chunk.isascii() and not utf8.getstate()[0]):
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    encoding = "latin-1"  # what spreadsheet exports on Windows write instead
            newlines += chunk.count(b"\n")
            if b'"' in chunk:  # a search stops at the first; a count reads to the end
                quotes += chunk.count(b'"')
            separators = separators or b"\x1e" in chunk or b"\x1f" in chunk
            last = chunk[-1:]
    header = first.rstrip(b"\r\n").decode("utf-8-sig" if encoding == "utf-8" else encoding)
    return FileScan(digest.hexdigest(), path.stat().st_size, header, encoding, newlines + (last not in (b"\n", b"")),
                    quotes, delimiter.decode(), delimiters, separators)


def _blank_lines(path: Path) -> list[int]:
    """The numbers of the blank lines (DuckDB skips them; the lines after them keep their numbers).
    A second pass over the bytes, only for the few files that need it: searching for blank lines costs
    more than the checksum."""
    blank: set[int] = set()
    line, tail = 1, b""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            buf = tail + chunk
            if b"\n\n" in buf or b"\n\r\n" in buf:
                # Newlines are counted once, from one run of blank lines to the next (counting from the
                # chunk's start for each took minutes for a file of a million blank lines).
                before, counted = line - tail.count(b"\n"), 0  # line number at `counted`
                for run in re.finditer(rb"\n(?:\r?\n)+", buf):
                    before += buf.count(b"\n", counted, run.start())
                    counted = run.start()
                    blank.update(range(before + 1, before + run.group().count(b"\n")))
            line += chunk.count(b"\n")
            tail = buf[-2:]
    return sorted(blank)


def _read_positional(con, path: Path, layout: Layout, scan: FileScan, load: int, line_offset: int = 0,
                     joined: bool = False) -> str:
    """Read every field as text into raw_export_positional (c0, c1, ...), with each line's `raw_hash` (an MD5
    of its fields written so that no two lines' fields give one text, salted by _layout_salt: a hash an
    export can be crafted to collide with, such as DuckDB's own, would let a changed line pass as known,
    unscanned); malformed lines go to the rejects tables DuckDB fills. Returns the name of the errors
    table. `line_offset`: lines above the header that the text leaves out (a sheet's empty rows), added to
    every line number. `joined`: keep each line's fields as the one text they were hashed as (only for a
    file that holds no separator), split into c0, c1, ... only where read (raw_export_positional is then a view):
    storing a dozen texts a line costs more than reading them, and of a daily export's lines nearly all
    were stored before and are never read again."""
    n = len(layout.headers)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n)) + "}"
    errors = f"load_errors_{load}"
    read = f"""read_csv($path, auto_detect = false, header = true, delim = $delim, quote = '"', escape = '"',
                        columns = {columns}, encoding = $encoding, store_rejects = true,
                        rejects_scan = 'load_scans_{load}', rejects_table = '{errors}')"""
    parameters = {"path": str(path), "delim": layout.delimiter, "encoding": scan.encoding,
                  "salt": _layout_salt(con, layout)}
    # Each field after ASCII's unit separator, an empty one (NULL) as its record separator: the file holds
    # neither byte (scan_file), so the text splits back into the same fields. A tenth quicker than JSON.
    fields = "concat(" + ", ".join(f"chr(31), coalesce(c{i}, chr(30))" for i in range(n)) + ")"
    # The date: every line's is read (staging/date_style).
    dates = [f"c{i}" for i, c in enumerate(layout.canonical) if DATE_COLUMNS.get(c) == "date_text"]
    if joined:
        con.execute(f"""create or replace temp table raw_file as
                        select {"".join(d + ", " for d in dates)}fields, md5_number(concat($salt, fields)) as raw_hash
                        from (select {"".join(d + ", " for d in dates)}{fields} as fields from {read})""",
                    parameters)
    else:
        # With a separator in the file, as JSON: each field quoted and escaped.
        text = ("to_json([$salt, " + ", ".join(f"c{i}" for i in range(n)) + "])" if scan.separators
                else f"concat($salt, {fields})")
        con.execute(f"create or replace temp table raw_file as select *, md5_number({text}) as raw_hash from {read}",
                    parameters)
    if line_offset:
        con.execute(f"update {errors} set line = line + $offset", {"offset": line_offset})
    rejected = [r[0] - line_offset for r in con.execute(f"select distinct line from {errors}").fetchall()]
    (n_rows,) = con.execute("select count(*) from raw_file").fetchall()[0]
    # Every line after the header is a row or a rejected line, unless some are blank (or a quoted value
    # spans lines, when the search finds no blank line).
    blank = [] if n_rows + len(rejected) == scan.lines - 1 else _blank_lines(path)
    excluded = sorted(set(rejected) | set(blank))
    if not excluded:
        con.execute(f"create or replace temp view raw_export_positional as "
                    f"select rowid + {2 + int(line_offset)} as line_number, rowid as raw_row, * from raw_file")
    else:
        # Valid rows take, in order, the line numbers that were neither rejected nor blank.
        con.execute(
            """create or replace temp table raw_export_positional as
               with lines as (
                   select l from range(2, $last + 1) as t(l) where l not in (select unnest($excluded::integer[]))
               ),
               numbered as (select l, row_number() over (order by l) - 1 as r from lines)
               select numbered.l + $offset as line_number, raw_file.rowid as raw_row, raw_file.*
               from raw_file join numbered on numbered.r = raw_file.rowid
               order by line_number""",
            {"last": n_rows + len(excluded) + 1, "excluded": excluded, "offset": line_offset},
        )
    # `malformed`: some line is not one row (rejected, blank, or a value spanning lines).
    extra = _lines_with_extra_fields(path, layout, scan, malformed=n_rows != scan.lines - 1)
    if extra:
        # DuckDB keeps a line whose extra fields are all empty ("a,b,c,,"), dropping them: an unquoted
        # "45,5" dose shifts every later value one column on. The line is rejected like any other line
        # with more fields than the header.
        lines = [line + int(line_offset) for line, _found, _text in extra]
        con.execute("create or replace temp table raw_export_checked as select * from raw_export_positional "
                    "where line_number not in (select unnest($lines::bigint[]))", {"lines": lines})
        con.execute(f"drop {_temp_kind(con, 'raw_export_positional')} raw_export_positional")
        con.execute("alter table raw_export_checked rename to raw_export_positional")
        con.execute(
            f"insert into {errors} by name select unnest($lines) as line, 'TOO MANY COLUMNS' as error_type, "
            "unnest($messages) as error_message, unnest($texts) as csv_line",  # its text: scanned for identifiers
            {"lines": lines, "messages": [f"Expected Number of Columns: {len(layout.headers)} Found: {found}"
                                          for _line, found, _text in extra],
             "texts": [text for _line, _found, text in extra]},
        )
    if joined:
        con.execute(f"alter {_temp_kind(con, 'raw_export_positional')} raw_export_positional rename to raw_lines")
        cells = ", ".join(f"c{i}" if f"c{i}" in dates else f"nullif(fields[{i + 2}], chr(30)) as c{i}"
                          for i in range(n))
        con.execute(f"create temp view raw_export_positional as select line_number, raw_row, {cells}, raw_hash "
                    f"from (select * replace (string_split(fields, chr(31)) as fields) from raw_lines)")
    return errors


def _temp_kind(con, name: str) -> str:
    """'view' or 'table': what the temporary `name` is (raw_export_positional is either, as numbered)."""
    (kind,) = con.execute("select table_type from information_schema.tables where table_catalog = 'temp' "
                          "and table_name = $name", {"name": name}).fetchall()[0]
    return "view" if kind == "VIEW" else "table"


def _unclosed_quote(path: Path, layout: Layout, scan: FileScan) -> int | None:
    """The line whose quoted value runs to the end of the file (DuckDB would read every later line into
    it, and count them as one line), or None. A stray quote inside an unquoted value also makes the count
    odd; that line is DuckDB's to reject on its own."""
    with open(path, encoding=scan.encoding, errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=layout.delimiter, quotechar='"', doublequote=True, strict=True)
        start = 1
        try:
            for _row in reader:
                start = reader.line_num + 1
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                return start
    return None


def _lines_with_extra_fields(path: Path, layout: Layout, scan: FileScan,
                             malformed: bool) -> list[tuple[int, int, str]]:
    """(line number, fields, text) of each line with more fields than the header whose extra fields are
    empty, which DuckDB's reader keeps. When no quote can hide a delimiter and every line is a row (not
    `malformed`: so none is short of fields), only a file with more delimiters in all than the header's
    number on every line can hold one (scan_file counted them); else only a file with a line ending in its
    delimiter. Those quick tests over the bytes spare most files the slower parse."""
    expected = (len(layout.headers) - 1) * scan.lines
    if layout.delimiter == scan.delimiter and not scan.quotes and not malformed and scan.delimiters == expected:
        return []  # every line holds exactly the header's fields
    delimiter, tail = layout.delimiter.encode(scan.encoding), b""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            buf = tail + chunk
            if delimiter + b"\n" in buf or delimiter + b"\r" in buf:
                break
            tail = buf[-1:]
        else:
            return []  # no line ends in the delimiter
    found, width = [], len(layout.headers)
    with open(path, encoding=scan.encoding, errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=layout.delimiter, quotechar='"', doublequote=True)
        try:
            next(reader)  # the header
            start = reader.line_num + 1
            for row in reader:
                if len(row) > width and not any(row[width:]):
                    found.append((start, len(row), layout.delimiter.join(row)))
                start = reader.line_num + 1
        except csv.Error:
            pass  # a line the csv module cannot read is DuckDB's to reject; the lines found so far stand
    return found


def _name_contract_columns(con, layout: Layout, source: str = "raw_export_positional") -> None:
    """raw_export: the positional columns of `source` under the contract's names (missing optional ones as
    null)."""
    positions = {}
    for i, canonical in enumerate(layout.canonical):
        if canonical:
            positions[DATE_COLUMNS.get(canonical, canonical)] = i
    select = ", ".join(
        f"c{positions[c]} as {c}" if c in positions else f"null::varchar as {c}" for c in RAW_COLUMNS[layout.kind]
    )
    con.execute(f"create or replace temp view raw_export as select line_number, {select} from {source}")


# The hash a stored row keeps of its export line: a wide outcomes line gives one row per score.
# Hashes are 127 bits as a HUGEINT: pandas cannot take DuckDB's unsigned 128-bit integers (a table read whole).
ROW_HASH = {"outcomes_wide": "xor(line_hash, (md5_number(instrument) >> 1)::hugeint)"}


@functools.cache
def _staging_code() -> str:
    """The code that decides how a line is staged, or whether its file is refused (the identifier patterns):
    when it changes, every line is new to the hash."""
    texts = [p.read_text() for p in sorted((store.QUERIES / "staging").glob("*.sql"))]
    texts.append(Path(privacy.__file__).read_text())
    return hashlib.sha256(repr((texts, store.sql("macros"), sorted(STAGING_PARAMETERS.items()))).encode()).hexdigest()


def _layout_salt(con, layout: Layout) -> str:
    """What besides a line's text and the file's date style decides how it is staged: the staging code, the
    names and instruments it reads, the file's header and mapping."""
    (tables,) = con.execute("select md5(coalesce(string_agg(t, '|' order by t), '')) from ("
                            "select a::varchar as t from aliases as a union all "
                            "select i::varchar from instruments as i)").fetchall()[0]
    return hashlib.sha256(repr((_staging_code(), tables, layout.kind, layout.headers, layout.canonical)).encode()
                          ).hexdigest()


def _hash_lines(con, layout: Layout, date_style: str | None) -> int:
    """line_hashes: each line's hash (its raw_hash with the file's date style): an equal hash means staging
    the line again would give the row it gave before. `is_known`: every row the line gives (a wide line
    gives one per score) is stored with its hash. known_rows: those rows. Returns the number of known lines."""
    (stored_rows,) = con.execute(f"select count(*) from {layout.table}").fetchall()[0]
    # Rows an older version stored have no hash; an IN over a list holding NULL would answer NULL, not false.
    stored = f"(select source_hash from {layout.table} where source_hash is not null)"
    wide = layout.kind == "outcomes_wide"
    known = f"line_hash in {stored}" if stored_rows and not wide else "false"
    con.execute(f"create or replace temp table line_hashes as "
                f"select *, {known} as is_known from ("
                f"    select line_number, raw_row, (xor(raw_hash, md5_number($date_style)) >> 1)::hugeint as line_hash "
                f"    from raw_export_positional)",
                {"date_style": date_style or ""})
    if wide and stored_rows:
        con.execute(f"""
            create or replace temp table wide_rows as
            select line_number, {ROW_HASH[layout.kind]} as row_hash, row_hash in {stored} as is_stored
            from ({store.sql('staging/outcomes_wide_to_long')}) join line_hashes using (line_number)
        """)
        con.execute("update line_hashes set is_known = true where line_number in "
                    "(select line_number from wide_rows group by line_number having bool_and(is_stored))")
        con.execute("create or replace temp table known_rows as select line_number, row_hash from wide_rows "
                    "semi join (select line_number from line_hashes where is_known) using (line_number)")
    else:
        con.execute("create or replace temp table known_rows as "
                    "select line_number, line_hash as row_hash from line_hashes where is_known")
    return con.execute("select count(*) from line_hashes where is_known").fetchall()[0][0]


def _restage_known_conflicts(con, layout: Layout, date_style: str) -> int:
    """A known line whose key a changed line of this file also has is staged after all: which of the two
    is kept (or whether they conflict) is decided between them, as if neither had been seen before.
    Returns how many lines that was."""
    keys = KEYS[layout.table]
    on_key = " and ".join(f"stored.{k} = changed.{k}" for k in keys)
    (n,) = con.execute(f"""
        create or replace temp table restage_lines as
        select distinct line_number
        from known_rows
        -- The stored rows of the changed lines' keys are few: looked up first, then the known lines among them.
        where row_hash in (
            select stored.source_hash
            from {layout.table} as stored
            join (select distinct {", ".join(keys)} from staged where len(problems) = 0) as changed on {on_key}
        )
    """).fetchall()[0]
    if not n:
        return 0
    con.execute("create or replace temp table raw_restage as select * from raw_export_positional "
                "semi join restage_lines using (line_number)")
    _name_contract_columns(con, layout, "raw_restage")
    _stage(con, layout, date_style, into="staged_more")
    con.execute("insert into staged select * from staged_more")
    con.execute("delete from known_rows where line_number in (select line_number from restage_lines)")
    return n


def _stage(con, layout: Layout, date_style: str, into: str = "staged") -> None:
    if layout.kind == "outcomes_wide":
        con.execute("create or replace temp view raw_outcomes as " + store.sql("staging/outcomes_wide_to_long"))
    elif layout.kind == "outcomes":
        con.execute("create or replace temp view raw_outcomes as select *, 'score' as score_column from raw_export")
    staging = "outcomes" if layout.kind.startswith("outcomes") else layout.kind
    store.run(con, f"staging/{staging}", {"date_style": date_style, **STAGING_PARAMETERS}, into=into)


def _file_rejects(con, layout: Layout, batch_id: int, errors_table: str) -> None:
    """Malformed lines (from DuckDB) and lines with problems (from staging) into `rejects`, with the
    column named as the export names it. A malformed line is filed by number and reason only: its text
    cannot be split into the header's fields, so what it holds (an age over 89, free text in an ignored
    column) cannot be checked, and it is not kept."""
    header_of = pd.DataFrame(
        [(c, h) for c, h in zip(layout.canonical, layout.headers) if c],
        columns=["canonical", "header"],
    )
    con.register("header_of", header_of)
    con.execute(
        f"""insert into rejects
            select $batch, errors.line, null, null,
                   coalesce(reasons.reason, lower(errors.error_type)) || ' (' || errors.error_message || ')'
            from (select * from {errors_table} qualify row_number() over (partition by line order by column_idx) = 1)
                 as errors  -- DuckDB may report one malformed line more than once: it is one rejected line
            left join (select unnest($types) as error_type, unnest($reasons) as reason) as reasons using (error_type)""",
        {"batch": batch_id, "types": list(STRUCTURAL_REASONS), "reasons": list(STRUCTURAL_REASONS.values())},
    )
    con.execute(
        """insert into rejects
           select $batch, s.line_number, coalesce(h.header, p.column_name), p.value, p.reason
           from (select line_number, unnest(problems) as p from staged where len(problems) > 0) as s
           left join header_of as h on h.canonical = s.p.column_name""",
        {"batch": batch_id},
    )
    con.execute(
        """insert into warnings
           select $batch, s.line_number, coalesce(h.header, w.column_name), w.value, w.reason
           from (select line_number, unnest(warnings) as w from staged
                 where len(problems) = 0 and len(warnings) > 0) as s
           left join header_of as h on h.canonical = s.w.column_name""",
        {"batch": batch_id},
    )
    con.unregister("header_of")


def _problems(con, table: str, batch_id: int) -> pd.DataFrame:
    """The rejects or warnings one batch filed, as the summary shows them."""
    return con.execute(f"select line_number, column_name, value, reason from {table} where batch_id = $batch "
                       "order by line_number, column_name", {"batch": batch_id}).df()


def _unfile_repeats(con, batch_id: int, sha256: str) -> int | None:
    """A re-upload of the very same file (same bytes, an earlier batch not undone) files no reject or
    warning twice: the ones the earlier batch holds are taken back from this one, which still counts
    them. Returns that earlier batch, when any were taken back."""
    earlier = con.execute("select min(batch_id) from batches where sha256 = $sha and undone_at is null",
                          {"sha": sha256}).fetchall()[0][0]
    if earlier is None:
        return None
    taken_back = 0
    for table in ("rejects", "warnings"):
        (n,) = con.execute(f"""
            delete from {table} as new
            using (select line_number, column_name, value, reason from {table} where batch_id = $earlier) as old
            where new.batch_id = $batch and new.line_number = old.line_number and new.reason = old.reason
              and new.column_name is not distinct from old.column_name and new.value is not distinct from old.value
        """, {"batch": batch_id, "earlier": earlier}).fetchall()[0]
        taken_back += n
    return earlier if taken_back else None


def _absent(layout: Layout) -> list[str]:
    """The optional stored columns this file has no column for."""
    present = {DATE_COLUMNS.get(c, c) for c in layout.canonical if c}
    return [column for column, sources in OPTIONAL_SOURCES[layout.table].items()
            if not present.intersection(sources)]


def _merge(con, table: str, batch_id: int, absent: list[str] = (), row_hash: str = "line_hash") -> dict[str, int]:
    """Merge the good staged rows into `table` on its natural key; returns the counts. `absent`: columns
    the file does not have, which keep their stored values in a row it repeats. `row_hash`: each row's
    hash of its line (ROW_HASH), stored with it. The patients whose rows changed are marked stale."""
    keys, values = KEYS[table], VALUES[table]
    key_list, value_list = ", ".join(keys), ", ".join(values)
    # Most keys appear once in a file; only repeated keys (a small table, usually empty) are ranked
    # against their first line. Everything else reads the good staged rows once.
    con.execute(f"""
        create or replace temp table repeated as
        select {key_list} from staged where len(problems) = 0 group by {key_list} having count(*) > 1
    """)
    con.execute(f"""
        create or replace temp view ranked as
        with good as (
            -- A line with a warning keeps no hash: it is checked again each time, so its warnings are
            -- filed again exactly as checking files them.
            select {key_list}, {value_list}, line_number, case when len(warnings) = 0 then {row_hash} end as source_hash
            from staged join line_hashes using (line_number)
            where len(problems) = 0
        )
        select *, line_number as first_line, 1 as nth, true as same_as_first, false as superseded,
        from good anti join repeated using ({key_list})
        union all by name
        select {key_list}, {value_list}, line_number, source_hash,
               first_value(line_number) over same_key as first_line,
               row_number() over same_key as nth,
               row({value_list}) is not distinct from first_value(row({value_list})) over same_key as same_as_first,
               {SUPERSEDED.get(table, "false")} as superseded,
        from good semi join repeated using ({key_list})
        window same_key as (partition by {key_list} order by {KEPT_FIRST[table]})
    """)
    key_label = ", ".join(k.removesuffix("_id").replace("_", " ") for k in keys)
    con.execute(
        "insert into rejects select $batch, line_number, null, null, "
        "format('same {} as line {} but different values; line {} is kept', $key_label, first_line, first_line) "
        "from ranked where nth > 1 and not same_as_first and not superseded",
        {"batch": batch_id, "key_label": key_label},
    )
    if table in SUPERSEDED:
        con.execute(
            "insert into warnings select $batch, line_number, 'status', status, "
            "format('{} on the same {} as completed line {}; the completed line is kept', status, $key_label, "
            "first_line) from ranked where nth > 1 and superseded",
            {"batch": batch_id, "key_label": key_label},
        )
    (same_as_first,) = con.execute(
        "select count(*) from ranked where nth > 1 and (same_as_first or superseded)").fetchall()[0]
    (stored_rows,) = con.execute(f"select count(*) from {table}").fetchall()[0]
    if not stored_rows:
        # Nothing stored yet (a network's first load): every first line of a key is new, and nothing is
        # compared or copied on the way in.
        (inserted,) = con.execute(f"insert into {table} ({key_list}, {value_list}, batch_id, line_number, source_hash) "
                                  f"select {key_list}, {value_list}, $batch, line_number, source_hash "
                                  "from ranked where nth = 1", {"batch": batch_id}).fetchall()[0]
        con.execute(f"insert into stale_patients select distinct patient_id, $table from {table}", {"table": table})
        return {"rows_inserted": inserted, "rows_replaced": 0, "rows_duplicate": same_as_first}
    on_key = " and ".join(f"stored.{k} = incoming.{k}" for k in keys)
    effective = {v: (f"case when stored.{keys[0]} is null then incoming.{v} else stored.{v} end"
                     if v in absent else f"incoming.{v}") for v in values}
    incoming_values = ", ".join(effective.values())
    stored_values = ", ".join(f"stored.{v}" for v in values)
    con.execute(f"""
        create or replace temp table classified as
        select {", ".join(f"incoming.{k}" for k in keys)}, {", ".join(f"{e} as {v}" for v, e in effective.items())},
               incoming.line_number, incoming.source_hash, stored.source_hash as stored_hash,
               case when stored.{keys[0]} is null then 'new'
                    when row({incoming_values}) is not distinct from row({stored_values}) then 'duplicate'
                    else 'replace' end as action,
               case when action = 'replace'
                    then to_json(struct_pack({", ".join(f"{v} := stored.{v}" for v in (*values, "batch_id", "line_number",
                                                                                  "source_hash"))}))
               end as old_values,
        from (select * from ranked where nth = 1) as incoming
        left join {table} as stored on {on_key}
    """)
    con.execute(f"""
        insert into replacements
        select $batch, line_number, $table,
               to_json(struct_pack({", ".join(f"{k} := {k}" for k in keys)})),
               old_values,
               to_json(struct_pack({", ".join(f"{v} := {v}" for v in values)}))
        from classified where action = 'replace'
    """, {"batch": batch_id, "table": table})
    # A replaced row is deleted and inserted with its new values, not updated where it is: the next checkpoint
    # writes again, in full, every column an update touched here and there (the line hashes of 1% of 10
    # million assessments: 0.4 s, against 0.2 s for their deletion and the new rows). The price: a deleted
    # row's space is reclaimed only as checkpoints merge thinned row groups (a model correcting 1% of rows
    # every day levelled off at 1.6 times the table's size).
    con.execute(f"delete from {table} as stored using (select {key_list} from classified where action = 'replace') "
                f"as incoming where {on_key}")
    con.execute(f"insert into {table} ({key_list}, {value_list}, batch_id, line_number, source_hash) "
                f"select {key_list}, {value_list}, $batch, line_number, source_hash from classified "
                "where action in ('new', 'replace')", {"batch": batch_id})
    con.execute("insert into stale_patients select distinct patient_id, $table from classified where action <> 'duplicate'",
                {"table": table})
    # A duplicate written differently ("45 mg" for "45", an older database's rows without a hash) takes this
    # line's hash, so that tomorrow's same line is known without staging.
    con.execute(f"update {table} as stored set source_hash = incoming.source_hash "
                f"from (select * from classified where action = 'duplicate' "
                f"      and stored_hash is distinct from source_hash) as incoming where {on_key}")
    new, replaced, duplicate = con.execute(
        "select count(*) filter (where action = 'new'), count(*) filter (where action = 'replace'), "
        "count(*) filter (where action = 'duplicate') from classified"
    ).fetchall()[0]
    return {"rows_inserted": new, "rows_replaced": replaced, "rows_duplicate": duplicate + same_as_first}


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
        scan = _scanned(path, ahead)
        # Identifiers first: the privacy reason is the one to give, whatever else is wrong.
        check_file_name(result.file_name)
        check_headers(split_header(scan.header, sniff_delimiter(scan.header)))
        layout = read_layout(scan.header, mapping, kind)
        if scan.quotes % 2:
            opened = _unclosed_quote(path, layout, scan)
            if opened:
                raise RefusedFile(
                    f"line {opened + line_offset}: a quoted value is opened there and never closed, so every line "
                    "after it would be read as part of that value. Close the quote (or remove it) and export again."
                )
        result.kind, result.columns_ignored = layout.kind, layout.ignored
        # A file most of whose lines may be stored already (a wide line gives several rows: _hash_lines), and
        # whose text can be joined with the separators (_read_positional).
        joined = (layout.kind != "outcomes_wide" and not scan.separators
                  and con.execute(f"select exists (from {layout.table})").fetchall()[0][0])
        try:
            errors_table = _read_positional(con, path, layout, scan, load, line_offset, joined)
        except duckdb.Error as error:
            raise RefusedFile(f"could not be read as CSV: {str(error).splitlines()[0]}") from error
        _name_contract_columns(con, layout)
        date_style = None
        if "date_text" in RAW_COLUMNS[layout.kind]:
            declared = date_format or layout.date_format or "auto"
            date_style = store.run(con, "staging/date_style", {"declared": declared}).fetchall()[0][0]
        result.date_style = date_style
        known = _hash_lines(con, layout, date_style)
        if known:
            con.execute("create or replace temp table raw_pending as select * from raw_export_positional "
                        "where raw_row in (select raw_row from line_hashes where not is_known)")
        say(f"{result.file_name}: checking for direct identifiers", 0.3)
        # A known line was scanned when it was stored; a malformed line never is known.
        check_identifier_values(con, layout, errors_table,
                                "raw_pending" if known else "raw_export_positional" if joined else "raw_file")
        say(f"{result.file_name}: checking {layout.kind.replace('_', ' ')} lines", 0.45)
        if known:
            _name_contract_columns(con, layout, "raw_pending")
        _stage(con, layout, date_style)
        if known:
            known -= _restage_known_conflicts(con, layout, date_style)
        result.lines_known = known
        say(f"{result.file_name}: storing", 0.7)
        # Whether each line is new, a duplicate or a replacement is decided against the stored rows inside
        # the writing transaction: an upload of the same export at the same moment (another browser) waits
        # for this one's turn to end (store.transaction) and finds its lines stored.
        def store_batch():
            (batch_id,) = con.execute("select nextval('batch_ids')").fetchall()[0]
            _file_rejects(con, layout, batch_id, errors_table)
            counts = _merge(con, layout.table, batch_id, _absent(layout), ROW_HASH.get(layout.kind, "line_hash"))
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
            result.rejects, result.warnings = _problems(con, "rejects", batch_id), _problems(con, "warnings", batch_id)
            result.filed_before = _unfile_repeats(con, batch_id, scan.sha256)
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

        batch_id, counts, rows_read, rejected, warned = store.transaction(con, store_batch)
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


def upload_detail(file_name: str, batch_id: int | None) -> str:
    """The audit trail's words for one export of an upload (a name that holds an identifier withheld)."""
    return f"{privacy.safe_file_name(file_name)}: " + ("refused" if batch_id is None else f"batch {batch_id}")


def by_reason(problems: pd.DataFrame, examples: int = 3) -> pd.DataFrame:
    """Rejects or warnings counted by column and reason, with the first few lines as examples. Values
    quoted in a reason and line numbers are left out of its grouping ("line 12 is kept" -> "line N is kept")."""
    if problems.empty:
        return pd.DataFrame(columns=["column_name", "reason", "n_lines", "examples"])
    frame = problems.assign(
        column_name=problems.column_name.fillna("-"),
        reason=problems.reason.str.replace(r"'[^']*'", "'...'", regex=True)
        .str.replace(r"\b(line|batch) \d+", r"\1 N", regex=True).str.replace(r"\(\d+\)", "(N)", regex=True),
        example=[f"line {line}" + ("" if pd.isna(value) else f": {value!r}")
                 for line, value in zip(problems.line_number, problems.value)],
    )
    grouped = frame.groupby(["column_name", "reason"], sort=False).agg(
        n_lines=("line_number", "nunique"), examples=("example", lambda e: "; ".join(e.head(examples))))
    return grouped.reset_index().sort_values("n_lines", ascending=False, kind="stable").reset_index(drop=True)


def undo_batch(con: duckdb.DuckDBPyConnection, batch_id: int) -> str:
    """Remove what one batch inserted and put back what it replaced, in one transaction, recorded in the
    history as a batch of kind 'undo'. A row that a later batch changed again is left as it is (said
    so). Raises ValueError for a batch that does not exist or was already undone."""
    # Checked inside the transaction: two analysts undoing one batch at the same moment undo it once.
    def undo():
        found = con.execute("select kind, undone_at, file_name from batches where batch_id = $b",
                            {"b": batch_id}).fetchall()
        if not found:
            raise ValueError(f"no batch {batch_id}")
        kind, undone_at, file_name = found[0]
        if kind == "undo":
            raise ValueError(f"batch {batch_id} is itself an undo")
        if undone_at is not None:
            raise ValueError(f"batch {batch_id} was already undone at {str(undone_at)[:19]}")
        table = "assessments" if kind.startswith("outcomes") else kind
        keys, values = KEYS[table], VALUES[table]
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_name = $t and table_schema = 'main'", {"t": table}).fetchall())
        old_shape = "{" + ", ".join(f'"{c}": "{types[c]}"' for c in (*values, "batch_id", "line_number", "source_hash")) + "}"
        key_shape = "{" + ", ".join(f'"{c}": "{types[c]}"' for c in keys) + "}"
        on_key = " and ".join(f"stored.{k} = r.natural_key.{k}" for k in keys)
        (undo_id,) = con.execute("select nextval('batch_ids')").fetchall()[0]
        con.execute(f"""
            create or replace temp table undo_restore as
            with replaced as (
                select json_transform(natural_key, '{key_shape}') as natural_key,
                       json_transform(old_values, '{old_shape}') as old,
                from replacements where batch_id = $b and kind = $table
            )
            select r.*, exists (select 1 from {table} as stored where {on_key} and stored.batch_id = $b) as still_ours,
            from replaced as r
        """, {"b": batch_id, "table": table})
        (kept_later,) = con.execute("select count(*) from undo_restore where not still_ours").fetchall()[0]
        con.execute(f"insert into stale_patients select distinct patient_id, $table from {table} where batch_id = $b "
                    "union select natural_key.patient_id, $table from undo_restore where still_ours",
                    {"b": batch_id, "table": table})
        (removed,) = con.execute(f"delete from {table} where batch_id = $b", {"b": batch_id}).fetchall()[0]
        (restored,) = con.execute(f"""
            insert into {table} ({", ".join(keys)}, {", ".join(values)}, batch_id, line_number, source_hash)
            select {", ".join(f"natural_key.{k}" for k in keys)}, {", ".join(f"old.{v}" for v in values)},
                   coalesce(old.batch_id, 0), coalesce(old.line_number, 0), old.source_hash
            from undo_restore where still_ours
        """).fetchall()[0]
        con.execute("update batches set undone_at = current_timestamp::timestamp where batch_id = $b", {"b": batch_id})
        con.execute(
            "insert into batches (batch_id, file_name, sha256, kind, rows_read, rows_inserted, rows_replaced, "
            "rows_duplicate, rows_rejected, loaded_at, source) values ($id, $name, '', 'undo', 0, 0, $restored, 0, 0, "
            "current_timestamp::timestamp, $source)",
            {"id": undo_id, "name": f"undo of batch {batch_id} ({file_name})", "restored": restored,
             "source": f"removed {removed - restored} rows, restored {restored}"},
        )
        return file_name, undo_id, removed, restored, kept_later

    try:
        file_name, undo_id, removed, restored, kept_later = store.transaction(con, undo)
    finally:
        con.execute("drop table if exists temp.undo_restore")
    text = (f"batch {batch_id} ({file_name}) undone as batch {undo_id}: {removed - restored} inserted rows removed, "
            f"{restored} replaced rows restored")
    if kept_later:
        text += f"; {kept_later} rows changed again by a later batch were left as they are"
    return text


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


class StoredThenFailed(Exception):
    """Some exports were stored (each committed with its audit row) before a later step failed: another
    file's transaction, the metric build or the checkpoint (a full disk). `results` holds what was done,
    each stored batch with `after` saying what failed; `failed`, the file whose transaction failed, if any."""

    def __init__(self, results: list[BatchResult], error: BaseException, failed: Path | None):
        super().__init__(str(error))
        self.results, self.error, self.failed = results, error, failed


def stored_then_failed(results: list[BatchResult], error: BaseException, failed: Path | None,
                        stage: str) -> StoredThenFailed:
    reason = (str(store.fault(error, "the database") or error).split(": ", 1)[-1]).split(";")[0]
    what = {
        "storing": f"{failed.name if failed else 'the next file'} could not be stored ({reason}; nothing of it "
                   "was stored)",
        "building": f"the metric tables could not be rebuilt ({reason}): the pages show the data before this "
                    "upload until the next ingest, settings change or `ketamine-outcomes weekly` rebuilds them",
        "checkpoint": f"the database file could not be updated ({reason}): the stored rows are safe in its log "
                      "(.wal, replayed when it is next opened), which is written into the file once there is space",
    }[stage]
    for result in results:
        if result.batch_id is not None:
            result.after = what
    return StoredThenFailed(results, error, failed)


def ingest_files(db_path: str | Path, paths, date_format: str | None = None,
                 progress: Callable[..., None] | None = None, wait_seconds: float = 0,
                 on_wait: Callable[[], None] | None = None, mapping: dict[str, str] | None = None,
                 kind: str | None = None, init: bool = True, announce: bool = False,
                 recorded_as: tuple[str, str] | None = None) -> list[BatchResult]:
    """Ingest several files into the database at db_path, each export in its own transaction, then
    rebuild the metrics' intermediate tables once. Waits up to wait_seconds for another process's lock.
    `init`: create the database when there is none (store.connect). `announce`: leave a reading copy and
    a status file for the dashboard while the file is held (busy.py; the command line's ingest does)."""
    paths = [Path(p) for p in paths]
    con = store.connect(db_path, wait_seconds=wait_seconds, on_wait=on_wait, init=init)
    # Each file's bytes are checked (scan_file: checksum, lines, quotes) on a thread, in turn, while DuckDB
    # works on the files before it: 2 s of Python for a network's 885 MB, most of it hidden so.
    scanning = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-ahead")
    results, current, stage = [], None, "storing"
    try:
        ahead = {p: scanning.submit(_scan_ahead, p) for p in paths}
        # What is said must be what happened: once a batch is committed, a failure after it (a full disk
        # during the next file, the build or the checkpoint) is reported with the batches it leaves stored.
        try:
            with busy.announced(con, db_path, paths) if announce else contextlib.nullcontext(), \
                    store.one_checkpoint(con):
                for current in paths:
                    results += ingest_export(con, current, date_format, progress=progress, mapping=mapping,
                                             kind=kind, ahead=ahead[current], recorded_as=recorded_as)
                current, stage = None, "building"
                if progress:
                    progress("building treatment series and weekly outcomes", 0.9)
                metrics.ensure_built(con)
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
