"""Guards the export contract: which export a header is, which column means what, and the refusal
of a header that is no export (docs/data-contract.md)."""

import pytest

from ketamine_outcomes.ingest.contract import MissingColumns, read_layout
from ketamine_outcomes.refused import RefusedFile


def test_sessions_header_in_any_order_with_extra_columns_reported():
    layout = read_layout("route,Notes,session_date,patient_id")
    assert layout.kind == "sessions"
    assert layout.canonical == ["route", None, "session_date", "patient_id"]
    assert layout.ignored == ["Notes"]


def test_header_matching_ignores_case_spaces_punctuation_and_bom():
    layout = read_layout("\ufeffPATIENT ID,Session-Date,  Route ,Adverse Events,Systolic BP (peak)")
    assert layout.canonical == ["patient_id", "session_date", "route", "adverse_events", "systolic_bp_peak"]


@pytest.mark.parametrize("header, delimiter", [
    ("patient_id;session_day;route", ";"),
    ("patient_id\tsession_day\troute", "\t"),
    ("patient_id,session_day,route", ","),
])
def test_semicolon_and_tab_delimited_headers(header, delimiter):
    layout = read_layout(header)
    assert (layout.kind, layout.delimiter) == ("sessions", delimiter)
    assert layout.canonical == ["patient_id", "session_day", "route"]


def test_long_outcomes_header():
    layout = read_layout("Patient ID,Assessment Date,Instrument,Score,PHQ-9 item 9")
    assert layout.kind == "outcomes"
    assert layout.canonical == ["patient_id", "assessment_date", "instrument", "score", "item9"]


def test_wide_outcomes_header_names_a_score_column_per_instrument():
    layout = read_layout("patient_id,assessment_day,PHQ-9 Total Score,gad7_total,PCL5,QIDS-SR16 total,phq9_item9")
    assert layout.kind == "outcomes_wide"
    assert layout.canonical == ["patient_id", "assessment_day", "score_phq9", "score_gad7", "score_pcl5",
                                "score_qidssr16", "item9"]


def test_patients_header():
    layout = read_layout("patient_id,age_band,gender,diagnosis,clinic")
    assert layout.kind == "patients"
    assert layout.canonical == ["patient_id", "age_band", "sex", "primary_indication", "site"]


def test_date_format_declared_in_the_header():
    assert read_layout("patient_id,session_date (MM/DD/YYYY),route").date_format == "us"
    assert read_layout("patient_id,session_date (DD/MM/YYYY),route").date_format == "dmy"
    assert read_layout("patient_id,session_date,route").date_format is None


def test_unrecognisable_header_is_refused_saying_what_was_expected_and_found():
    with pytest.raises(RefusedFile) as refusal:
        read_layout("visit,weight_kg,notes")
    message = str(refusal.value)
    assert "Expected one of: sessions (patient_id, session_date or session_day, route" in message
    assert "Found: visit, weight_kg, notes." in message


def test_recognised_export_missing_a_required_column_is_refused():
    with pytest.raises(RefusedFile, match="sessions export but has no session_date or session_day column"):
        read_layout("patient_id,route,status")


def test_a_misnamed_date_column_is_named_with_the_closest_headers_not_the_whole_contract():
    with pytest.raises(MissingColumns) as refusal:
        read_layout("Patient ID,Appt Dt,Route,Provider,Appointment Type,Notes")
    message = str(refusal.value)
    assert message.startswith("this looks like a sessions export but has no session_date or session_day column "
                              "(closest in the file: 'Appt Dt'")
    assert "outcomes (" not in message  # the contract is not dumped
    assert refusal.value.missing == [("session_date", "session_day")]


def test_two_or_more_unknown_columns_are_ignored_and_listed():
    layout = read_layout("patient_id,session_date,route,Appointment Type,Notes,Room")
    assert layout.canonical == ["patient_id", "session_date", "route", None, None, None]
    assert layout.ignored == ["Appointment Type", "Notes", "Room"]


def test_a_mapping_names_columns_the_contract_does_not_know():
    layout = read_layout("Client,Appt Dt,Route,Date", mapping={"client": "patient_id", "apptdt": "session_date"}, kind="sessions")
    assert layout.canonical == ["patient_id", "session_date", "route", None]
    assert layout.ignored == ["Date"]


def test_two_columns_with_one_meaning_are_refused():
    with pytest.raises(RefusedFile, match="'date' and 'session_date' both look like session_date"):
        read_layout("patient_id,date,session_date,route")
