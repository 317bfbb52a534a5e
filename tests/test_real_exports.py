"""Guards the analyst path on exports shaped like real EHR ones: extra columns ignored and listed,
optional fields that cannot be read stored empty with a warning (line, column, value, reason), what
people write (comma lists, units, status phrasings) read, a completed session beating a cancelled one
on the same day, and the odd files (gzip, zip, UTF-16, Windows-1252, CR-only, Excel, OpenDocument)."""

import datetime as dt
import gzip
import re
import zipfile

import pandas as pd
import pytest

from conftest import numbers_in, table_snapshot
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_export


def rows(con, sql, params=None):
    return con.execute(sql, params or {}).fetchall()


OSMIND_LIKE = (
    "Patient ID,Appointment Date,Appointment Type,Route,Status,Dose,Adverse Events,Notes,Provider\n"
    "P1,2024-03-01,Ketamine infusion,IV,Checked out,45 mg,\"Nausea, Dissociation\",ok,C1\n"
    "P1,2024-03-04,Ketamine infusion,IV,Done,0.5 mg/kg,Dizzy | headache,,C1\n"
    "P1,2024-03-06,Ketamine infusion,IV,Cancelled - Patient,,,,C1\n"
    "P2,2024-03-01,Spravato,intranasal,Pt no-show,,,,C2\n"
    "P2,2024-03-02,Spravato,intranasal,Rescheduled,84,nausea/itching,,C2\n"
    "P2,2024-03-03,Spravato,intranasal,,lots,,,C2\n"
)


def test_a_real_shaped_export_keeps_every_session_and_warns_on_what_it_cannot_read(con, export):
    [result] = ingest_export(con, export("osmind.csv", OSMIND_LIKE))
    assert result.refused is None
    assert (result.rows_read, result.rows_inserted, result.rows_rejected, result.rows_with_warnings) == (6, 6, 0, 2)
    assert result.columns_ignored == ["Appointment Type", "Notes"]
    assert rows(con, "select patient_id, session_date::varchar, status, dose_mg, dose_mg_per_kg, adverse_events "
                     "from sessions order by patient_id, session_day") == [
        ("P1", "2024-03-01", "completed", 45.0, None, ["dissociation", "nausea"]),
        ("P1", "2024-03-04", "completed", None, 0.5, ["dizziness", "headache"]),
        ("P1", "2024-03-06", "cancelled", None, None, []),
        ("P2", "2024-03-01", "no_show", None, None, []),
        ("P2", "2024-03-02", "unknown", 84.0, None, ["nausea", "other"]),
        ("P2", "2024-03-03", "completed", None, None, []),
    ]
    warnings = result.warnings.astype(object)
    assert warnings.where(warnings.notna(), None).to_dict(orient="records") == [
        {"line_number": 6, "column_name": "Adverse Events", "value": None,
         "reason": "an adverse event not in the vocabulary (nausea, vomiting, dizziness, dissociation, headache, "
                   "elevated_bp, sedation, anxiety, other, or the clinic's own terms): stored as other, its text not "
                   "kept (add the term to the clinic's vocabulary with a column mapping)"},
        {"line_number": 6, "column_name": "Status", "value": "Rescheduled",
         "reason": "unknown status, stored as unknown (not counted as completed): expected completed, cancelled or no_show"},
        {"line_number": 7, "column_name": "Dose", "value": "lots",
         "reason": "dose not read, stored empty: expected a number, mg or mg/kg"},
    ]
    assert rows(con, "select columns_ignored, rows_with_warnings from batches") == [(["Appointment Type", "Notes"], 2)]
    warned, ignored = re.search(r"(\d+) stored with warnings; columns ignored: ([^.\n]+)", result.summary()).groups()
    assert (int(warned), ignored.split(", ")) == (2, ["Appointment Type", "Notes"])


@pytest.mark.parametrize("text, status", [
    ("Cancelled - Patient", "cancelled"), ("Pt no-show", "no_show"), ("Checked out", "completed"),
    ("Done", "completed"), ("No Show - Cancelled", "unknown"), ("Not completed", "unknown"),
    ("Checked in", "unknown"),
])
def test_status_phrasings(load, con, text, status):
    load("s.csv", f"patient_id,session_day,route,status\nP1,0,IV,{text}\n")
    assert rows(con, "select status from sessions") == [(status,)]


