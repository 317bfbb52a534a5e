"""Guards the ingest: every export kind and alias lands as the contract says, every bad line is
rejected with its line number, column, value and reason, and re-uploads neither lose nor double count."""

import pytest

from conftest import table_snapshot
from ketamine_outcomes.ingest.pipeline import ingest_file


def rows(con, sql, params=None):
    return con.execute(sql, params or {}).fetchall()


def test_sessions_export_stores_each_field(load, con):
    result = load("sessions.csv",
                  "patient_id,session_date,route,status,dose_mg,dose_mg_per_kg,site,clinician_id,"
                  "adverse_events,systolic_bp_peak,session_id\n"
                  "P1,2024-03-01,IV,completed,40,0.5,North,C1,nausea; dissociation,152,S1\n"
                  "P1,2024-03-03,IV,,,,North,C1,,,S2\n")
    assert (result.kind, result.rows_read, result.rows_inserted, result.rows_rejected) == ("sessions", 2, 2, 0)
    assert rows(con, "select patient_id, session_date::varchar, session_day, route, status, dose_mg, dose_mg_per_kg, "
                     "site, clinician_id, adverse_events, systolic_bp_peak, session_id from sessions "
                     "order by session_day") == [
        ("P1", "2024-03-01", 19783, "IV", "completed", 40.0, 0.5, "North", "C1", ["dissociation", "nausea"], 152, "S1"),
        ("P1", "2024-03-03", 19785, "IV", "completed", None, None, "North", "C1", [], None, "S2"),
    ]


@pytest.mark.parametrize("text, route", [
    ("IV", "IV"), ("ketamine IV", "IV"), ("Intravenous", "IV"), ("IM", "IM"), ("intramuscular", "IM"),
    ("esketamine", "intranasal"), ("Spravato", "intranasal"), ("intranasal", "intranasal"),
    ("sublingual", "oral"), ("Oral", "oral"),
    ("Ketamine Infusion (IV)", "IV"), ("Spravato 84mg", "intranasal"), ("IM ketamine 0.75 mg/kg", "IM"),
    ("at-home sublingual troche", "oral"),
])
def test_route_aliases(load, con, text, route):
    load("s.csv", f"patient_id,session_day,route\nP1,0,{text}\n")
    assert rows(con, "select route from sessions") == [(route,)]


@pytest.mark.parametrize("text", ["IV/IM", "ketamine", "infusion or nasal spray"])
def test_a_route_text_naming_no_route_or_two_is_rejected(load, con, text):
    result = load("s.csv", f"patient_id,session_day,route\nP1,0,{text}\n")
    assert result.rows_rejected == 1 and result.rejects.reason[0].startswith("unknown route")


@pytest.mark.parametrize("text, status", [
    ("", "completed"), ("Completed", "completed"), ("cancelled", "cancelled"), ("Canceled", "cancelled"),
    ("no_show", "no_show"), ("No Show", "no_show"), ("no-show", "no_show"),
    ("Cancelled by patient", "cancelled"), ("Late cancel", "cancelled"), ("DNA", "no_show"),
])
def test_status_aliases_and_empty_means_completed(load, con, text, status):
    load("s.csv", f"patient_id,session_day,route,status\nP1,0,IV,{text}\n")
    assert rows(con, "select status from sessions") == [(status,)]


def test_adverse_event_aliases(load, con):
    load("s.csv", "patient_id,session_day,route,adverse_events\n"
                  "P1,0,IV,Nausea;high blood pressure;Dizzy\nP1,3,IV,none\n")
    assert rows(con, "select adverse_events from sessions order by session_day") == [
        (["dizziness", "elevated_bp", "nausea"],), ([],)]


@pytest.mark.parametrize("text", ["PHQ-9", "phq9", "PHQ 9", "Phq-9", "PHQ-9 Total Score", "phq9_total"])
def test_instrument_aliases(load, con, text):
    load("o.csv", f"patient_id,assessment_day,instrument,score\nP1,0,{text},14\n")
    assert rows(con, "select instrument, score from assessments") == [("PHQ-9", 14)]


def test_all_five_instruments_and_their_ranges(load, con):
    result = load("o.csv", "patient_id,assessment_day,instrument,score\n"
                           "P1,0,PHQ-9,27\nP1,0,GAD-7,21\nP1,0,PCL-5,80\nP1,0,MADRS,60\nP1,0,QIDS-SR16,27\n")
    assert result.rows_inserted == 5
    assert rows(con, "select instrument from assessments order by 1") == [
        ("GAD-7",), ("MADRS",), ("PCL-5",), ("PHQ-9",), ("QIDS-SR16",)]


