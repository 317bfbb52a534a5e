"""Overview: is the clinic helping? Activity, end-of-induction results beside published ones,
the trajectory, and attrition."""

from dataclasses import replace

import streamlit as st

from ketamine_outcomes.dashboard import data, ui
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.definitions import remission_term

view = ui.page("Overview", "Is the clinic helping, and how does it compare with published real-world results?")

selection = ui.selection(view)
activity = panels.activity(data.mart, selection)
for column, tile in zip(st.columns(4), activity.tiles):
    column.metric(tile.label, tile.value, help=tile.help or None)
if activity.data["n_series"] == 0:
    ui.nothing_selected(view)
    st.stop()
if ui.instrument_missing(view.instrument):  # everything below is about the instrument's scores
    st.stop()

st.subheader("End of induction")
panel = panels.end_of_induction(data.mart, selection)
st.caption(panel.cohort + (" Clear **Headline rates: cases only** in the sidebar to count every series."
                                     if view.cases_only and "Cases at baseline" in panel.cohort else ""))
if panel.empty:
    st.info(panel.empty)
else:
    # Short tile labels under a heading per pair: long labels were cut on a tablet ("Response (obse...").
    observed, itt = st.columns(2)
    observed.caption("**Observed**: series scored")
    itt.caption("**Intention to treat**: all evaluable with a baseline")
    for column, tile in zip([*observed.columns(2), *itt.columns(2)], panel.tiles):
        column.metric(tile.label, tile.value, help=tile.help)
        column.caption(f"n = {tile.n}" + (f" · {tile.interval}" if tile.interval else ""))
    no_baseline = panel.data["counts"].get("n_evaluable_no_baseline", 0)
    if no_baseline not in (0, "0"):
        more = "A few more evaluable series (hidden: small count)" if no_baseline == panels.HIDDEN else \
            f"{no_baseline} more evaluable series"
        st.caption(f"Of series with a {view.instrument} baseline. {more} had no baseline: a series without one "
                   "cannot show a fall from baseline, so it is in neither rate.")
    headline = replace(view, cohort=selection.rated_cohort())
    ui.chart(panel.figure, "overview_end_of_induction", headline)
    matched, published, term = panel.data["matched"], panel.data["published"], remission_term(view.instrument)
    if not matched.empty:
        st.caption(f"Published, {matched.route.iloc[0]} like this cohort: " + "; ".join(
            f"{r.study} (n={r.n:,}): response {r.response_rate:.0%}, {term} {r.remission_rate:.0%}, "
            f"{r.reported_as}" for r in matched.itertuples())
            + ". Set a paper's observed figure beside this clinic's observed one.")
    elif not published.empty:
        # Several routes: each route beside the papers of its own route, never one reference weighted by the mix.
        by_route = panels.published_by_route(data.mart, selection, published)
        ui.chart(by_route.figure, "overview_published_by_route", headline)
        st.caption("These series mix routes, so each route is set beside the published results of its own route "
                   "(observed rates: series scored at the end of induction), not one reference weighted by the "
                   "clinic's route mix: the papers differ in instrument, window and analysis, and a weighted figure "
                   "would let a good route hide a poor one. Choose a route in the sidebar to see its tiles beside "
                   "them. Published: " + "; ".join(
                       f"{r.study} ({r.route}, n={r.n:,}): response {r.response_rate:.0%}, {term} "
                       f"{r.remission_rate:.0%}, {r.reported_as}" for r in published.itertuples()) + ". "
                   + by_route.data["not_drawn"])
    ui.panel_notes(panel)
ui.definitions_link("end of induction")

st.subheader(f"{view.instrument} trajectory")
trajectory = panels.trajectory(data.mart, selection, data.table("select * from severity_bands order by band_min"))
if trajectory.empty:
    st.info(trajectory.empty)
else:
    ui.chart(trajectory.figure, "overview_trajectory", view)
ui.suppression_note(trajectory.data["hidden"], view)

st.subheader("Attrition")
ui.chart(panels.attrition(data.mart, selection).figure, "overview_attrition", view)
ui.definitions_link("dropout")
