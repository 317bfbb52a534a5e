"""Storing a staged batch: its rejects and warnings filed, a repeat of a stored file recognised, and
the merge that inserts new rows and replaces changed ones."""

import pandas as pd

from ketamine_outcomes.ingest.contract import Layout
from ketamine_outcomes.ingest.stage import (
    DATE_COLUMNS, KEPT_FIRST, KEYS, OPTIONAL_SOURCES, STRUCTURAL_REASONS, SUPERSEDED, VALUES,
)


def file_rejects(con, layout: Layout, batch_id: int, errors_table: str) -> None:
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


def batch_problems(con, table: str, batch_id: int) -> pd.DataFrame:
    """The rejects or warnings one batch filed, as the summary shows them."""
    return con.execute(f"select line_number, column_name, value, reason from {table} where batch_id = $batch "
                       "order by line_number, column_name", {"batch": batch_id}).df()


def unfile_repeats(con, batch_id: int, sha256: str) -> int | None:
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


def absent_columns(layout: Layout) -> list[str]:
    """The optional stored columns this file has no column for."""
    present = {DATE_COLUMNS.get(c, c) for c in layout.canonical if c}
    return [column for column, sources in OPTIONAL_SOURCES[layout.table].items()
            if not present.intersection(sources)]


def ever_built(con) -> bool:
    """Whether the metric tables were ever built here (build_state exists). Before that the next build is a
    full one, which reads no list of changed patients: a first load writes none (at 100k patients, 300,000
    rows written to the log and deleted again by the build)."""
    (n,) = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                       "and schema_name = 'main' and table_name = 'build_state'").fetchall()[0]
    return n > 0


def merge_staged(con, table: str, batch_id: int, absent: list[str] = (), row_hash: str = "line_hash") -> dict[str, int]:
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
    (n_repeated,) = con.execute("select count(*) from repeated").fetchall()[0]
    # With no repeated key, no line is ranked: the second half would still join the staged rows with their
    # hashes again before its semi join found nothing (a first load at 100k: 0.2 s of CPU).
    ranked_repeats = "" if not n_repeated else f"""
        union all by name
        select {key_list}, {value_list}, line_number, source_hash,
               first_value(line_number) over same_key as first_line,
               row_number() over same_key as nth,
               row({value_list}) is not distinct from first_value(row({value_list})) over same_key as same_as_first,
               {SUPERSEDED.get(table, "false")} as superseded,
        from good semi join repeated using ({key_list})
        window same_key as (partition by {key_list} order by {KEPT_FIRST[table]})"""
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
        from good anti join repeated using ({key_list}){ranked_repeats}
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
        if ever_built(con):
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