def test_wide_outcomes_export_is_stored_in_long_form(load, con):
    result = load("visits.csv", "patient_id,assessment_date,PHQ-9 Total Score,gad7_total,phq9_item9\n"
                                "P1,2024-03-01,18,12,1\nP1,2024-03-08,9,,0\n")
    assert (result.kind, result.rows_read, result.rows_inserted) == ("outcomes_wide", 2, 3)
    assert rows(con, "select assessment_date::varchar, instrument, score, item9, line_number from assessments "
                     "order by 1, 2") == [
        ("2024-03-01", "GAD-7", 12, None, 2), ("2024-03-01", "PHQ-9", 18, 1, 2), ("2024-03-08", "PHQ-9", 9, 0, 3)]


def test_patients_export(load, con):
    result = load("p.csv", "patient_id,age_band,sex,primary_indication,site\n"
                           "P1,35-44,F,TRD,North\nP2,90+,male,ptsd,South\n")
    assert result.rows_inserted == 2
    assert rows(con, "select * exclude (batch_id, line_number, source_hash) from patients order by 1") == [
        ("P1", "35-44", "female", "depression", "North", None, None),
        ("P2", "90+", "male", "PTSD", "South", None, None)]


def test_semicolon_file_with_bom_and_crlf(load, con):
    result = load("s.csv", "\ufeffPatient ID;Session Day;Route\r\nP1;0;IV\r\nP2;1;IM\r\n")
    assert (result.rows_inserted, result.rows_rejected) == (2, 0)


def test_tab_delimited_latin1_file(load, con, export):
    path = export("s.tsv", "patient_id\tsession_day\troute\tsite\nP1\t0\tIV\tSão Paulo\n", encoding="latin-1")
    result = ingest_file(con, path)
    assert result.rows_inserted == 1
    assert rows(con, "select site from sessions") == [("São Paulo",)]


# Dates -----------------------------------------------------------------------------------------

def test_iso_dates_and_day_offsets_give_days(load, con):
    load("a.csv", "patient_id,session_date,route\nP1,2024-01-02,IV\nP1,2024-01-02T10:30:00,IV\n")
    load("b.csv", "patient_id,session_day,route\nP2,-3,IV\nP2,12,IV\n")
    assert rows(con, "select patient_id, session_day, session_date::varchar from sessions order by 1, 2") == [
        ("P1", 19724, "2024-01-02"), ("P2", -3, None), ("P2", 12, None)]


def test_us_dates_are_read_when_unambiguous(load, con):
    result = load("s.csv", "patient_id,session_date,route\nP1,03/04/2024,IV\nP1,03/14/2024,IV\n")
    assert (result.date_style, result.rows_inserted) == ("us", 2)
    assert rows(con, "select session_date::varchar from sessions order by 1") == [("2024-03-04",), ("2024-03-14",)]


def test_us_dates_with_a_time_and_other_date_column_names(load, con):
    result = load("s.csv", "patient_id,Date of Service,route\nP1,03/04/2024 10:30,IV\nP1,03/14/2024 09:00 AM,IV\n")
    assert (result.date_style, result.rows_inserted) == ("us", 2)
    assert rows(con, "select session_date::varchar from sessions order by 1") == [("2024-03-04",), ("2024-03-14",)]


def test_us_dates_are_read_when_declared(load, con):
    result = load("s.csv", "patient_id,session_date,route\nP1,03/04/2024,IV\n", date_format="us")
    assert rows(con, "select session_date::varchar from sessions") == [("2024-03-04",)]
    assert result.date_style == "us"


def test_day_first_dates_are_read_when_unambiguous(load, con):
    result = load("s.csv", "patient_id,session_date,route\nP1,03/04/2024,IV\nP1,14/03/2024 10:30,IV\n")
    assert (result.date_style, result.rows_inserted) == ("dmy", 2)
    assert rows(con, "select session_date::varchar from sessions order by 1") == [("2024-03-14",), ("2024-04-03",)]


def test_day_first_dates_are_read_when_declared_on_the_command_line_or_in_the_header(load, con):
    declared = load("a.csv", "patient_id,session_date,route\nP1,03/04/2024,IV\n", date_format="dmy")
    hinted = load("b.csv", "patient_id,Session Date (DD/MM/YYYY),route\nP2,05/06/2024,IV\n")
    assert (declared.date_style, hinted.date_style) == ("dmy", "dmy")
    assert rows(con, "select patient_id, session_date::varchar from sessions order by 1") == [
        ("P1", "2024-04-03"), ("P2", "2024-06-05")]


