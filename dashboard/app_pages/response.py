"""Response and remission: rates by week, change per series, severity transitions, time to response."""

import streamlit as st

from dashboard import data, tables, ui
from ketamine_outcomes import charts, suppress

view = ui.page("Response & remission", "Who gets better, how much, and how fast.")

weekly = data.mart("weekly_outcomes", instrument=view.instrument, cohort=view.cohort)
if weekly.empty:
    ui.nothing_selected()
    st.stop()
itt = data.mart("weekly_outcomes_itt", instrument=view.instrument, cohort=view.cohort)
ui.chart(charts.rates_by_week(suppress.for_chart(weekly, "weekly_outcomes", view.min_cell),
                              suppress.for_chart(itt, "weekly_outcomes_itt", view.min_cell), view.instrument),
         "response_rates", view)
ui.suppression_note(suppress.suppressed(weekly, "weekly_outcomes", view.min_cell), view)
st.caption(f"Solid: observed cases (series scored that week). Dashed: intention to treat, every series with a "
           f"baseline; a week without a score carries the last score only up to "
           f"{int(data.settings()['itt_carry_days'])} days after the series' last completed session, then counts as "
           "not responding and not remitting (non-responder imputation).")
ui.definitions_link("response")

summary = data.mart("series_summary", instrument=view.instrument, cohort=view.cohort)
if view.meeting_mode:
    st.caption("Change per series hidden in meeting mode (small counts in each band).")
else:
    ui.chart(charts.change_distribution(summary, view.instrument, data.response_fraction(view.instrument)),
             "response_waterfall", view)

transitions = data.mart("severity_transitions", instrument=view.instrument, cohort=view.cohort)
if not transitions.empty:
    ui.chart(charts.band_transitions(suppress.for_chart(transitions, "severity_transitions", view.min_cell),
                                     view.instrument), "response_transitions", view)
    ui.suppression_note(suppress.suppressed(transitions, "severity_transitions", view.min_cell), view)

timing = data.mart("response_timing", instrument=view.instrument, cohort=view.cohort)
first = timing[timing.measure == "first_response_week"].assign(week=lambda t: t.value.astype(int))
st.subheader("Time to first response")
ui.chart(charts.time_to_response(suppress.for_chart(first, "series_counts", view.min_cell)), "response_time_to_response",
         view)
ui.suppression_note(suppress.suppressed(first, "series_counts", view.min_cell), view)
st.caption("Responders only: series that stopped before responding are not in these bars. The Durability page "
           "shows time to first response over every series (Kaplan-Meier, series that stopped censored).")

st.subheader("End-of-induction status")
status = timing[timing.measure == "end_status"][["value", "n_series"]].rename(columns={"value": "end_status"})
tables.show(status, "series_counts", view, key="response_status", title="end-of-induction status")
