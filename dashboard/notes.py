"""Notes on the charts in the dashboard: the process changes in force (read afresh each run: a note changes no
data version), the sentence that lists them under a chart, and the form where directors and analysts record or
take one back (never in meeting mode; each is in the audit trail)."""

from datetime import date

import pandas as pd
import streamlit as st

from ketamine_outcomes.dashboard import data, filters, signin
from ketamine_outcomes.care import chart_notes
from ketamine_outcomes.safe_text import markdown


def in_force() -> pd.DataFrame:
    with data.connection() as con:
        return chart_notes.notes(con)


def listed(notes: pd.DataFrame) -> None:
    """One caption naming every process change in force (the labels are the clinic's text: escaped)."""
    if notes.empty:
        return
    items = "; ".join(f"{pd.Timestamp(row.change_date).date()}: {markdown(row.label)}" for row in notes.itertuples())
    st.caption(f"Process changes recorded (notes on the charts): {items}.")


def editor(view: filters.View, notes: pd.DataFrame) -> None:
    """The form to record a process change, and the notes with a way to take each back: for roles that may see
    patient rows (directors, analysts), outside meeting mode."""
    if view.meeting_mode or not signin.may("patient_rows"):
        return
    done = st.session_state.pop("notes_done", None)
    with st.expander("Notes on the charts: record a process change", expanded=bool(done)):
        if done:
            st.success(done)
        st.caption("A change the clinic made on purpose (a new dosing protocol, a new site, a new questionnaire "
                   "schedule). The p-chart marks it and, when asked, computes its centre line and limits again from "
                   "the first period that starts on or after the date (NHS England, Making Data Count); trajectories "
                   "and the meeting pack list it. Describe the process, never a person: the label is shown to "
                   "meetings, and one that looks like an identifier is refused.")
        with st.form("notes_form", clear_on_submit=True):
            day = st.date_input("Date the change took effect", value=None, key="notes_date", max_value=date.today())
            label = st.text_input("What changed", max_chars=chart_notes.MAX_LABEL, key="notes_label",
                                  placeholder="new dosing protocol")
            again = st.checkbox("Recalculate the p-chart's limits from here", value=True, key="notes_recalculate")
            if st.form_submit_button("Record the note", icon=":material/edit_note:"):
                _record(day, label, again)
        for row in notes.itertuples():
            left, right = st.columns([5, 1])
            left.write(f"{pd.Timestamp(row.change_date).date()}: {markdown(row.label)}"
                       + (" (limits recalculated)" if row.recalculate_limits else "")
                       + f", recorded by {markdown(row.recorded_by)}")
            right.button("Take back", key=f"notes_take_back_{row.note_id}", on_click=_take_back, args=(row.note_id,))


def _record(day, label: str, again: bool) -> None:
    user = signin.user()
    try:
        with data.writing() as con:
            chart_notes.record(con, day, label, again, user.email, user.audit_role)
    except chart_notes.NoteRefused as refused:
        st.error(markdown(refused))
        return
    st.session_state["notes_done"] = markdown(f"Recorded: {day}: {' '.join(label.split())}.")
    st.rerun()


def _take_back(note_id: int) -> None:
    user = signin.user()
    try:
        with data.writing() as con:
            chart_notes.take_back(con, int(note_id), user.email, user.audit_role)
    except chart_notes.NoteRefused:
        pass  # taken back by someone else a moment ago: the list shows it gone
