"""Durability: how long an end-of-induction response lasts (Kaplan-Meier), how fast a first response comes
(cumulative incidence, dropout competing), boosters and re-inductions after induction, and protocol adherence
by site."""

import streamlit as st

from ketamine_outcomes.dashboard import data, filters, tables, ui
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import panels

view = ui.page("Durability", "How long does a response last, how soon does it come, and how many boosters "
                             "do patients need?")
if data.mart("activity", cohort=view.cohort).n_series.iloc[0] == 0:
    ui.nothing_selected(view)
    st.stop()
BY = {"all series": "all", "route": "route", "site": "site"}
filters.choice("durability_by", list(BY))
by = st.selectbox("One curve per", list(BY), key="durability_by")


def median_tiles(panel: panels.Panel, label: str) -> None:
    """n and median per group, from the curve as shown: a group not drawn says so."""
    columns = st.columns(min(len(panel.tiles), 4) or 1)
    for i, tile in enumerate(panel.tiles):
        name = label if tile.label == "all" else f"{label}, {tile.label}"
        columns[i % len(columns)].metric(name, tile.value, help="The week the curve crosses half (the estimate is shown at the "
                                                       "end of each week under small-cell suppression). '> N days': the "
                                                       "curve shown does not reach half by its last day, N; the caption "
                                                       "says whether it stops there (fewer series at risk after it than "
                                                       "suppression allows) or stays above half. 'Hidden': too few "
                                                       "series in the group to draw it.")
        columns[i % len(columns)].caption(f"n = {tile.n} series" + (f"; median {tile.help}" if tile.help else ""))


selection = ui.selection(view)
st.subheader("Sustained response after induction")
sustained = panels.curve(data.mart, selection, "sustained_response", BY[by])
if sustained.empty:
    if not ui.instrument_missing(view.instrument):
        st.info(f"No series has responded on {view.instrument} at the end of its induction yet.")
else:
    median_tiles(sustained, "Median duration of response")
    ui.chart(figures.survival_curve(sustained.table, "survival", f"{view.instrument}: still responding after an "
                                   "end-of-induction response", "still responding",
                                   "days since the end-of-induction score", "responding at end of induction"),
             "durability_sustained", view)
    ui.panel_notes(sustained)
    st.caption("Kaplan-Meier estimate. Response is lost at the first later score above the response threshold, or "
               "at a re-induction; a series still responding at its last score is censored there. Numbers under the "
               "curve: series still followed and responding. Followed up: "
               + sustained.data["followed_up"]
               + ". Most censoring is loss to follow-up, so the dotted line is a lower bound: every series censored "
               "counted as having lost its response when it left. The truth lies between the two lines. Boosters "
               "keep a response sustained: a maintenance booster is part of the series, and a score at a booster "
               "visit within the threshold is a response kept; only a score above it or a re-induction ends it.")
ui.definitions_link("sustained response")

st.subheader("Time to first response")
first = panels.curve(data.mart, selection, "time_to_response", BY[by])
if first.empty:
    if view.instrument in data.stored_instruments():  # else the section above said none is stored
        st.info(f"No series has a {view.instrument} baseline for this selection.")
else:
    median_tiles(first, "Median time to response")
    ui.chart(figures.survival_curve(first.table, "share_responded", f"{view.instrument}: share responded, "
                                   + ("all series" if BY[by] == "all" else f"one curve per {by}"),
                                   "responded", "days since the first session", "with a baseline"),
             "durability_time_to_response", view)
    ui.panel_notes(first)
    st.caption("Cumulative incidence over every series with a baseline, dropout competing (Aalen-Johansen): a "
               "series that dropped out without responding counts as not responding, not as if it would have "
               "responded like those who stayed; one still in treatment, or finished without a response and not "
               "scored again, is censored at its last score. Numbers under the curve: series not yet responded, "
               "dropped out or censored.")
ui.definitions_link("time to first response")

st.subheader("Maintenance after induction")
maintenance = panels.maintenance(data.mart, selection, BY[by], "group" if BY[by] == "all" else by)
tables.show(maintenance.rows, None, view, key="durability_maintenance", title="maintenance", instrument=None)
st.caption("Series that completed their route's induction. Recent series have had less time for boosters or a "
           "re-induction: crude shares, not rates over time.")
ui.definitions_link("a booster")

st.subheader("Protocol adherence by site")
adherence = panels.protocol_adherence(data.mart, selection)
ui.chart(adherence.figure, "durability_adherence", view)
tables.show(adherence.rows, None, view, key="durability_adherence_table", title="protocol adherence by site",
            instrument=None)
st.caption("Who is counted: series whose induction is decided, that is completed (reached the route's induction "
           "sessions) or dropped out. Series still in their induction are not in this table, so its series add up to "
           "fewer than the Overview's.")
ui.definitions_link("protocol adherence")
