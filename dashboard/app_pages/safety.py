"""Safety: adverse events per session, blood-pressure peaks, and PHQ-9 item 9 flags for follow-up."""

import streamlit as st

from dashboard import data, filters, tables, ui
from ketamine_outcomes import charts, suppress

view = ui.page("Safety", "Adverse events, blood pressure and self-harm item flags.")
BY = {"route": "route", "session number": "session_number", "dose band": "dose_band"}

filters.choice("safety_by", list(BY))
by = st.selectbox("Split adverse events by", list(BY), key="safety_by")
events = data.mart("adverse_events", by=BY[by], cohort=view.cohort)
if events.empty:
    ui.nothing_selected()
    st.stop()
shown = suppress.for_chart(events, "adverse_events", view.min_cell)
figure = charts.adverse_events_by_session(shown) if BY[by] == "session_number" else charts.adverse_events(shown, by)
ui.chart(figure, "safety_events", view)
ui.suppression_note(suppress.suppressed(events, "adverse_events", view.min_cell), view)
st.caption("Spravato label, esketamine vs placebo: dissociation 41% vs 9%, dizziness 29% vs 8%, nausea 28% vs 9%, "
           "sedation 23% vs 9%, increased blood pressure 10% vs 3%, vomiting 9% vs 2%.")
ui.definitions_link("an adverse-event rate")

st.subheader("Blood pressure")
pressure = data.mart("blood_pressure", cohort=view.cohort)
ui.chart(charts.blood_pressure(suppress.for_chart(pressure, "blood_pressure", view.min_cell)), "safety_bp", view)
tables.show(pressure, "blood_pressure", view, key="safety_bp_table", title="blood pressure")

st.subheader("PHQ-9 item 9 flags")
if view.meeting_mode:
    st.caption("Hidden in meeting mode: this list is patient-level, for clinical follow-up.")
else:
    flags = data.mart("item9_flags", cohort=view.cohort)
    st.caption(f"{len(flags):,} PHQ-9 answers with item 9 (thoughts of self-harm) of 1 or more, newest first. "
               "Any non-zero item 9 calls for clinical follow-up.")
    tables.show(flags, None, view, key="safety_item9", title="item 9 flags", patient_level=True)
ui.definitions_link("an item 9 flag")
