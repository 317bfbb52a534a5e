"""Response and remission: rates by week, change per series, severity transitions, time to response, and
the NHS Talking Therapies measures at end of induction."""

import streamlit as st

from ketamine_outcomes.dashboard import data, tables, ui
from ketamine_outcomes.disclosure import response_panels
from ketamine_outcomes.definitions import NATIONAL_STANDARDS

view = ui.page("Response & remission", "Who gets better, how much, and how fast.")
selection = ui.selection(view)

by_week = response_panels.rates_by_week(data.mart, selection)
if by_week.empty:
    ui.nothing_selected(view, view.instrument)
    st.stop()
ui.chart(by_week.figure, "response_rates", view)
ui.suppression_note(by_week.hidden, view)
st.caption(f"Who is counted: n = {by_week.data['n_text']} evaluable series with a {view.instrument} baseline (the "
           "end-of-induction window has closed, or the series dropped out), the series every end-of-induction rate "
           "counts for these filters: a series still in its induction joins these rates when its window closes.")
st.caption(f"Solid: observed cases (evaluable series scored that week). Dashed: intention to treat, every evaluable "
           f"series with a baseline, up to the end of induction; a week without a score carries the last score only up to "
           f"{int(data.settings()['itt_carry_days'])} days after the series' last completed session (or to the "
           "induction's end once the series reached it), then counts as not responding and not remitting "
           "(non-responder imputation). "
           + by_week.data["followup"]
           + " A week marked **hidden** had series "
           "scored, but a line's value there is hidden (small-cell suppression; the mark names the lines when not "
           "all are). A week with neither a point nor a mark had no series scored against a baseline (no data). "
           + by_week.data["axis_end"])
ui.definitions_link("response")

if view.meeting_mode:
    st.caption("Change per series hidden in meeting mode (small counts in each band).")
else:
    ui.chart(response_panels.change_per_series(data.mart, selection, data.response_fraction(view.instrument)).figure,
             "response_waterfall", view)

transitions = response_panels.severity_transitions(data.mart, selection)
if not transitions.empty:
    ui.chart(transitions.figure, "response_transitions", view)
    ui.suppression_note(transitions.hidden, view)

st.subheader("Time to first response")
first = response_panels.first_response_weeks(data.mart, selection)
ui.chart(first.figure, "response_time_to_response", view)
ui.suppression_note(first.hidden, view)
st.caption("Responders only, among the evaluable series: series that stopped before responding are not in these bars. "
           "The Durability page "
           "shows time to first response over every series (cumulative incidence, dropout as a competing event).")

st.subheader("End-of-induction status")
status = response_panels.end_of_induction_status(data.mart, selection)
tables.show(status.rows, None, view, key="response_status", title="end-of-induction status")
headline = "" if view.headline(data.caseness()) is view else (
    f" (the Overview's headline counts the cases at baseline among them: {view.instrument} "
    f"{int(data.caseness()[view.instrument])} or more)")
hidden_n = (" It is hidden, as on the Overview: the series whose window is still open are too few to show, and "
            "the n would give them away (so would no score and not reached, which add up to it with the scored)."
            if status.data["n_hidden"] else "")
st.caption(f"n = {status.data['n_text']} evaluable series (the "
           "end-of-induction window has closed, or the series dropped out): the n of every end-of-induction rate "
           f"for these filters{headline}.{hidden_n} Not in that n: {status.data['not_yet_evaluable']} whose window "
           f"is still open (not yet evaluable), and {status.data['no_baseline']} without a {view.instrument} baseline.")
st.caption("Statuses: **remission** and **response** as defined on the Definitions page, at the last score in the "
           "end-of-induction window; **no response**: scored in the window, neither; **no score**: the series reached "
           "the induction's last session but has no score in the window after it; **not reached**: the series stopped "
           "(dropped out) before the induction's last session. Intention-to-treat rates count the last three as not "
           "responding.")

# Here, not on the Overview: these are outcome definitions set beside response and remission (the page where a
# reader compares definitions); the Overview keeps one headline per instrument.
st.subheader("NHS Talking Therapies measures: courses finished")
nhs = response_panels.talking_therapies(data.mart, selection, NATIONAL_STANDARDS)
if nhs.empty:
    st.info(nhs.empty)
else:
    for column, tile in zip(st.columns(5), nhs.tiles):
        column.metric(tile.label, tile.value)
    ui.chart(nhs.figure, "response_talking_therapies_chart", view)
    settings = data.settings()
    st.caption(f"Of {nhs.data['cases']} that were cases at baseline "
               f"(PHQ-9 {int(settings['phq9_caseness'])} or more, or GAD-7 {int(settings['gad7_caseness'])} or more), "
               f"among {nhs.data['paired']} scored on both PHQ-9 and GAD-7 at baseline and after it, of "
               f"{nhs.data['finished']} that finished a course: NHS Talking Therapies' denominators. A "
               "course is finished when the series has ended (its end-of-induction window closed, or it stopped) "
               "after at least two completed sessions, so a series that stopped after two sessions counts, with its "
               "last score, as an ended NHS referral does. The last score is the course's last after baseline, up "
               f"to {int(settings['end_of_induction_days'])} days after the induction's last session (or the "
               "series' last, when it stopped before). Whatever instrument the sidebar selects.")
    st.caption("Dashed line: " + "; ".join(f"{s['label']} ({s['source']})" for s in NATIONAL_STANDARDS) + ". The "
               "2026/27 planning targets for reliable recovery and reliable improvement are not drawn: they were "
               "found only in a secondary report, not checked against NHS England's own document.")
    tables.show(nhs.rows, None, view, key="response_talking_therapies", title="NHS Talking Therapies measures",
                instrument="PHQ-9+GAD-7")
ui.definitions_link("NHS Talking Therapies recovery")
