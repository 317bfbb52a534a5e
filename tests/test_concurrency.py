"""Guards simultaneous writers: one export ingested twice at the same moment is stored once, two different
exports at once both land without an error, a database holding rows stored twice by an earlier version
opens with the newest copy kept, and a widget changed after an upload never stores the file again. The
browser side (two chromium pages uploading one file at once) is in test_concurrency_browser.py."""

import logging
import threading

import pytest

from conftest import SAMPLE_FILES, numbers_in, open_app
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_file, undo_batch

# 4 lines, 3 patients, 4 distinct (patient, day, session) keys.
SESSIONS = "patient_id,session_day,route\nP1,0,IV\nP1,3,IV\nP2,0,IM\nP3,0,oral\n"
# 3 lines, 2 patients.
OUTCOMES = "patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,20\nP1,7,PHQ-9,12\nP2,0,PHQ-9,18\n"


def ingest_together(db_path, paths) -> list:
    """Ingest each file on its own thread and cursor of one connection (as the dashboard's script runs do),
    all entering their writing transaction at the same moment; returns the results or the exceptions."""
    con = database.connect(db_path)
    storing = threading.Barrier(len(paths), timeout=30)
    outcomes = [None] * len(paths)

    def run(n, path):
        cursor = con.cursor()

        def progress(message, fraction=None):
            if message.endswith(": storing"):
                storing.wait()  # both are staged; both now write

        try:
            outcomes[n] = ingest_file(cursor, path, progress=progress)
        except Exception as error:  # the test reports it
            outcomes[n] = error
        finally:
            cursor.close()

    threads = [threading.Thread(target=run, args=(n, p)) for n, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    con.close()
    return outcomes


@pytest.mark.parametrize("attempt", range(3))
def test_one_export_ingested_twice_at_once_is_stored_once(db_path, export, attempt):
    path = export("sessions.csv", SESSIONS)
    first, second = ingest_together(db_path, [path, path])
    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    assert sorted([(first.rows_inserted, first.rows_duplicate), (second.rows_inserted, second.rows_duplicate)]) \
        == [(0, 4), (4, 0)]
    with database.open_file(db_path, read_only=True) as con:
        assert con.execute("select count(*), count(distinct (patient_id, session_day, session_id)) from sessions"
                           ).fetchall() == [(4, 4)]
        assert con.execute("select count(*) from batches").fetchall() == [(2,)]


def test_two_different_exports_at_once_both_land(db_path, export):
    results = ingest_together(db_path, [export("sessions.csv", SESSIONS), export("outcomes.csv", OUTCOMES)])
    assert [r.summary().split(",", 1)[0] for r in results] == ["sessions.csv: sessions", "outcomes.csv: outcomes"]
    assert [r.rows_inserted for r in results] == [4, 3]
    with database.open_file(db_path, read_only=True) as con:
        assert con.execute("select (select count(*) from sessions), (select count(*) from assessments), "
                           "(select count(*) from batches)").fetchall() == [(4, 3, 2)]


def test_a_database_with_rows_stored_twice_opens_with_the_newest_copy_kept(tmp_path, export, caplog):
    """What the bug left behind: two batches that each inserted every row of one export. The second copy of
    P1's day-0 session differs (a later export corrected its route): the newer batch's row is kept."""
    db = tmp_path / "old.duckdb"
    con = database.connect(db)
    con.execute("drop table keys_kept_unique")  # as a version before writers took turns left it
    for batch in (1, 2):
        con.execute("insert into sessions (patient_id, session_day, session_id, route, status, adverse_events, "
                    "batch_id, line_number) values ('P1', 0, '', $route, 'completed', [], $b, 2), "
                    "('P2', 0, '', 'IV', 'completed', [], $b, 3)", {"b": batch, "route": "IV" if batch == 1 else "IM"})
    con.execute("insert into patients (patient_id, batch_id, line_number) values ('P1', 1, 2), ('P1', 2, 2)")
    con.close()
    with caplog.at_level(logging.WARNING, logger="ketamine_outcomes.store.database"):
        con = database.connect(db)
    assert con.execute("select patient_id, route, batch_id from sessions order by patient_id").fetchall() == [
        ("P1", "IM", 2), ("P2", "IV", 2)]
    assert con.execute("select patient_id, batch_id from patients").fetchall() == [("P1", 2)]
    assert [r.getMessage().split(":")[0:2] for r in caplog.records] == [
        ["sessions", " removed 2 rows stored twice by an earlier version (two uploads of one export at the same "
                     "moment); the newest copy of each is kept"],
        ["patients", " removed 1 rows stored twice by an earlier version (two uploads of one export at the same "
                     "moment); the newest copy of each is kept"]]
    con.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ketamine_outcomes.store.database"):
        database.connect(db).close()  # checked once: the file now says its writers take turns
    assert caplog.records == []


def test_a_database_from_when_a_unique_index_held_the_keys_opens_without_it(tmp_path, export):
    """The index made every checkpoint after an upload write it whole; such a file's keys are unique, so it
    is dropped and its rows kept."""
    db = tmp_path / "indexed.duckdb"
    con = database.connect(db)
    ingest_file(con, export("sessions.csv", SESSIONS))
    con.execute("drop table keys_kept_unique")
    con.execute("create unique index sessions_natural_key on sessions (patient_id, session_day, session_id)")
    con.close()
    con = database.connect(db)
    assert con.execute("select count(*) from duckdb_indexes() where database_name = current_database()"
                       ).fetchall() == [(0,)]
    assert con.execute("select count(*) from sessions").fetchall() == [(4,)]
    assert ingest_file(con, export("sessions.csv", SESSIONS)).rows_duplicate == 4
    con.close()


def test_a_widget_changed_after_an_upload_does_not_store_it_again(tmp_path, monkeypatch):
    db = tmp_path / "new.duckdb"
    database.connect(db).close()
    app = open_app(db, monkeypatch, "data")
    app.file_uploader(key="data_upload").set_value([("s.csv", SESSIONS.encode(), "text/csv")]).run()
    assert "4 inserted" in app.success[0].value
    app.selectbox(key="data_date_format").set_value("Day first: DD/MM/YYYY").run()
    app.selectbox(key="data_mapping").set_value(app.selectbox(key="data_mapping").options[0]).run()
    assert not app.exception
    with database.open_file(db, read_only=True) as con:
        assert con.execute("select count(*) from batches").fetchall() == [(1,)]
        assert con.execute("select count(*) from sessions").fetchall() == [(4,)]


def test_the_sample_clinic_ingested_twice_at_once_is_stored_once(db_path):
    """The issue's case at the sample's size: every table holds each natural key once."""
    results = ingest_together(db_path, [SAMPLE_FILES[1], SAMPLE_FILES[1]])
    assert not any(isinstance(r, Exception) for r in results), results
    with database.open_file(db_path, read_only=True) as con:
        (lines,) = con.execute("select count(*) from read_csv($p, header = true, all_varchar = true)",
                               {"p": str(SAMPLE_FILES[1])}).fetchall()[0]
        assert con.execute("select count(*) from sessions").fetchall() == [(lines,)]
    assert sorted(r.rows_inserted for r in results) == [0, lines]


def test_one_batch_undone_twice_at_once_is_undone_once(db_path, export):
    """Two analysts press Undo on the same batch at the same moment: one undoes it, the other is told it
    was already undone (the check runs inside the writing transaction, which waits for the other's turn)."""
    con = database.connect(db_path)
    ingest_file(con, export("a.csv", SESSIONS))
    together = threading.Barrier(2, timeout=30)
    outcomes = [None, None]

    def run(n):
        cursor = con.cursor()
        together.wait()
        try:
            outcomes[n] = undo_batch(cursor, 1)
        except ValueError as refusal:
            outcomes[n] = refusal
        finally:
            cursor.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    texts = sorted(str(o) for o in outcomes)
    # batch 1 undone as batch 2 (or 3, when the other undo's batch number came first): 4 inserted rows removed,
    # 0 replaced rows restored.
    assert numbers_in(texts[0]) in ([1, 2, 4, 0], [1, 3, 4, 0]) and "(a.csv) undone as batch" in texts[0], texts
    assert texts[1].startswith("batch 1 was already undone at "), texts
    assert con.execute("select count(*) from sessions").fetchall() == [(0,)]
    assert con.execute("select count(*) from batches where kind = 'undo'").fetchall() == [(1,)]
    con.close()