def test_slash_dates_that_fit_neither_order_are_ambiguous(load, con):
    result = load("s.csv", "patient_id,session_date,route\nP1,13/04/2024,IV\nP1,04/13/2024,IV\n")
    assert (result.date_style, result.rows_inserted, result.rows_rejected) == ("ambiguous", 0, 2)
    assert result.rejects.reason.str.contains("--date-format us or dmy").all()


def test_ambiguous_slash_dates_are_rejected_not_guessed(load, con):
    result = load("s.csv", "patient_id,session_date,route\nP1,03/04/2024,IV\nP1,2024-03-05,IV\n")
    assert (result.date_style, result.rows_inserted, result.rows_rejected) == ("ambiguous", 1, 1)
    assert result.rejects.iloc[0].line_number == 2
    assert result.rejects.iloc[0].reason.startswith("ambiguous date")


# Rejections ------------------------------------------------------------------------------------

SESSIONS_HEADER = "patient_id,session_date,route,status,dose_mg,adverse_events,systolic_bp_peak\n"


@pytest.mark.parametrize("line, column, value, reason", [
    (",2024-01-02,IV,,,,", "patient_id", None, "patient_id is missing"),
    ("P1,,IV,,,,", "session_date", None, "session_date (or session_day) is missing"),
    ("P1,2024-02-30,IV,,,,", "session_date", "2024-02-30", "not a date: expected YYYY-MM-DD"),
    ("P1,2024-01-02,,,,,", "route", None, "route is missing"),
    ("P1,2024-01-02,laser,,,,", "route", "laser", "unknown route: expected IV, IM, intranasal or oral"),
])
def test_each_session_rejection_reason(load, con, line, column, value, reason):
    result = load("s.csv", SESSIONS_HEADER + "P0,2024-01-01,IV,,,,\n" + line + "\n")
    assert (result.rows_read, result.rows_inserted, result.rows_rejected) == (2, 1, 1)
    reject = result.rejects.iloc[0]
    assert (reject.line_number, reject.column_name) == (3, column)
    assert (None if reject.value is None or reject.value != reject.value else reject.value) == value
    assert reject.reason.startswith(reason)
    assert rows(con, "select count(*) from rejects where batch_id = $b", {"b": result.batch_id}) == [(1,)]


OUTCOMES_HEADER = "patient_id,assessment_day,instrument,score,item9\n"


@pytest.mark.parametrize("line, column, value, reason", [
    ("P1,0,BDI,20,", "instrument", "BDI", "unknown instrument: expected PHQ-9, GAD-7, PCL-5, MADRS, QIDS-SR16 or CADSS"),
    ("P1,0,PHQ-9,28,", "score", "28", "score out of range: PHQ-9 is scored 0 to 27"),
    ("P1,0,GAD-7,-1,", "score", "-1", "score out of range: GAD-7 is scored 0 to 21"),
    ("P1,0,PHQ-9,12.5,", "score", "12.5", "score is not a whole number"),
    ("P1,0,PHQ-9,,", "score", None, "score is missing"),
    ("P1,x,PHQ-9,12,", "assessment_day", "x", "not a whole number of days"),
])
def test_each_outcome_rejection_reason(load, line, column, value, reason):
    result = load("o.csv", OUTCOMES_HEADER + line + "\n")
    assert (result.rows_inserted, result.rows_rejected) == (0, 1)
    reject = result.rejects.iloc[0]
    assert (reject.line_number, reject.column_name, reject.reason) == (2, column, reason)
    assert (None if reject.value != reject.value else reject.value) == value


@pytest.mark.parametrize("line, column, value, reason", [
    ("P1,0,PHQ-9,12,4", "item9", "4", "item9 not read, stored empty: expected a whole number from 0 to 3"),
    ("P1,0,PHQ-9,2,3", "item9", "3", "item9 (3) is more than the PHQ-9 total (2), stored empty"),
])
def test_an_unreadable_item9_keeps_the_score_with_a_warning(load, con, line, column, value, reason):
    result = load("o.csv", OUTCOMES_HEADER + line + "\n")
    assert (result.rows_inserted, result.rows_rejected, result.rows_with_warnings) == (1, 0, 1)
    warning = result.warnings.iloc[0]
    assert (warning.line_number, warning.column_name, warning.value, warning.reason) == (2, column, value, reason)
    assert rows(con, "select score, item9 from assessments") == [(int(line.split(",")[3]), None)]


