"""Item 9 follow-up: every PHQ-9 with item 9 (thoughts of self-harm) of 1 or more, open flags first, each marked
with an outcome from a fixed list by whoever followed it up; the mark and its audit row are written together.
Patient level: roles that may see patient rows, never in meeting mode (a meeting sees the counts on Safety)."""

import pandas as pd
import streamlit as st

from ketamine_outcomes.dashboard import data, patients, signin, tables, ui
from ketamine_outcomes.care import follow_up
from ketamine_outcomes.safe_text import markdown

view = ui.page("Item 9 follow-up", "PHQ-9 answers with thoughts of self-harm (item 9 of 1 or more): who followed "
                                   "each up, and how.", patient_level=True)
patients.only_outside_meetings(view)
LIMIT = 200  # rows a screen shows: a large network holds tens of thousands of flags

done = st.session_state.pop("follow_up_done", None)
if done:
    st.success(done)
counts = patients.follow_up_counts().set_index("state").n_flags
total = int(counts.sum())
st.caption(f"{total:,} flags, {int(counts['open']):,} open: every PHQ-9 in the data with item 9 of 1 or more, in a "
           "series or not, whatever the filters in the sidebar. Open flags first, newest first. Outcomes are a fixed "
           "list (no free text, which would carry names); each mark is in the audit trail. "
           + ", ".join(f"{state}: {int(n):,}" for state, n in counts.items() if state != "open") + ".")
left, right = st.columns([2, 1])
patient = left.text_input("Patient id", key="follow_up_patient", placeholder="the start of an id, or empty for all")
only_open = right.toggle("Open flags only", key="follow_up_only_open")
flags = patients.follow_up_flags(only_open=only_open, patient=patient.strip() or None, limit=LIMIT)
if len(flags) == LIMIT:
    st.caption(f"The first {LIMIT} shown: type a patient id to find a flag further down.")
when = "assessment_date" if flags.assessment_date.notna().any() else "assessment_day"
tables.show(patients.with_links(flags), None, view, key="follow_up_list", title="item 9 follow-up",
            patient_level=True, instrument="PHQ-9", filtered=False, link_columns=patients.LINK_COLUMN,
            columns=["view", "patient_id", "series_id", when, "score", "item9", "is_open", "outcome", "recorded_by",
                     "recorded_at"])
ui.definitions_link("an item 9 flag")

st.subheader("Mark a flag")
if flags.empty:
    st.write("No flag to mark.")
    st.stop()


def _key(row) -> str:
    """A flag's identity (patient and day): the choice the form keeps. Not its position in the list, which moves
    when someone else marks a flag or the data changes between drawing the form and submitting it."""
    return f"{row.patient_id}\t{int(row.assessment_day)}"


shown = {_key(row): row for row in flags.itertuples()}


def _label(key: str) -> str:
    # Who the flag is, never its state: a label that changed when someone else marked the flag would no longer
    # match the choice made, and the form would fall back to another flag.
    row = shown[key]
    day = row.assessment_date.date() if pd.notna(row.assessment_date) else f"day {row.assessment_day}"
    return f"{row.patient_id} · {day} · item 9 = {row.item9}"


with st.form("follow_up_form", clear_on_submit=True, border=True):
    chosen = st.selectbox("Flag", list(shown), format_func=_label, key="follow_up_flag", index=None,
                          placeholder="Choose a flag from the list above",
                          help="The flags listed above, open first. A flag marked before can be marked again: the "
                               "latest mark is its state.")
    outcome = st.radio("Outcome", follow_up.OUTCOMES, horizontal=True, key="follow_up_outcome", index=None)
    submitted = st.form_submit_button("Record the follow-up", type="primary", icon=":material/check:")
if submitted:
    if chosen not in shown:
        st.warning("Choose a flag: the one chosen may have left the list (marked by someone else, or the data changed).")
    elif outcome is None:
        st.warning("Choose an outcome.")
    else:
        row = shown[chosen]
        user = signin.user()
        try:
            with data.writing() as con:
                follow_up.mark(con, row.patient_id, int(row.assessment_day), outcome, user.email, user.audit_role)
        except follow_up.FollowUpRefused as refused:
            st.error(markdown(refused))
        else:
            st.session_state["follow_up_done"] = markdown(f"Recorded for {row.patient_id}: {outcome}, by {user.email}.")
            st.rerun()
