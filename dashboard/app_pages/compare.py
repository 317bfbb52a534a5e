"""Compare cohorts: a funnel plot of end-of-induction response by site or clinician (not a league
table), and side-by-side numbers."""

import streamlit as st

from ketamine_outcomes.dashboard import data, filters, tables, ui
from ketamine_outcomes.metrics import casemix
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.privacy import DisallowedView, check_equity_view
from ketamine_outcomes.safe_text import markdown

view = ui.page("Compare cohorts", "Do sites, clinicians or routes differ by more than chance? "
                                  "Points outside the funnel's limits deserve a closer look.")
BY = {"site": "site", "clinician": "clinician", "route": "route", "indication": "indication", "age band": "age_band",
      "sex": "sex", "ethnicity": "ethnicity", "area deprivation decile": "deprivation_decile",
      "series number": "series_number", "start quarter": "start_quarter"}
# The dimensions whose groups get side-by-side trajectories: a person's or a treatment's attributes. (Series
# number and start quarter could be drawn too since weekly_outcomes takes every split; they were left as they were.)
TRAJECTORY_SPLITS = ("site", "clinician", "route", "indication", "age_band", "sex", "ethnicity", "deprivation_decile")
filters.choice("compare_by", list(BY))
by = st.selectbox("Compare by", list(BY), key="compare_by")
try:  # ethnicity and deprivation are quasi-identifiers: only the combinations the privacy guard allows
    check_equity_view(view.cohort, BY[by])
except DisallowedView as refusal:
    st.warning(f"Not shown: {refusal}")
    st.stop()
selection = ui.selection(view)
panel = panels.funnel(data.mart, selection, BY[by], by)
if panel.empty and panel.table is None:
    ui.nothing_selected(view, view.instrument)
    st.stop()
rates, units = panel.data["rates"], panel.data["units"]
visible = rates[~panel.data["hidden"]]
st.caption(panel.cohort)  # our own words: no export text in it
headline = view.headline(data.caseness())
if panel.empty:
    st.info(panel.empty)
else:
    ui.chart(panel.figure, "compare_funnel", headline)
ui.panel_notes(panel)
st.caption("Funnel plot (Spiegelhalter 2005): each point is a group's observed end-of-induction response rate "
           "against the number of series scored. Dashed lines: 95% limits; dotted: 99.8% limits around the overall "
           "rate. A point outside the 99.8% limits is unlikely to be chance alone. Every point is named on the plot "
           "and in the table below.")
ui.definitions_link("end-of-induction response")

if BY[by] in casemix.ADJUSTED_DIMENSIONS:
    st.subheader(f"Adjusted for case mix: which {by}s differ once their patients are taken into account")
    adjusted_panel = panels.adjusted_funnel(data.mart, selection, BY[by], by, panel)
    adjusted = adjusted_panel.data["adjusted"]
    st.caption(adjusted_panel.cohort)  # the raw funnel's cohort: both count the same series
    if adjusted.fitted:
        ui.chart(adjusted_panel.figure, "compare_adjusted_funnel", headline)
    st.markdown(markdown(adjusted_panel.data["words"]))
    ui.panel_notes(adjusted_panel)
    if adjusted.fitted:
        st.caption(f"{markdown(adjusted.note)} Each point is a {by}'s observed end-of-induction responders divided "
                   "by those expected from its own patients (the sum of each series' chance of response from the "
                   "model; the {by} itself is not in the model). 1 is as expected; dashed lines: 95% limits; dotted: "
                   "99.8%. A {by} that treats more severe or harder-to-help patients is expected fewer responders, "
                   "so it is not marked down for them. Every point is named on the plot.".replace("{by}", by))
    ui.definitions_link("case-mix adjustment")

st.subheader("Numbers by group")
tables.show(panel.rows, None, headline, key="compare_table", title=f"numbers by {by}")
st.caption("Every rate is of series with a baseline: a series without one cannot show a fall from baseline, so "
           "it is in no rate; **Evaluable, no baseline** counts them.")

if BY[by] in TRAJECTORY_SPLITS:
    st.subheader(f"{view.instrument} trajectories by {by}")
    # Every group's weeks, hidden ones too: week by week the groups add up to the all-series trajectory, so a
    # group's n that is the only one hidden that week takes the smallest other with it where counts are exact
    # (an internal view); under rounding only the small one goes.
    bands = data.table("select * from severity_bands order by band_min")
    lines = panels.trajectories(data.mart, selection, BY[by], "group_value", bands[bands.instrument == view.instrument],
                                lines=list(rates.group_value), drawn_lines=list(visible.group_value))
    ui.chart(lines.figure if not lines.empty else figures.nothing(lines.empty), "compare_trajectories", view)
    st.caption("One line per group placed on the funnel, over every series of the group (not only the cases at "
               "baseline); groups left off the funnel (fewer than the small-cell threshold scored, responding or "
               "not responding) are left out here too. A week marked **hidden** had series scored, but a line's mean there "
               "is hidden (small-cell suppression; the mark names the lines when not all are). "
               + (lines.data["axis_end"] + " " + lines.data["baseline_n"] if not lines.empty else ""))