def test_wide_rejection_names_the_instruments_column(load, con):
    result = load("w.csv", "patient_id,assessment_day,phq9_total,GAD-7 Score\nP1,0,30,9\n")
    assert (result.rows_inserted, result.rows_rejected) == (1, 1)
    assert result.rejects.iloc[0][["column_name", "value"]].tolist() == ["phq9_total", "30"]
    assert rows(con, "select instrument, score from assessments") == [("GAD-7", 9)]


def test_malformed_lines_are_rejected_with_their_line_numbers_around_a_blank_line(load, con):
    result = load("s.csv", "patient_id,session_day,route\nP1,0,IV\nP2,1\n\nP3,2,IV,extra\nP4,3,IM\n")
    assert (result.rows_read, result.rows_inserted, result.rows_rejected) == (4, 2, 2)
    assert result.rejects.line_number.tolist() == [3, 5]
    assert result.rejects.reason.str.split(" \\(").str[0].tolist() == [
        "line has fewer fields than the header", "line has more fields than the header"]
    assert rows(con, "select patient_id, line_number from sessions order by 1") == [("P1", 2), ("P4", 6)]

def test_line_numbers_stay_right_after_windows_blank_lines_and_without_a_final_newline(load, con):
    result = load("s.csv", "patient_id,session_day,route\r\nP1,0,IV\r\n\r\n\r\nP2,1,XX\r\nP3,2,IM")
    assert (result.rows_read, result.rows_inserted) == (3, 2)
    assert result.rejects[["line_number", "value"]].values.tolist() == [[5, "XX"]]
    assert rows(con, "select patient_id, line_number from sessions order by 1") == [("P1", 2), ("P3", 6)]



@pytest.mark.parametrize("column, text, reason", [
    ("dose_mg", "NaN", "dose not read, stored empty: expected a number, mg or mg/kg"),
    ("dose_mg", "inf", "dose not read, stored empty: expected a number, mg or mg/kg"),
    ("dose_mg", "1e308", "dose not read, stored empty: expected a number, mg or mg/kg"),
    ("dose_mg", "-5", "dose not read, stored empty: expected a number, mg or mg/kg"),
    ("dose_mg_per_kg", "nan", "dose not read, stored empty: expected a number of mg/kg"),
    ("dose_mg_per_kg", "-0.5", "dose not read, stored empty: expected a number of mg/kg"),
    ("dose_mg_per_kg", "50", "dose above 13 mg/kg (the ketamine label's highest dose), stored empty: check the unit"),
    ("dose_mg", "5000 mg", "dose above 2000 mg (13 mg/kg, the ketamine label's highest dose, for 150 kg), stored "
                           "empty: check the unit"),
    ("dose_mg", "14 mg/kg", "dose above 13 mg/kg (the ketamine label's highest dose), stored empty: check the unit"),
])
def test_a_dose_that_is_no_number_or_beyond_the_label_is_not_stored(load, con, column, text, reason):
    # The session took place, so its line is stored; the dose is not, and never reaches a dose band.
    result = load("s.csv", f"patient_id,session_day,route,{column}\nP1,0,IV,0.5 mg/kg\nP2,0,IV,{text}\n")
    assert (result.rows_inserted, result.rows_rejected, result.rows_with_warnings) == (2, 0, 1)
    assert result.warnings.values.tolist() == [[3, column, text, reason]]
    assert rows(con, "select patient_id, dose_mg, dose_mg_per_kg from sessions order by 1") == [
        ("P1", None, 0.5), ("P2", None, None)]


def test_the_highest_label_dose_is_stored(load, con):
    result = load("s.csv", "patient_id,session_day,route,dose_mg,dose_mg_per_kg\nP1,0,IM,2000,13\n")
    assert result.rows_with_warnings == 0
    assert rows(con, "select dose_mg, dose_mg_per_kg from sessions") == [(2000.0, 13.0)]


def test_conflicting_lines_within_one_file_keep_the_first(load, con):
    result = load("o.csv", OUTCOMES_HEADER + "P1,0,PHQ-9,12,\nP1,0,PHQ-9,12,\nP1,0,PHQ-9,14,\n")
    assert (result.rows_inserted, result.rows_duplicate, result.rows_rejected) == (1, 1, 1)
    assert result.rejects.iloc[0].line_number == 4
    assert "as line 2 but different values" in result.rejects.iloc[0].reason
    assert rows(con, "select score from assessments") == [(12,)]


