"""Quality review: a monthly p-chart of end-of-induction response with special-cause signals, and the
latest month's numbers, ready for a meeting."""

import streamlit as st

from dashboard import data, tables, ui
from ketamine_outcomes import charts, quality, suppress

view = ui.page("Quality review", "Month by month: is end-of-induction response stable, or is something changing?")
PERIODS = {"month": "start_month", "quarter": "start_quarter"}
period = st.radio("One point per", list(PERIODS), horizontal=True, key="quality_period",
                  help="Smaller clinics score few series a month; quarters keep points above the suppression limit.")
monthly = data.mart("cohort_comparison", instrument=view.instrument, by=PERIODS[period], cohort=view.cohort)
undated = monthly[monthly.group_value == "unknown"]
monthly = monthly[monthly.group_value != "unknown"]
if monthly.empty and not undated.empty:
    st.info("These series come from exports with day offsets instead of dates, so they cannot be placed in "
            "calendar months. A monthly review needs dated exports (a limited data set under a data use agreement).")
    st.stop()
if monthly.empty:
    ui.nothing_selected()
    st.stop()

# Months with a suppressed n are plotted as missing, never as a rate built on fewer than min_cell series.
shown = suppress.for_chart(monthly, "cohort_comparison", view.min_cell)
chart = quality.p_chart(monthly, "group_value", "responders", "n_scored")
hidden_months = set(monthly[shown.response_rate.isna()].group_value)
chart.loc[chart.period.isin(hidden_months), ["rate", "signals"]] = [None, ""]
ui.filters_line(view)
st.plotly_chart(charts.p_chart(chart, f"End-of-induction response ({view.instrument}) by {period} the series started",
                               period), key="quality_p_chart")
ui.suppression_note(bool(hidden_months), view)
if period == "month" and len(hidden_months) > len(monthly) / 2:
    st.info("Most months have fewer series than the suppression limit: choose one point per quarter.")
st.caption("p-chart: centre line is the overall rate; limits are 3 standard errors for each month's n. Orange "
           "points meet a special-cause rule (NHS England, Making Data Count): outside the limits, 7 in a row "
           "on one side, 7 steadily rising or falling, or 2 of 3 beyond two-thirds of the way to a limit.")
ui.definitions_link("end-of-induction response")

signals = chart[chart.signals != ""][["period", "n", "rate", "signals"]]
st.subheader("Special-cause signals")
if signals.empty:
    st.write("None: the variation month to month is what chance alone would give (common cause).")
else:
    tables.show(signals.rename(columns={"period": period}), None, view, key="quality_signals",
                title="special-cause signals")

latest = monthly.sort_values("group_value").iloc[[-1]]
st.subheader(f"Series started in {latest.group_value.iloc[0]} (the latest {period})")
tables.show(latest.rename(columns={"group_value": period}), "cohort_comparison", view, key="quality_latest",
            title=f"latest {period}", columns=[period, "n_series", "n_evaluable", "n_scored", "responders",
                                               "response_rate", "remitters", "remission_rate", "itt_response_rate"])
