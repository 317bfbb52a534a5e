"""What the Data page shows for an uploaded file: one summary per export, its rejected lines and its
warnings counted by reason with three examples each and downloadable as CSV, and, for headers the
contract does not know, a form that maps them and saves the mapping under a name. Everything from the
export (file names, headers, values) is shown through safe_text: it is data, never markup."""

import streamlit as st

from ketamine_outcomes.dashboard import signin
from ketamine_outcomes.ingest.contract import REQUIRED, closest_headers
from ketamine_outcomes.ingest.pipeline import BatchResult, by_reason
from ketamine_outcomes.safe_text import csv_text, markdown

MAPPABLE_KINDS = {"sessions": "Sessions (one line per treatment session)",
                  "outcomes": "Outcomes (one line per questionnaire score)",
                  "patients": "Patients (one line per patient)"}
NOT_IN_FILE = "(choose a header)"


def show_result(result: BatchResult, key: str) -> None:
    """One summary line for one export, then its problems by reason and their downloads."""
    text = markdown(result.summary())
    if result.refused or result.after:
        st.error(text)
    elif result.skipped:
        st.info(text)
    elif result.rows_rejected or result.rows_with_warnings:
        st.warning(text)
    else:
        st.success(text)
    for label, problems, name in (("Rejected lines (not stored)", result.rejects, "rejects"),
                                  ("Stored with a field left empty (warnings)", result.warnings, "warnings")):
        if len(problems):
            st.markdown(f"**{label}**, by reason, three examples each:")
            st.dataframe(by_reason(problems), hide_index=True, key=f"data_{name}_{key}",
                         column_config={"column_name": "column", "n_lines": "lines"})
            # Made when clicked (a callable), and recorded: an eager file would stay at a live /media/ URL
            # for the whole session, which answers without one and whose fetches nobody records.
            file_name = f"{name}_batch_{result.batch_id}.csv"
            signin.recorded_download(f"All {len(problems)} {name} as CSV", lambda problems=problems: csv_text(problems),
                                     "download", file_name, file_name=file_name, mime="text/csv",
                                     key=f"data_{name}_download_{key}")


def mapping_form(result: BatchResult, key: str) -> tuple[str, str, dict[str, str]] | None:
    """For a file refused for a missing required column: dropdowns of the file's headers for each missing
    column, and a name to save the mapping under. Returns (name, kind, {header: column}) when saved."""
    missing = result.missing
    headers = [h for h in missing.headers if h.strip()]
    with st.expander(f"Map the columns of {markdown(result.file_name)}", expanded=True):
        kind = missing.kind
        if kind not in MAPPABLE_KINDS:
            kind = st.selectbox("Which export is it?", list(MAPPABLE_KINDS), format_func=MAPPABLE_KINDS.get,
                                key=f"data_map_kind_{key}")
        groups = missing.missing if missing.kind == kind and missing.missing else REQUIRED[kind]
        columns: dict[str, str] = {}
        for n, alternatives in enumerate(groups):
            column = alternatives[0]
            if len(alternatives) > 1:
                column = st.radio(f"The file gives {' or '.join(alternatives)} as", alternatives, horizontal=True,
                                  key=f"data_map_as_{key}_{n}")
            close = closest_headers(alternatives, headers)
            index = headers.index(close[0]) + 1 if close else 0
            header = st.selectbox(f"Header holding {column}", [NOT_IN_FILE, *headers], index=index,
                                  key=f"data_map_header_{key}_{n}")
            if header != NOT_IN_FILE:
                columns[header] = column
        name = st.text_input("Save the mapping as", key=f"data_map_name_{key}",
                             placeholder="e.g. Osmind sessions")
        complete = len(columns) == len(groups) and name.strip()
        if st.button("Save the mapping and ingest again", key=f"data_map_save_{key}", disabled=not complete,
                     help="Stored in the database; the command line uses it with `ingest --mapping NAME`."):
            return name.strip(), kind, columns
    return None
