"""Guards the privacy rule: a file that carries a direct identifier (HIPAA Safe Harbor) is refused
before anything is stored, naming the column, and never echoes the identifying value."""

import pytest

from conftest import table_snapshot


@pytest.mark.parametrize("column", [
    "name", "First Name", "last_name", "Patient Name", "email", "Phone", "mobile", "Home Address", "street",
    "SSN", "Patient MRN", "medical_record_number", "DOB", "date_of_birth", "BirthDate",
])
def test_identifier_columns_are_refused_with_the_column_named(load, con, column):
    before = table_snapshot(con)
    result = load("s.csv", f"patient_id,session_day,route,{column}\nP1,0,IV,x\n")
    assert result.refused is not None
    assert f"'{column}'" in result.refused and "direct identifier" in result.refused
    assert table_snapshot(con) == before


@pytest.mark.parametrize("value, label", [
    ("jane.doe@example.org", "email addresses"),
    ("555-867-5309", "phone numbers"),
    ("(555) 867-5309", "phone numbers"),
    ("+1 555 867 5309", "phone numbers"),
    ("123-45-6789", "social security numbers"),
])
def test_identifier_values_in_any_column_are_refused(load, con, value, label):
    before = table_snapshot(con)
    result = load("s.csv", f"patient_id,session_day,route,comment\nP1,0,IV,ok\nP2,1,IV,call {value}\n")
    assert result.refused == (f"column 'comment' holds values that look like {label} (first at line 3). "
                              "Exports must be de-identified (HIPAA Safe Harbor): remove or mask the column "
                              "and export again.")
    assert value not in result.refused
    assert table_snapshot(con) == before


def test_identifier_in_a_malformed_line_is_refused_too(load, con):
    result = load("s.csv", "patient_id,session_day,route\nP1,0,IV\nP2,1,IV,jane@example.org\n")
    assert result.refused.startswith("line 3 holds a value that looks like an email")
    assert table_snapshot(con)["sessions"] == []


def test_zip_with_five_digits_is_refused_and_three_digit_zip_is_not(load, con):
    refused = load("p.csv", "patient_id,sex,zip\nP1,F,021\nP2,M,02139\n")
    assert "column 'zip' holds values that look like ZIP codes longer than 3 digits (first at line 3)" in refused.refused
    accepted = load("p2.csv", "patient_id,sex,zip3\nP1,F,021\n")
    assert accepted.refused is None and accepted.rows_inserted == 1


def test_pseudonymous_ids_dates_and_site_names_are_not_identifiers(load):
    result = load("s.csv", "patient_id,session_date,route,site_name,dose_mg\n"
                           "1234567890,2024-01-02,IV,Riverside Clinic,35.5\n")
    assert result.refused is None and result.rows_inserted == 1
