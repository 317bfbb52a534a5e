"""Overview: is the clinic helping? Activity, end-of-induction results beside published ones,
the trajectory, and attrition."""

import pandas as pd
import streamlit as st

from ketamine_outcomes.dashboard import data, ui
from ketamine_outcomes.charts import figures as charts
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.definitions import INSTRUMENTS, remission_term

view = ui.page("Overview", "Is the clinic helping, and how does it compare with published real-world results?")

activity = data.mart("activity", cohort=view.cohort).iloc[0]
tiles = st.columns(4)
tiles[0].metric("Treatment series", suppress.count_text(activity.n_series, view.min_cell))
tiles[1].metric("Active series", suppress.count_text(activity.n_active_series, view.min_cell),
                help="Series with a completed session in the last 28 days of the data.")
tiles[2].metric("Patients", suppress.count_text(activity.n_patients, view.min_cell))
tiles[3].metric("Completed sessions", suppress.count_text(activity.n_sessions, view.min_cell))
if activity.n_series == 0:
    ui.nothing_selected(view)
    st.stop()
if ui.instrument_missing(view.instrument):  # everything below is about the instrument's scores
    st.stop()

st.subheader("End of induction")
headline = view.headline(data.caseness())  # cases at baseline only, unless cleared in the sidebar
if headline is not view:
    st.caption(f"Series at or above caseness at baseline ({view.instrument} {headline.cohort.min_baseline} or more, "
               "NHS Talking Therapies): a clinic's mild cases would inflate remission. Clear **Headline rates: cases "
               "only** in the sidebar to count every series.")
rates = data.mart("cohort_comparison", instrument=view.instrument, by="all", cohort=headline.cohort)
shown = suppress.for_chart(rates, "cohort_comparison", view.min_cell)
if rates.empty or rates.n_evaluable.iloc[0] == 0:
    st.info(f"No series with a {view.instrument} baseline has reached the end of its induction window yet.")
else:
    # Counts as a table shows them: "hidden" when small, or when a small difference (scored minus responders) hides them.
    row, counts = shown.iloc[0], suppress.for_table(rates, "cohort_comparison", view.min_cell).iloc[0]
    # Short tile labels under a heading per pair: long labels were cut on a tablet ("Response (obse...").
    observed, itt = st.columns(2)
    observed.caption("**Observed**: series scored")
    itt.caption("**Intention to treat**: all evaluable with a baseline")
    tiles = [*observed.columns(2), *itt.columns(2)]
    remission = "Below cut-off" if remission_term(view.instrument) != "remission" else "Remission"  # PCL-5 < 33
    for column, label, key, numerator, denominator in (
        (tiles[0], "Response", "response_rate", "responders", "n_scored"),
        (tiles[1], remission, "remission_rate", "remitters", "n_scored"),
        (tiles[2], "Response", "itt_response_rate", "responders", "n_evaluable"),
        (tiles[3], remission, "itt_remission_rate", "remitters", "n_evaluable"),
    ):
        value, n = row[key], counts[denominator]
        interval = "" if pd.isna(value) else f" · 95% CI {row[key + '_low']:.0%}-{row[key + '_high']:.0%}"
        # A hidden n (the windows still open are few: docs/metrics.md, Small cells) is said once, not "121 of hidden".
        out_of = f"{counts[numerator]} of {n} series" if n != suppress.HIDDEN else \
            f"{counts[numerator]} series; the number they are out of is hidden (small-cell suppression)"
        column.metric(label, suppress.HIDDEN if pd.isna(value) else f"{value:.0%}", help=out_of)
        column.caption(f"n = {n}{interval}")
    no_baseline = counts["n_evaluable_no_baseline"]
    if no_baseline not in (0, "0"):
        more = "A few more evaluable series (hidden: small count)" if no_baseline == suppress.HIDDEN else \
            f"{no_baseline} more evaluable series"
        st.caption(f"Of series with a {view.instrument} baseline. {more} had no baseline: a series without one "
                   "cannot show a fall from baseline, so it is in neither rate.")
    # Published results only beside a cohort of their own route (IV beside IV, at-home oral beside oral).
    published = data.mart("published_results", instrument=view.instrument, cohort=headline.cohort)
    matched = published[published.is_matched]
    ui.chart(charts.end_of_induction(shown, matched, view.instrument), "overview_end_of_induction", headline)
    term = remission_term(view.instrument)
    if not matched.empty:
        st.caption(f"Published, {matched.route.iloc[0]} like this cohort: " + "; ".join(
            f"{r.study} (n={r.n:,}): response {r.response_rate:.0%}, {term} {r.remission_rate:.0%}, "
            f"{r.reported_as}" for r in matched.itertuples())
            + ". Set a paper's observed figure beside this clinic's observed one.")
    elif not published.empty:
        # Several routes: each route beside the papers of its own route, never one reference weighted by the mix.
        by_route = data.mart("cohort_comparison", instrument=view.instrument, by="route", cohort=headline.cohort)
        ui.chart(charts.published_by_route(
            suppress.for_chart(by_route, "cohort_comparison", view.min_cell, rows_add_up=True), published,
            view.instrument, view.min_cell), "overview_published_by_route", headline)
        st.caption("These series mix routes, so each route is set beside the published results of its own route "
                   "(observed rates: series scored at the end of induction), not one reference weighted by the "
                   "clinic's route mix: the papers differ in instrument, window and analysis, and a weighted figure "
                   "would let a good route hide a poor one. Choose a route in the sidebar to see its tiles beside "
                   "them. Published: " + "; ".join(
                       f"{r.study} ({r.route}, n={r.n:,}): response {r.response_rate:.0%}, {term} "
                       f"{r.remission_rate:.0%}, {r.reported_as}" for r in published.itertuples()) + ".")
    ui.suppression_note(suppress.suppressed(rates, "cohort_comparison", view.min_cell), view)
ui.definitions_link("end of induction")

st.subheader(f"{view.instrument} trajectory")
weekly = data.mart("weekly_outcomes", instrument=view.instrument, cohort=view.cohort)
bands = data.table("select * from severity_bands order by band_min")
ui.chart(charts.trajectory({"observed": suppress.for_chart(weekly, "weekly_outcomes", view.min_cell)},
                           bands[bands.instrument == view.instrument], view.instrument,
                           INSTRUMENTS[view.instrument].max_score), "overview_trajectory", view)
ui.suppression_note(suppress.suppressed(weekly, "weekly_outcomes", view.min_cell), view)

st.subheader("Attrition")
attrition = data.mart("attrition", instrument=view.instrument, cohort=view.cohort)
ui.chart(charts.attrition(suppress.attrition(attrition, view.min_cell), view.min_cell), "overview_attrition", view)
ui.definitions_link("dropout")
