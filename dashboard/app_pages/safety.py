"""Safety: adverse events per session, blood pressure around the dose, suicidality over the induction,
dissociation (CADSS) by session, and PHQ-9 item 9 flags for follow-up."""

import streamlit as st

from ketamine_outcomes.dashboard import data, filters, patients, tables, ui
from ketamine_outcomes.disclosure import panels, safety_panels
from ketamine_outcomes.definitions import INSTRUMENTS
from ketamine_outcomes.safe_text import markdown

view = ui.page("Safety", "Adverse events, blood pressure, self-harm thoughts (PHQ-9 item 9) and dissociation.")
BY = {"route": "route", "session number": "session_number", "dose band": "dose_band"}
ITEM9_BY = {"all series": "all", "route": "route", "site": "site"}
CADSS_BY = {"all series": "all", "route": "route"}
settings = data.settings()
selection = ui.selection(view)

st.subheader("Any safety signal?")
signals = safety_panels.safety_signals(data.mart, selection, settings)
summary = signals.data["summary"]
STATUS = {"above": ":red[**above**]", "possibly above": ":orange[**possibly above**]", "not above": "not above",
          "no reference": "no reference", panels.HIDDEN: "hidden"}
st.markdown(f"**{signals.data['headline']}**")
st.markdown("\n".join(f"- {STATUS[row.status]}: {markdown(row.signal)}: {markdown(row.finding)}. Reference: "
                       f"{markdown(row.reference)}." for row in summary.itertuples()))
st.caption("Adverse events are counted as trials count them: series with the event at least once in their "
           "induction's sessions, among series whose induction is decided (completed or stopped), against the "
           "published range for their route. **Above**: the whole 95% interval is above the range; **possibly "
           "above**: the share is, but the interval reaches it. Routes and events without a checked published "
           "figure are not judged (the stored dizziness includes vertigo, and sedation somnolence, which the "
           "esketamine trials count apart). The rates per session are below. Sources: "
           + markdown("; ".join(signals.data["sources"]) or "none for these routes") + ".")
ui.definitions_link("a safety signal")

filters.choice("safety_by", list(BY))
by = st.selectbox("Split adverse events by", list(BY), key="safety_by")
events = safety_panels.adverse_events(data.mart, selection, BY[by], by)
if events.empty:
    ui.nothing_selected(view)
    st.stop()
ui.chart(events.figure, "safety_events", view)
ui.suppression_note(events.hidden, view)
st.caption("Spravato label, esketamine vs placebo: dissociation 41% vs 9%, dizziness 29% vs 8%, nausea 28% vs 9%, "
           "sedation 23% vs 9%, increased blood pressure 10% vs 3%, vomiting 9% vs 2%.")
ui.definitions_link("an adverse-event rate")

st.subheader("Blood pressure")
pressure = safety_panels.blood_pressure(data.mart, selection, settings)
ui.chart(pressure.figure, "safety_bp", view)
ui.chart(pressure.data["flags"], "safety_bp_flags", view)
st.caption(f"A **rise**: the session's peak at least {settings['bp_rise_systolic']:g} mmHg above the pre-dose "
           f"systolic reading, or {settings['bp_rise_diastolic']:g} above the diastolic one, out of sessions with "
           f"both readings. **Raised before dosing**: a pre-dose reading above {settings['bp_pre_systolic_above']:g}/"
           f"{settings['bp_pre_diastolic_above']:g}, out of sessions with a pre-dose reading. Both from the Spravato "
           "label (rises of 40 systolic or 25 diastolic after dosing; caution above 140/90 before dosing); the "
           "thresholds are settings.")
ui.suppression_note(pressure.hidden, view)
tables.show(pressure.rows, None, view, key="safety_bp_table", title="blood pressure", instrument=None)
ui.definitions_link("a blood-pressure rise")

