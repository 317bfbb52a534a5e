"""Compare cohorts: a funnel plot of end-of-induction response by site or clinician (not a league
table), and side-by-side numbers."""

import streamlit as st

from dashboard import charts, data, suppress, ui
from ketamine_outcomes import quality

view = ui.page("Compare cohorts", "Do sites, clinicians or routes differ by more than chance? "
                                  "Points outside the funnel's limits deserve a closer look.")
BY = {"site": "site", "clinician": "clinician", "route": "route", "indication": "indication", "age band": "age_band",
      "sex": "sex", "series number": "series_number", "start quarter": "start_quarter"}
by = st.selectbox("Compare by", list(BY), key="compare_by")
rates = data.mart("cohort_comparison", instrument=view.instrument, by=BY[by], cohort=view.cohort)
if rates.empty:
    ui.nothing_selected()
    st.stop()

# Groups whose n is suppressed are left off the funnel; their count still adds to the overall rate.
visible = rates[~rates.n_scored.map(lambda n: suppress.is_small(n, view.min_cell))]
units, curves = quality.funnel(rates, "group_value", "responders", "n_scored")
units = units[units.group.isin(visible.group_value)]
ui.filters_line(view)
st.plotly_chart(charts.funnel(units, curves, by), key="compare_funnel")
ui.suppression_note(len(visible) < len(rates), view)
st.caption("Funnel plot (Spiegelhalter 2005): each point is a group's observed end-of-induction response rate "
           "against the number of series scored. Dashed lines: 95% limits; dotted: 99.8% limits around the overall "
           "rate. A point outside the 99.8% limits is unlikely to be chance alone.")
ui.definitions_link("end-of-induction response")

st.subheader("Numbers by group")
table = suppress.for_table(rates, "cohort_comparison", view.min_cell)
st.dataframe(table[["group_value", "n_series", "n_evaluable", "n_scored", "responders", "response_rate",
                    "remitters", "remission_rate", "itt_response_rate", "itt_remission_rate"]],
             hide_index=True, key="compare_table")
