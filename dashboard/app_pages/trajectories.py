"""Symptom trajectories: mean score by week of series, split by a cohort dimension, with individual
series and the intention-to-treat line on request."""

import streamlit as st

from ketamine_outcomes.dashboard import data, filters, notes, tables, ui
from ketamine_outcomes.disclosure import panels

view = ui.page("Symptom trajectories", "How scores move across the weeks of a treatment series.")
# The choice -> weekly_outcomes' split (None: one line for every series).
SPLITS = {"none": None, "site": "site", "route": "route", "indication": "indication"}

filters.choice("trajectories_split", list(SPLITS))
left, middle, right = st.columns(3)
split = left.selectbox("One line per", list(SPLITS), key="trajectories_split")
carry_days = int(data.settings()["itt_carry_days"])
show_itt = middle.toggle("Intention to treat (limited LOCF, then BOCF)", key="trajectories_itt",
                         help=f"Every series stays in the mean: a week without a score takes the series' last score "
                              f"up to {carry_days} days after its last session, then its baseline (BOCF).")
show_series = right.toggle("Individual series", key="trajectories_spaghetti", disabled=view.meeting_mode,
                           help="Up to 200 series, sampled, over the weeks whose mean is shown; off in meeting mode.")

spaghetti = (data.mart("series_trajectories", instrument=view.instrument, cohort=view.cohort, max_series=200)
             if show_series and not view.meeting_mode else None)
bands = data.table("select * from severity_bands order by band_min")
group = SPLITS[split] or "group"
panel = panels.trajectories(data.mart, ui.selection(view), SPLITS[split] or "all", group,
                            bands[bands.instrument == view.instrument], itt=show_itt, spaghetti=spaghetti)
if panel.empty:
    ui.nothing_selected(view, view.instrument)
    st.stop()
ui.chart(panel.figure, "trajectories_chart", view)
# The x axis is the week of each series, not the calendar: process changes are listed (filter the start dates to
# compare before and after one).
notes.listed(notes.in_force())
ui.suppression_note(panel.hidden, view)
if panel.data["spaghetti_note"]:
    st.caption(panel.data["spaghetti_note"])
if show_itt:
    st.caption(f"Intention to treat (dashed), up to the end of induction: a week without a score carries the series' "
               f"last score only up to {carry_days} days after its last completed session (or to the induction's end "
               "once the series reached it); otherwise its baseline is carried (BOCF), so the mean does not keep a "
               "fading response for ever. Observed cases: the solid line. "
               + panel.data["followup"])
st.caption("Shaded: severity bands. Band around each line: 95% confidence interval of the mean. "
           "n (series scored that week) under every few points, spaced so a phone can read them; every week's n is "
           "in the hover and in the weekly table below. A week marked **hidden** had series scored, but a line's mean "
           "there is hidden (small-cell suppression; the mark names the lines when not all are). "
           + panel.data["axis_end"] + " " + panel.data["baseline_n"])
ui.definitions_link("a week of treatment series")

st.subheader("Weekly table")
tables.show(panel.rows, None, view, key="trajectories_table", title="weekly")
