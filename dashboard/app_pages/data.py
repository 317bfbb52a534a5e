"""Data (analysts): upload exports, see what each file stored, rejected and stored with a warning, map
headers the contract does not know, undo a batch, the batch history, what the database covers, and
download every mart."""

import streamlit as st

from ketamine_outcomes.dashboard import data, feedback, filters, signin, tables, ui
from ketamine_outcomes.metrics import declarations, marts
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.ingest.pipeline import upload_detail
from ketamine_outcomes.privacy import safe_file_name
from ketamine_outcomes.safe_text import csv_text, markdown, plain

st.title("Data")
st.caption("Upload session, outcome and patient exports: CSV (UTF-8, Windows-1252 or UTF-16; comma, semicolon, "
           "tab or pipe), gzip or zip, or Excel/OpenDocument workbooks (.xlsx, .xlsm, .xls, .ods: each sheet "
           "with a known layout is its own batch). Each export lands whole or not at all. Extra columns are "
           "ignored and listed; a line missing a required field is rejected; an optional field that cannot be "
           "read is stored empty with a warning. A file with a direct identifier (a name, phone, e-mail, SSN, "
           "MRN or date of birth column; such a value anywhere, a street address or 5-digit ZIP included; or one in "
           "its file name), or a patient id that reads as a name, is refused whole; ages over 89 are stored as 90+; an "
           "indication or adverse event that is no term of the vocabulary is stored as other, its text not kept. "
           "The contract: docs/data-contract.md.")
if data.is_empty():
    st.info("This clinic has no data yet. Upload its **sessions** export (patient_id, session_date or "
            "session_day, route; optional status, dose, site, clinician, adverse events, blood pressure) and "
            "its **outcomes** export (patient_id, assessment_date or _day, instrument, score; or one score "
            "column per instrument), and optionally a **patients** export (age band, sex, indication, site).")
else:
    ui.data_as_of()  # what the last upload brought up to, before the analyst adds the next

DATE_FORMATS = {"Detect: ISO, or a slash format when the dates leave no doubt": None,
                "US: MM/DD/YYYY": "us", "Day first: DD/MM/YYYY": "dmy"}
NO_MAPPING = "None: headers as the contract names them"


def ingest(upload, mapping_name, date_format):
    bar = st.progress(0.0, text=f"Ingesting {markdown(upload.name)} ({upload.size / 1e6:.1f} MB)")

    def progress(message, fraction=None):
        if fraction is not None:
            bar.progress(min(fraction, 1.0), text=f"{fraction:.0%}: {markdown(message)}")

    who = signin.user()
    results = data.ingest_upload(upload.name, upload.getvalue(), progress=progress, date_format=date_format,
                                 mapping_name=None if mapping_name == NO_MAPPING else mapping_name,
                                 recorded_as=(who.email, who.audit_role))
    bar.empty()
    # Each stored batch was recorded in its own transaction; a refusal stores nothing and is recorded here.
    refused = [r for r in results if r.batch_id is None]
    if refused:
        signin.record("upload", f"{safe_file_name(upload.name)}: refused" if len(results) == 1 else
                      "; ".join(upload_detail(r.file_name, None) for r in refused))
    return results