# Re-uploads ------------------------------------------------------------------------------------

def test_identical_file_again_changes_no_data(load, con):
    text = OUTCOMES_HEADER + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,15,0\n"
    first = load("o.csv", text)
    before = rows(con, "select * from assessments order by all")
    again = load("o.csv", text)
    assert (again.rows_inserted, again.rows_replaced, again.rows_duplicate) == (0, 0, 2)
    assert first.batch_id != again.batch_id
    assert rows(con, "select * from assessments order by all") == before


def test_the_same_file_again_files_its_rejects_and_warnings_once(load, con):
    text = OUTCOMES_HEADER + "P1,0,PHQ-9,30,\nP1,7,PHQ-9,12,7\nP2,0,BDI,3,\n"
    first = load("o.csv", text)
    again = load("o.csv", text)
    assert (again.rows_read, again.rows_duplicate, again.rows_rejected, again.rows_with_warnings) == (3, 1, 2, 1)
    assert again.filed_before == first.batch_id
    assert again.rejects.line_number.tolist() == [2, 4]  # shown again to whoever uploads it
    assert rows(con, "select batch_id, line_number from rejects order by 2") == [(1, 2), (1, 4)]
    assert rows(con, "select batch_id, line_number from warnings") == [(1, 3)]
    assert again.summary().endswith("2 rejected, 1 stored with warnings (as filed with batch 1, the same file: "
                                    "not filed again)")
    # A changed file files its own.
    changed = load("o.csv", text + "P3,0,PHQ-9,99,\n")
    assert changed.filed_before is None
    assert rows(con, "select count(*) from rejects where batch_id = $b", {"b": changed.batch_id}) == [(3,)]


