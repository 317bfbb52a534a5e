"""Reading an export into DuckDB and staging it: every field as text, each line's hash (an MD5 of an
injective text, salted by what decides how it is staged), the lines already stored left out, and the
staging queries that parse what is left."""

import functools
import hashlib
from pathlib import Path

from ketamine_outcomes import privacy
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.contract import AGE_BAND_FORM, Layout
from ketamine_outcomes.definitions import DOSE_LIMITS
from ketamine_outcomes.ingest.scan import FileScan, blank_lines, lines_with_extra_fields


# Natural key (unique in the store) and stored values of each table; identifiers in generated SQL come only
# from here.
KEYS = database.NATURAL_KEYS
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


# What the staging queries read besides the file: the dose limits and the age bands' forms.
STAGING_PARAMETERS = {**DOSE_LIMITS, "age_band_form": AGE_BAND_FORM}


def read_positional(con, path: Path, layout: Layout, scan: FileScan, load: int, line_offset: int = 0,
                     joined: bool = False) -> str:
    """Read every field as text into raw_export_positional (c0, c1, ...), with each line's `raw_hash` (an MD5
    of its fields written so that no two lines' fields give one text, salted by layout_salt: a hash an
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
                  "salt": layout_salt(con, layout)}
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
    blank = [] if n_rows + len(rejected) == scan.lines - 1 else blank_lines(path)
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
    extra = lines_with_extra_fields(path, layout, scan, malformed=n_rows != scan.lines - 1)
    if extra:
        # DuckDB keeps a line whose extra fields are all empty ("a,b,c,,"), dropping them: an unquoted
        # "45,5" dose shifts every later value one column on. The line is rejected like any other line
        # with more fields than the header.
        lines = [line + int(line_offset) for line, _found, _text in extra]
        con.execute("create or replace temp table raw_export_checked as select * from raw_export_positional "
                    "where line_number not in (select unnest($lines::bigint[]))", {"lines": lines})
        con.execute(f"drop {temp_kind(con, 'raw_export_positional')} raw_export_positional")
        con.execute("alter table raw_export_checked rename to raw_export_positional")
        con.execute(
            f"insert into {errors} by name select unnest($lines) as line, 'TOO MANY COLUMNS' as error_type, "
            "unnest($messages) as error_message, unnest($texts) as csv_line",  # its text: scanned for identifiers
            {"lines": lines, "messages": [f"Expected Number of Columns: {len(layout.headers)} Found: {found}"
                                          for _line, found, _text in extra],
             "texts": [text for _line, _found, text in extra]},
        )
    if joined:
        con.execute(f"alter {temp_kind(con, 'raw_export_positional')} raw_export_positional rename to raw_lines")
        cells = ", ".join(f"c{i}" if f"c{i}" in dates else f"nullif(fields[{i + 2}], chr(30)) as c{i}"
                          for i in range(n))
        con.execute(f"create temp view raw_export_positional as select line_number, raw_row, {cells}, raw_hash "
                    f"from (select * replace (string_split(fields, chr(31)) as fields) from raw_lines)")
    return errors


def temp_kind(con, name: str) -> str:
    """'view' or 'table': what the temporary `name` is (raw_export_positional is either, as numbered)."""
    (kind,) = con.execute("select table_type from information_schema.tables where table_catalog = 'temp' "
                          "and table_name = $name", {"name": name}).fetchall()[0]
    return "view" if kind == "VIEW" else "table"


def name_contract_columns(con, layout: Layout, source: str = "raw_export_positional") -> None:
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
def staging_code() -> str:
    """The code that decides how a line is staged, or whether its file is refused (the identifier patterns):
    when it changes, every line is new to the hash."""
    texts = [p.read_text() for p in sorted((database.QUERIES / "staging").glob("*.sql"))]
    texts.append(Path(privacy.__file__).read_text())
    return hashlib.sha256(repr((texts, database.sql("macros"), sorted(STAGING_PARAMETERS.items()))).encode()).hexdigest()


def layout_salt(con, layout: Layout) -> str:
    """What besides a line's text and the file's date style decides how it is staged: the staging code, the
    names and instruments it reads, the file's header and mapping."""
    (tables,) = con.execute("select md5(coalesce(string_agg(t, '|' order by t), '')) from ("
                            "select a::varchar as t from aliases as a union all "
                            "select i::varchar from instruments as i)").fetchall()[0]
    return hashlib.sha256(repr((staging_code(), tables, layout.kind, layout.headers, layout.canonical)).encode()
                          ).hexdigest()


def hash_lines(con, layout: Layout, date_style: str | None) -> int:
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
            from ({database.sql('staging/outcomes_wide_to_long')}) join line_hashes using (line_number)
        """)
        con.execute("update line_hashes set is_known = true where line_number in "
                    "(select line_number from wide_rows group by line_number having bool_and(is_stored))")
        con.execute("create or replace temp table known_rows as select line_number, row_hash from wide_rows "
                    "semi join (select line_number from line_hashes where is_known) using (line_number)")
    else:
        con.execute("create or replace temp table known_rows as "
                    "select line_number, line_hash as row_hash from line_hashes where is_known")
    return con.execute("select count(*) from line_hashes where is_known").fetchall()[0][0]


def restage_known_conflicts(con, layout: Layout, date_style: str) -> int:
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
    name_contract_columns(con, layout, "raw_restage")
    stage_rows(con, layout, date_style, into="staged_more")
    con.execute("insert into staged select * from staged_more")
    con.execute("delete from known_rows where line_number in (select line_number from restage_lines)")
    return n


def stage_rows(con, layout: Layout, date_style: str, into: str = "staged") -> None:
    if layout.kind == "outcomes_wide":
        con.execute("create or replace temp view raw_outcomes as " + database.sql("staging/outcomes_wide_to_long"))
    elif layout.kind == "outcomes":
        con.execute("create or replace temp view raw_outcomes as select *, 'score' as score_column from raw_export")
    staging = "outcomes" if layout.kind.startswith("outcomes") else layout.kind
    database.run(con, f"staging/{staging}", {"date_style": date_style, **STAGING_PARAMETERS}, into=into)