def upload_section():
    date_format = DATE_FORMATS[st.selectbox(
        "Date format of slash dates (03/04/2024)", DATE_FORMATS, key="data_date_format",
        help="ISO dates (YYYY-MM-DD) and Excel date cells are always read. Slash dates that could be either "
             "order are rejected, never guessed, unless you say which order.")]
    mapping = st.selectbox("Column mapping", [NO_MAPPING, *data.saved_mappings()], key="data_mapping",
                           help="A saved mapping names headers the contract does not know. Save one below when a "
                                "file is refused for a missing column.")
    uploads = st.file_uploader("Exports", type=["csv", "tsv", "txt", "gz", "zip", "xlsx", "xlsm", "xls", "ods"],
                               accept_multiple_files=True, key="data_upload")
    # Keyed on the upload (Streamlit gives each file the browser sends a new id): a widget changed after an
    # upload reruns this page with the same files, which are never stored again, even if an ingest failed.
    done = st.session_state.setdefault("data_ingested", {})
    fresh = [upload for upload in uploads or [] if upload.file_id not in done]
    for upload in fresh:
        done[upload.file_id] = []
        done[upload.file_id] = ingest(upload, mapping, date_format)
    if fresh:
        st.rerun()  # the sidebar's filter options and the history follow the new data at once

    uploaded = {upload.file_id: upload for upload in uploads or []}
    for file_id, results in done.items():
        for n, result in enumerate(results):
            feedback.show_result(result, key=f"{file_id}_{n}")
            if result.missing is not None and file_id in uploaded and len(results) == 1:
                saved = feedback.mapping_form(result, key=uploaded[file_id].name)
                if saved:
                    data.save_mapping(*saved)
                    done[file_id] = ingest(uploaded[file_id], saved[0], date_format)
                    st.rerun()
    vocabulary_section()


VOCABULARY_COLUMNS = {"Indication": "primary_indication", "Adverse event": "adverse_events",
                      "Ethnicity": "ethnicity"}


def vocabulary_section():
    """The clinic's own terms for the free-text columns: anything outside the vocabulary is stored as
    'other', its text not kept (it may name someone)."""
    with st.expander("Clinic vocabulary: indications, adverse events, ethnicity categories"):
        st.caption("An indication, adverse event or ethnicity that is not a term of the vocabulary is stored as "
                   "'other' (a warning names the line, never the text). Add your clinic's own terms here; they "
                   "apply from the next upload (upload the file again to re-read it). Ethnicity has no built-in "
                   "categories: add your region's census categories.")
        column = st.selectbox("Column", list(VOCABULARY_COLUMNS), key="data_vocabulary_column")
        terms = st.text_area("Terms, one per line", key="data_vocabulary_terms", height=100)
        name = st.text_input("Saved with the column mapping named", value="clinic vocabulary",
                             key="data_vocabulary_mapping")
        if st.button("Add the terms", key="data_vocabulary_add", disabled=not terms.strip()):
            try:
                added = data.add_vocabulary_terms(name, VOCABULARY_COLUMNS[column],
                                                  [t for t in terms.splitlines() if t.strip()])
            except ValueError as refusal:
                st.error(f"Nothing added: {markdown(str(refusal))}")
            else:
                if added:
                    signin.record("settings", f"vocabulary of {VOCABULARY_COLUMNS[column]} (mapping "
                                              f"{safe_file_name(name)}): added {', '.join(added)}")
                st.success(f"{len(added)} term(s) added" + (f": {markdown(', '.join(added))}" if added else
                                                           " (each was already a term)"))


# Directors see what is stored; uploading is the analyst's. A meeting's shared screen shows neither the
# uploader, the undo, nor the audit trail (staff addresses and file names are not for the room).
meeting = filters.current().meeting_mode
if signin.may("upload") and not meeting:
    upload_section()

st.subheader("Batch history")
history = data.table("select batch_id, loaded_at, file_name, kind, rows_read, rows_inserted, rows_replaced, "
                     "rows_duplicate, rows_rejected, rows_with_warnings, array_to_string(columns_ignored, ', ') as "
                     "columns_ignored, source, undone_at "
                     "from batches order by batch_id desc")
tables.plain(history, key="data_batches", title="batch history")
columns = st.columns(3)
# Rejected values are line-level data, not suppressed: analysts only, never in meeting mode.
# Each download's contents are made when it is clicked (a callable), not on every run of the page: at 100k
# patients these files cost seconds to write, and most visits take none of them.
if signin.may("download_rows") and not meeting:
    for column, name in zip(columns, ("rejects", "warnings")):
        # An undone batch's are left out, as `ketamine-outcomes rejects` leaves them out.
        signin.recorded_download(f"All {name} as CSV", lambda name=name: csv_text(data.table(
            f"select batch_id, line_number, column_name, value, reason from {name} where batch_id not in "
            "(select batch_id from batches where undone_at is not null) order by batch_id, line_number")),
            "download", f"{name}.csv", where=column, file_name=f"{name}.csv", mime="text/csv",
            key=f"data_all_{name}")