st.subheader("Suicidality over the induction")
filters.choice("safety_item9_by", list(ITEM9_BY))
item9_by = st.selectbox("Split by", list(ITEM9_BY), key="safety_item9_by")
course = safety_panels.item9_course(data.mart, selection, ITEM9_BY[item9_by])
ui.chart(course.figure, "safety_item9_course", view)
st.caption("Evaluable series only (the end-of-induction window has closed, or the series dropped out). "
           "**Resolved**: of series with item 9 of 1 or more at baseline, those whose last item 9 at the end of "
           "induction is 0. **Emerged**: of series with item 9 of 0 at baseline, those with any item 9 of 1 or more "
           "after it, up to the end of induction. **Reliable deterioration**: the PHQ-9 total rose "
           f"{INSTRUMENTS['PHQ-9'].reliable_change} points or more from baseline to the end of induction. Published figures are not shown beside these yet: they have "
           "not been checked against their sources.")
ui.suppression_note(course.hidden, view)
tables.show(course.rows, None, view, key="safety_item9_course_table", title="item 9 over the induction",
            instrument="PHQ-9")
ui.definitions_link("item 9 over the induction")

st.subheader("Dissociation (CADSS)")
filters.choice("safety_cadss_by", list(CADSS_BY))
cadss_by = st.selectbox("Split by", list(CADSS_BY), key="safety_cadss_by")
dissociation = safety_panels.dissociation(data.mart, selection, CADSS_BY[cadss_by])
ui.chart(dissociation.figure, "safety_cadss", view)
ui.suppression_note(dissociation.hidden, view)
if dissociation.rows is not None:
    tables.show(dissociation.rows, None, view, key="safety_cadss_table", title="CADSS by session", instrument=None)
ui.definitions_link("CADSS")

st.subheader("PHQ-9 item 9 flags")
# The counts follow the filters, as the meeting pack's (the same panel); the list below is the whole clinic's.
answered = safety_panels.item9_flags_in_period(data.mart, selection).data
st.markdown(f"**In the series of these filters**: {answered['flagged']} PHQ-9 answers with item 9 of 1 or more "
            f"({answered['rises']} higher than at the series' baseline), from {answered['patients']} patients "
            "(counts as the filters line says).")
st.caption(markdown(f"Covers: {answered['when']}."))
if view.meeting_mode:
    st.caption(f"Hidden in meeting mode: this list is patient-level, for clinical follow-up. How the flags were "
               f"followed up ({filters.NOT_FILTERED}, counts):")
    st.table(patients.follow_up_counts_for_meeting(view.min_cell))
else:
    listed, every = patients.item9_flag_rows()
    total = len(every.numbers)
    # Patient-level, for the care team: exact, unlike the page's counts (the filters line's suppression).
    st.caption(f"**{filters.NOT_FILTERED.capitalize()}**: {total:,} PHQ-9 answers with item 9 (thoughts of "
               "self-harm) of 1 or more (patient-level, exact counts), newest first: **every PHQ-9 in the data, of "
               "every site and route, whether or not it belongs to a treatment series, whatever the filters in the "
               "sidebar** (its download says so in its name and first line). Any non-zero item 9 calls for clinical "
               "follow-up."
               + (f" Listed here: the newest {len(listed.numbers):,}. The follow-up page (below) finds any of them, "
                  f"open flags first or by patient, and the table's download holds all {total:,} (for a role that may "
                  "download rows)." if total > len(listed.numbers) else ""))
    st.page_link("app_pages/follow_up.py", label="Record how each flag was followed up",
                 icon=":material/assignment_turned_in:")
    # The list follows no filter: its caption, its file's name and first line all say "whole clinic, not filtered".
    tables.show(listed, None, view, key="safety_item9", title="item 9 flags", patient_level=True,
                link_columns=patients.LINK_COLUMN, download_rows=every if total > len(listed.numbers) else None,
                instrument="PHQ-9", filtered=False)
ui.definitions_link("an item 9 flag")