@pytest.mark.parametrize("dose, per_kg, stored", [
    ("45", "", (45.0, None)), ("45 mg", "", (45.0, None)), ("45mg", "", (45.0, None)),
    ("0.5 mg/kg", "", (None, 0.5)), ("", "0.5", (None, 0.5)), ("", "0.5 mg/kg", (None, 0.5)),
    ("NaN", "", (None, None)), ("inf", "", (None, None)), ("1e308", "", (None, None)), ("-5", "", (None, None)),
])
def test_doses_with_units_go_to_the_right_column(load, con, dose, per_kg, stored):
    load("s.csv", f"patient_id,session_day,route,dose_mg,dose_mg_per_kg\nP1,0,IV,{dose},{per_kg}\n")
    assert rows(con, "select dose_mg, dose_mg_per_kg from sessions") == [stored]


def test_a_bad_blood_pressure_keeps_the_session(load, con):
    result = load("s.csv", "patient_id,session_day,route,systolic_bp_peak\nP1,0,IV,400\nP1,1,IV,150\n")
    assert (result.rows_inserted, result.rows_rejected, result.rows_with_warnings) == (2, 0, 1)
    assert rows(con, "select systolic_bp_peak from sessions order by session_day") == [(None,), (150,)]


@pytest.mark.parametrize("order", ["cancelled first", "completed first"])
def test_a_completed_session_beats_a_cancelled_line_on_the_same_day_whatever_the_order(load, con, order):
    lines = ["P1,2024-03-01,IV,cancelled,", "P1,2024-03-01,IV,completed,40"]
    if order == "completed first":
        lines.reverse()
    result = load("s.csv", "patient_id,session_date,route,status,dose_mg\n" + "\n".join(lines) + "\n")
    assert (result.rows_inserted, result.rows_duplicate, result.rows_rejected) == (1, 1, 0)
    assert rows(con, "select status, dose_mg from sessions") == [("completed", 40.0)]
    cancelled_line = 2 if order == "cancelled first" else 3
    assert result.warnings.to_dict(orient="records") == [{
        "line_number": cancelled_line, "column_name": "status", "value": "cancelled",
        "reason": f"cancelled on the same patient, session day, session as completed line {5 - cancelled_line}; "
                  "the completed line is kept"}]


def test_two_completed_lines_that_differ_stay_a_reported_conflict(load, con):
    result = load("s.csv", "patient_id,session_date,route,status,dose_mg\n"
                           "P1,2024-03-01,IV,completed,40\nP1,2024-03-01,IV,completed,50\n")
    assert (result.rows_inserted, result.rows_rejected) == (1, 1)
    reason = result.rejects.reason[0]
    # The line it conflicts with, and which is kept: line 2 both times (the first data line).
    assert "but different values" in reason and numbers_in(reason) == [2, 2] and reason.endswith("is kept")


def test_an_identifier_column_is_refused_for_privacy_even_when_the_layout_is_unknown(con, export):
    [result] = ingest_export(con, export("x.csv", "Patient Name,Date of Birth,Appt Notes\nAnn,1970-01-01,x\n"))
    assert result.refused.startswith("columns 'Patient Name', 'Date of Birth' look like a direct identifier")
    assert rows(con, "select count(*) from batches") == [(0,)]


# Odd files -------------------------------------------------------------------------------------

SESSIONS = "patient_id,session_date,route,site\nP1,2024-03-01,IV,Caf\u00e9 \u201cNorth\u201d\nP1,2024-03-04,IV,South\n"


def stored_sessions(con):
    return rows(con, "select patient_id, session_day, session_date, route, status, site, line_number "
                     "from sessions order by session_day")


@pytest.mark.parametrize("name, content, read_as", [
    ("s.csv", SESSIONS.encode("utf-16"), "UTF-16"),
    ("s.csv", SESSIONS.encode("utf-16-le"), "UTF-16"),
    ("s.csv", SESSIONS.replace("\n", "\r").encode("utf-8"), "CR line endings"),
    ("s.csv", SESSIONS.encode("cp1252"), "Windows-1252"),
    ("s.csv.gz", gzip.compress(SESSIONS.encode("utf-8"), mtime=0), "gzip"),  # one test id in every xdist worker
])
def test_odd_text_files_are_read_and_said_how(con, export, name, content, read_as):
    path = export(name, "")
    path.write_bytes(content)
    [result] = ingest_export(con, path)
    assert result.refused is None, result.refused
    assert (result.rows_read, result.rows_inserted, result.rows_rejected) == (2, 2, 0)
    assert result.source == read_as and f"read as {read_as}" in result.summary()
    assert [r[5] for r in stored_sessions(con)] == ["Caf\u00e9 \u201cNorth\u201d", "South"]