def test_cumulative_export_adds_only_new_rows(load, con):
    load("jan.csv", OUTCOMES_HEADER + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,15,0\n")
    later = load("feb.csv", OUTCOMES_HEADER + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,15,0\nP1,14,PHQ-9,9,0\n")
    assert (later.rows_inserted, later.rows_duplicate, later.rows_replaced) == (1, 2, 0)
    assert rows(con, "select count(*) from assessments") == [(3,)]


def test_corrected_row_replaces_the_old_one_and_the_replacement_is_recorded(load, con):
    load("jan.csv", OUTCOMES_HEADER + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,15,0\n")
    fix = load("fix.csv", OUTCOMES_HEADER + "P1,7,PHQ-9,13,1\n")
    assert (fix.rows_inserted, fix.rows_replaced) == (0, 1)
    assert rows(con, "select assessment_day, score, item9 from assessments order by 1") == [(0, 20, 0), (7, 13, 1)]
    ((key, old, new),) = rows(con, "select natural_key::varchar, old_values::varchar, new_values::varchar "
                                   "from replacements where batch_id = $b", {"b": fix.batch_id})
    assert '"assessment_day":7' in key and '"score":15' in old and '"score":13' in new


def test_session_key_includes_session_id_when_present(load, con):
    load("s.csv", "patient_id,session_day,route,session_id\nP1,0,IV,A\nP1,0,IV,B\n")
    again = load("s2.csv", "patient_id,session_day,route,session_id\nP1,0,IM,A\n")
    assert again.rows_replaced == 1
    assert rows(con, "select session_id, route from sessions order by 1") == [("A", "IM"), ("B", "IV")]


def test_batch_history_counts_every_line(load, con):
    load("s.csv", "patient_id,session_day,route,Notes\nP1,0,IV,x\nP1,0,IV,x\nP2,1,laser,y\n")
    assert rows(con, "select file_name, kind, rows_read, rows_inserted, rows_replaced, rows_duplicate, rows_rejected, "
                     "columns_ignored, length(sha256) from batches") == [
        ("s.csv", "sessions", 3, 1, 0, 1, 1, ["Notes"], 64)]


def test_a_line_with_extra_empty_fields_is_rejected_not_shifted(con, load):
    # "45,5" unquoted splits a dose in two: DuckDB would keep the line and drop its empty last field, storing
    # 5 as the site's neighbour's value. Lines 3 and 4 have more fields than the header; 5 is fine.
    result = load("sessions.csv", "patient_id,session_day,route,dose_mg,site\nP1,0,IV,40,North\n"
                                  "P2,0,IV,45,5,North\nP3,0,IV,45,5,,\nP4,0,IV,40,West\n")
    assert (result.rows_read, result.rows_inserted, result.rows_rejected) == (4, 2, 2)
    assert con.execute("select patient_id, site from sessions order by 1").fetchall() == [
        ("P1", "North"), ("P4", "West")]
    assert con.execute("select line_number, reason from rejects order by 1").fetchall() == [
        (3, "line has more fields than the header (Expected Number of Columns: 5 Found: 6)"),
        (4, "line has more fields than the header (Expected Number of Columns: 5 Found: 7)")]


def test_a_malformed_line_is_one_reject(con, load):
    result = load("patients.csv", "patient_id,age_band,sex,site\nS1,35-44,F,North\nS2,35-44,F\n")
    assert (result.rows_inserted, result.rows_rejected) == (1, 1)
    assert con.execute("select line_number from rejects").fetchall() == [(3,)]


def test_a_quote_never_closed_refuses_the_file_with_its_line(con, load):
    before = table_snapshot(con)
    result = load("sessions.csv", 'patient_id,session_day,route,site\nA1,0,IV,North\nA2,0,IV,"N01\n'
                                  "A3,0,IV,West\nA4,0,IV,East\n")
    assert result.refused.startswith("line 3: a quoted value is opened there and never closed")
    assert table_snapshot(con) == before
    # A stray quote inside a value is that value's own character, not an opening quote.
    result = load("stray.csv", 'patient_id,session_day,route,site\nB1,0,IV,5"x\nB2,0,IV,West\n')
    assert (result.rows_inserted, result.rows_rejected) == (2, 0)


def test_a_narrower_export_keeps_the_stored_values_of_columns_it_does_not_have(con, load):
    load("full.csv", "patient_id,session_date,route,status,dose_mg,site,session_id\n"
                     "R1,2024-12-03,IV,cancelled,40,North,S1\nR2,2024-12-04,IV,completed,40,North,S2\n")
    narrow = load("narrow.csv", "patient_id,session_date,route,session_id\nR1,2024-12-03,IV,S1\nR3,2024-12-05,IV,S3\n")
    assert (narrow.rows_inserted, narrow.rows_replaced, narrow.rows_duplicate) == (1, 0, 1)
    site = load("site.csv", "patient_id,session_date,route,session_id,site\nR2,2024-12-04,IV,S2,South\n"
                            "R1,2024-12-03,IV,S1,\n")
    assert (site.rows_inserted, site.rows_replaced) == (0, 2)  # an empty site in a site column is a value
    assert rows(con, "select patient_id, status, dose_mg, site from sessions order by 1") == [
        ("R1", "cancelled", 40.0, None), ("R2", "completed", 40.0, "South"), ("R3", "completed", None, None)]


def test_a_file_changed_while_the_one_before_it_is_stored_is_read_as_it_is_then(tmp_path, db_path):
    """ingest_files checks each file's bytes ahead, while DuckDB works on the one before: a file changed
    since is checked again, so its batch names the bytes that were stored."""
    import hashlib

    from ketamine_outcomes.store import database
    from ketamine_outcomes.ingest.pipeline import ingest_files

    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("patient_id,session_day,route\nP1,0,IV\n")
    second.write_text("patient_id,session_day,route\nP2,0,IV\n")

    def progress(message, fraction=None):
        if message == "a.csv: storing":
            second.write_text("patient_id,session_day,route\nP2,0,IV\nP3,0,IM\n")

    results = ingest_files(db_path, [first, second], progress=progress)
    assert [r.rows_inserted for r in results] == [1, 2]
    with database.open_file(db_path, read_only=True) as con:
        assert rows(con, "select file_name, sha256 from batches order by batch_id") == [
            ("a.csv", hashlib.sha256(first.read_bytes()).hexdigest()),
            ("b.csv", hashlib.sha256(second.read_bytes()).hexdigest())]


def test_cells_are_trimmed_and_blank_ones_are_missing(load, con):
    # Spaces around a value (ASCII or no-break), a bidi mark, a blank cell: what an EHR's export pads with.
    load("sessions.csv",
         "patient_id,session_date,route,status,dose_mg,site,clinician_id,session_id\n"
         "  P1 ,2024-03-01, IV ,completed,40,\u00a0North Side\u00a0, C1,S1\n"
         "P2,2024-03-01,IV,   ,,\u200fLakeview,C 2 ,  \n")
    assert rows(con, "select patient_id, route, status, dose_mg, site, clinician_id, session_id from sessions "
                     "order by patient_id") == [
        ("P1", "IV", "completed", 40.0, "North Side", "C1", "S1"),
        ("P2", "IV", "completed", None, "Lakeview", "C 2", ""),
    ]

