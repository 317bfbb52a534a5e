"""Data (analysts): upload exports, see what each file stored and rejected, the batch history, what
the database covers, and download every mart."""

import streamlit as st

from dashboard import data, filters, signin
from ketamine_outcomes.safe_text import csv_text

st.title("Data")
st.caption("Upload session, outcome and patient exports (CSV). Each file lands whole or not at all; "
           "nothing is dropped silently. The contract: docs/data-contract.md.")

# Directors see what is stored; uploading is the analyst's.
if signin.may("upload"):
    DATE_FORMATS = {"Detect: ISO, or a slash format when the dates leave no doubt": None,
                    "US: MM/DD/YYYY": "us", "Day first: DD/MM/YYYY": "dmy"}
    date_format = st.selectbox("Date format of slash dates (03/04/2024)", DATE_FORMATS, key="data_date_format",
                               help="ISO dates (YYYY-MM-DD) are always read. Slash dates that could be either order "
                                    "are rejected, never guessed, unless you say which order the files use.")
    uploads = st.file_uploader("CSV exports", type=["csv", "tsv", "txt"], accept_multiple_files=True, key="data_upload")
    done = st.session_state.setdefault("data_ingested", {})
    for upload in uploads or []:
        if upload.file_id in done:
            continue
        with st.status(f"Ingesting {upload.name} ({upload.size / 1e6:.1f} MB)", expanded=False) as status:
            result = data.ingest_upload(upload.name, upload.getvalue(), progress=status.write,
                                        date_format=DATE_FORMATS[date_format])
            status.update(label=result.summary(), state="error" if result.refused else "complete")
        signin.record("upload", f"{upload.name}: " + ("refused" if result.batch_id is None
                                                        else f"batch {result.batch_id}"))
        done[upload.file_id] = result

    for result in done.values():
        if result.refused:
            st.error(result.summary())
        else:
            (st.warning if result.rows_rejected else st.success)(result.summary())
            if result.rows_rejected:
                st.dataframe(result.rejects, hide_index=True, key=f"data_rejects_{result.batch_id}")

st.subheader("Batch history")
st.dataframe(data.table("select batch_id, loaded_at, file_name, kind, rows_read, rows_inserted, rows_replaced, "
                        "rows_duplicate, rows_rejected, columns_ignored from batches order by batch_id desc"),
             hide_index=True, key="data_batches")

if signin.may("audit_log"):
    st.subheader("Audit trail")
    st.caption("Who signed in, was refused a page, uploaded, downloaded, changed a setting or exported a report "
               "(times UTC; the latest 500). All of it: `ketamine-outcomes audit`.")
    st.dataframe(signin.trail(500), hide_index=True, key="data_audit")

if data.is_empty():
    st.stop()

st.subheader("Coverage")
st.dataframe(data.mart("coverage"), hide_index=True, key="data_coverage")

if not signin.may("download_rows"):
    st.stop()
st.subheader("Download the marts")
view = filters.current()
if view.meeting_mode:
    st.caption("Hidden in meeting mode: these analyst files are not suppressed. The Quality review page has the "
               "meeting pack.")
    st.stop()
st.caption(f"For the filters in force: {view.caption()}. Downloads are analyst files: small cells are not suppressed.")
columns = st.columns(4)
for i, (name, options) in enumerate({
    "weekly_outcomes": {"instrument": view.instrument}, "weekly_outcomes_itt": {"instrument": view.instrument},
    "series_summary": {"instrument": view.instrument}, "attrition": {"instrument": view.instrument},
    "cohort_comparison": {"instrument": view.instrument, "by": "site"}, "adverse_events": {"by": "route"},
    "blood_pressure": {}, "item9_flags": {},
}.items()):
    if view.meeting_mode and name in ("series_summary", "item9_flags"):
        continue
    frame = data.mart(name, cohort=view.cohort, **options)
    columns[i % 4].download_button(f"{name}.csv", csv_text(frame), file_name=f"{name}.csv",
                                   mime="text/csv", key=f"data_download_{name}", on_click=signin.record,
                                   args=("download", f"{name}.csv ({view.caption()})"))