def test_a_cr_only_file_keeps_its_line_numbers(con, export):
    path = export("s.csv", "")
    path.write_bytes(b"patient_id,session_day,route\rP1,0,IV\rP1,x,IV\rP1,2,laser\r")
    [result] = ingest_export(con, path)
    assert list(result.rejects.line_number) == [3, 4]


def test_a_zip_of_exports_ingests_each(con, export, tmp_path):
    path = tmp_path / "exports.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("sessions.csv", SESSIONS)
        archive.writestr("outcomes.csv", "patient_id,assessment_day,instrument,score\nP1,19783,PHQ-9,20\n")
    results = ingest_export(con, path)
    assert [(r.file_name, r.kind, r.rows_inserted) for r in results] == [
        ("exports.zip/sessions.csv", "sessions", 2), ("exports.zip/outcomes.csv", "outcomes", 1)]


@pytest.mark.parametrize("content, reason", [
    (b"PK\x05\x06" + b"\x00" * 18, "is an empty or damaged zip archive"),
    (b"\x1f\x8b\x08\x00garbage", "is a damaged gzip file"),
    (b"\x00\x01\x02\x03binary\x00\x00\xff", "is not a text export"),
])
def test_damaged_or_binary_files_are_refused_with_a_sentence(con, export, content, reason):
    path = export("s.csv", "")
    path.write_bytes(content)
    [result] = ingest_export(con, path)
    assert result.refused.startswith(reason), result.refused
    assert rows(con, "select count(*) from batches") == [(0,)]