undoable = history[(history.kind != "undo") & history.undone_at.isna()]
if signin.may("upload") and len(undoable) and not meeting:
    with columns[2].popover("Undo a batch"):
        files = dict(zip(undoable.batch_id, undoable.file_name))
        batch = st.selectbox("Batch", list(files), key="data_undo_batch",
                             format_func=lambda b: plain(f"{b}: {files[b]}"))  # options are drawn as text
        if st.button("Remove what it inserted, restore what it replaced", key="data_undo"):
            st.session_state["data_undone"] = data.undo_batch(int(batch))
            signin.record("undo", f"batch {batch}")
            st.rerun()
if "data_undone" in st.session_state:
    st.success(markdown(st.session_state.pop("data_undone")))

if signin.may("audit_log") and not meeting:
    st.subheader("Audit trail")
    st.caption("Who signed in, was refused a page, uploaded, downloaded, changed a setting or exported a report "
               "(times UTC; the latest 500). All of it: `ketamine-outcomes audit`.")
    tables.plain(signin.trail(500), key="data_audit", title="audit trail")

if data.is_empty():
    st.stop()

st.subheader("Coverage")
coverage = data.mart("coverage")
# Counts of patients, series and assessments: suppressed and rounded as everywhere else, but in an analyst's
# internal view (below the clinic's threshold), where they are exact.
tables.plain(panels.coverage(coverage, filters.current().disclosure), key="data_coverage", title="coverage")

if not signin.may("download_rows"):
    st.stop()
st.subheader("Download the marts")
view = filters.current()
if view.meeting_mode:
    st.caption("Hidden in meeting mode: these analyst files are not suppressed. The Quality review page has the "
               "meeting pack.")
    st.stop()
# The files are the marts as built (make_csv below), whatever the view's threshold: the caption names the filters
# they follow and says once that their counts are exact, not the view's suppression, which they do not follow.
# Each file's name and first line name the filters that mart follows (tables.file_name, as every table's download).
unfiltered = [name for name in tables.MART_FILES if not declarations.MARTS[name].filtered]
st.caption(f"For the filters in force: {view.instrument} · {markdown(view.cohort.describe())}, each file's name and "
           f"first line saying which it follows ({', '.join(unfiltered)}: {filters.NOT_FILTERED}; a mart without an instrument: "
           "none). Downloads are analyst files: exact counts, small cells not suppressed or rounded, whatever this "
           "view's threshold.")
columns = st.columns(4)
# Every mart, split as its page first shows it, but series_trajectories: a sample of 200 series for drawing
# (series_summary has every series).
SPLITS = {"cohort_comparison": "site", "adverse_events": "route", "protocol_adherence": "site", "casemix_series": "site"}
for i, name in enumerate(mart for mart in marts.MARTS if mart != "series_trajectories"):
    options = {} if name in marts.WITHOUT_INSTRUMENT else {"instrument": view.instrument}
    if name in SPLITS:
        options["by"] = SPLITS[name]

    declared = declarations.MARTS[name]
    follows = {"instrument": True if declared.instrument else None, "filtered": declared.filtered}

    def make_csv(name=name, options=options, follows=follows) -> str:
        return tables.csv_with_filters(data.mart(name, cohort=view.cohort, **options), view, name, analyst_file=True,
                                       **follows)
    label, rows = tables.MART_FILES[name]
    file = tables.file_name(name, view, analyst_file=True, **follows)
    # An analyst's file, never suppressed: its name and its audit row say so wherever it goes.
    signin.recorded_download(label, make_csv, "download",
                             f"{file} ({view.caption(analyst_file=True, **follows)})",
                             where=columns[i % 4], file_name=file,
                             help=f"`{file}`: {rows}. Its columns are described in "
                                  "docs/metrics.md under the mart's name. Not suppressed: not for circulation.",
                             mime="text/csv", key=f"data_download_{name}", width="stretch")
