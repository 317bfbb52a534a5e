"""Undoing a batch: the rows it inserted removed, the rows it replaced restored, recorded as a batch."""

import duckdb

from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.stage import KEYS, VALUES


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
        file_name, undo_id, removed, restored, kept_later = database.transaction(con, undo)
    finally:
        con.execute("drop table if exists temp.undo_restore")
    text = (f"batch {batch_id} ({file_name}) undone as batch {undo_id}: {removed - restored} inserted rows removed, "
            f"{restored} replaced rows restored")
    if kept_later:
        text += f"; {kept_later} rows changed again by a later batch were left as they are"
    return text