@pytest.mark.subprocess
def test_the_cli_refuses_a_damaged_zip_without_a_traceback(tmp_path):
    import subprocess
    import sys
    bad = tmp_path / "s.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 30)
    run = subprocess.run([sys.executable, "-m", "ketamine_outcomes.cli", "ingest", str(bad), "--init", "--db",
                          str(tmp_path / "c.duckdb")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "s.zip: refused, nothing stored." in run.stderr


# Workbooks -------------------------------------------------------------------------------------

SESSION_ROWS = pd.DataFrame({
    "patient_id": ["P1", "P1", "P2", "P2"],
    "session_date": [dt.date(2024, 3, 1), dt.date(2024, 3, 4), dt.date(2024, 3, 2), dt.date(2024, 3, 30)],
    "route": ["IV", "IV", "IM", "IM"],
    "status": ["Checked out", "cancelled", "", "Done"],
    "dose_mg": [45, 50.5, None, 60],
    "adverse_events": ["Nausea, Dissociation", "", "", "vertigo"],
    "Notes": ["first", "", "line one\nline two", ""],
})
OUTCOME_ROWS = pd.DataFrame({
    "patient_id": ["P1", "P1", "P2"],
    "assessment_date": [dt.date(2024, 3, 1), dt.date(2024, 3, 8), dt.date(2024, 3, 2)],
    "instrument": ["PHQ-9", "PHQ-9", "GAD-7"],
    "score": [20, 11, 30],  # 30 is out of GAD-7's range: rejected at the same row in each form
})


def write_csvs(folder):
    sessions = SESSION_ROWS.assign(session_date=SESSION_ROWS.session_date.astype(str))
    sessions.to_csv(folder / "sessions.csv", index=False)
    OUTCOME_ROWS.assign(assessment_date=OUTCOME_ROWS.assessment_date.astype(str)).to_csv(
        folder / "outcomes.csv", index=False)
    return [folder / "sessions.csv", folder / "outcomes.csv"]


def stored(db):
    con = database.connect(db, read_only=True)
    try:
        snapshot = table_snapshot(con)
        return {
            "sessions": rows(con, "select * exclude (batch_id, source_hash) from sessions order by all"),
            "assessments": rows(con, "select * exclude (batch_id, source_hash) from assessments order by all"),
            "rejects": rows(con, "select line_number, column_name, value, reason from rejects order by all"),
            "warnings": rows(con, "select line_number, column_name, value, reason from warnings order by all"),
            "n_batches": len(snapshot["batches"]),
        }
    finally:
        con.close()


@pytest.mark.parametrize("suffix, engine", [(".xlsx", "openpyxl"), (".ods", "odf")])
def test_a_workbook_gives_the_same_database_as_its_csvs(tmp_path, suffix, engine):
    from ketamine_outcomes.ingest.pipeline import ingest_files
    csv_db, book_db = tmp_path / "csv.duckdb", tmp_path / "book.duckdb"
    ingest_files(csv_db, write_csvs(tmp_path))
    book = tmp_path / f"visits{suffix}"
    with pd.ExcelWriter(book, engine=engine) as writer:
        pd.DataFrame({"About": ["exported 2024-04-01"]}).to_excel(writer, sheet_name="Read me", index=False)
        SESSION_ROWS.to_excel(writer, sheet_name="Sessions", index=False)
        OUTCOME_ROWS.to_excel(writer, sheet_name="Scores", index=False)
    results = ingest_files(book_db, [book])
    assert [(r.file_name, r.kind, r.summary()) for r in results][0] == (
        f"visits{suffix} [Read me]", None, f"visits{suffix} [Read me]: its first row names no known export; skipped.")
    assert [(r.file_name, r.kind, r.source) for r in results[1:]] == [
        (f"visits{suffix} [Sessions]", "sessions", "sheet 'Sessions'"),
        (f"visits{suffix} [Scores]", "outcomes", "sheet 'Scores'")]
    from_csv, from_book = stored(csv_db), stored(book_db)
    assert from_book == from_csv
    assert from_book["rejects"] == [(4, "score", "30", "score out of range: GAD-7 is scored 0 to 21")]
    assert from_book["warnings"] == []  # "vertigo" is read as dizziness, "Checked out" and "Done" as completed
    assert [r[5] for r in from_book["sessions"]] == ["completed", "cancelled", "completed", "completed"]


def test_a_sheet_with_rows_above_its_header_keeps_the_sheet_row_numbers(con, tmp_path):
    book = tmp_path / "s.xlsx"
    frame = pd.DataFrame({"patient_id": ["P1", "P2"], "session_day": [0, "x"], "route": ["IV", "IV"]})
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Sessions", index=False, startrow=2)
    [result] = ingest_export(con, book)
    assert list(result.rejects.line_number) == [5]  # header on row 3, P2 on row 5
    assert rows(con, "select line_number from sessions") == [(4,)]


def test_excel_dates_and_text_dates_are_both_read(con, tmp_path):
    book = tmp_path / "s.xlsx"
    frame = pd.DataFrame({"patient_id": ["P1", "P1"], "session_date": [dt.datetime(2024, 3, 1), "2024-03-04"],
                          "route": ["IV", "IV"]})
    frame.to_excel(book, index=False)
    [result] = ingest_export(con, book)
    assert result.rows_inserted == 2
    assert rows(con, "select session_date::varchar from sessions order by 1") == [("2024-03-01",), ("2024-03-04",)]


# Undo ------------------------------------------------------------------------------------------

def test_undo_removes_what_a_batch_inserted_and_restores_what_it_replaced(con, export):
    from ketamine_outcomes.ingest.pipeline import undo_batch
    ingest_export(con, export("a.csv", "patient_id,session_day,route,dose_mg\nP1,0,IV,40\nP1,3,IV,40\n"))
    before = rows(con, "select patient_id, session_day, dose_mg, batch_id, line_number from sessions order by all")
    [second] = ingest_export(con, export("b.csv", "patient_id,session_day,route,dose_mg\nP1,3,IV,45\nP1,7,IV,40\n"))
    assert (second.rows_inserted, second.rows_replaced) == (1, 1)
    message = undo_batch(con, second.batch_id)
    assert re.findall(r"\d+", message) == ["2", "3", "1", "1"]  # batch 2 undone as 3: 1 removed, 1 restored
    assert rows(con, "select patient_id, session_day, dose_mg, batch_id, line_number from sessions order by all") == before
    assert rows(con, "select batch_id, kind, undone_at is not null from batches order by 1") == [
        (1, "sessions", False), (2, "sessions", True), (3, "undo", False)]
    with pytest.raises(ValueError, match="batch 2 was already undone"):
        undo_batch(con, 2)
    # the same file again after an undo is stored again, not taken for a duplicate
    [again] = ingest_export(con, export("b.csv", "patient_id,session_day,route,dose_mg\nP1,3,IV,45\nP1,7,IV,40\n"))
    assert (again.rows_inserted, again.rows_replaced) == (1, 1)
