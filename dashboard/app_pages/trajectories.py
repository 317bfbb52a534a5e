"""Symptom trajectories: mean score by week of series, split by a cohort dimension, with individual
series and the intention-to-treat line on request."""

from dataclasses import replace

import streamlit as st

from ketamine_outcomes.dashboard import data, filters, notes, tables, ui
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.definitions import INSTRUMENTS

view = ui.page("Symptom trajectories", "How scores move across the weeks of a treatment series.")
SPLITS = {"none": None, "site": "sites", "route": "routes", "indication": "indications"}
OPTIONS = {"site": "site", "route": "route", "indication": "indication"}



filters.choice("trajectories_split", list(SPLITS))
left, middle, right = st.columns(3)
split = left.selectbox("One line per", list(SPLITS), key="trajectories_split")
carry_days = int(data.settings()["itt_carry_days"])
show_itt = middle.toggle("Intention to treat (limited LOCF, then BOCF)", key="trajectories_itt",
                         help=f"Every series stays in the mean: a week without a score takes the series' last score "
                              f"up to {carry_days} days after its last session, then its baseline (BOCF).")
show_series = right.toggle("Individual series", key="trajectories_spaghetti", disabled=view.meeting_mode,
                           help="Up to 200 series, sampled, over the weeks whose mean is shown; off in meeting mode.")

lines = {}
if SPLITS[split] is None:
    lines["all series"] = data.mart("weekly_outcomes", instrument=view.instrument, cohort=view.cohort)
else:
    values = data.table(f"select distinct {OPTIONS[split]} as value from int_treatment_series order by 1").value
    chosen = getattr(view.cohort, SPLITS[split]) or tuple(values)
    for value in chosen:
        cohort = replace(view.cohort, **{SPLITS[split]: (value,)})
        lines[value] = data.mart("weekly_outcomes", instrument=view.instrument, cohort=cohort)

if all(frame.empty for frame in lines.values()):
    ui.nothing_selected(view, view.instrument)
    st.stop()

itt = data.mart("weekly_outcomes_itt", instrument=view.instrument, cohort=view.cohort) if show_itt else None
spaghetti = (data.mart("series_trajectories", instrument=view.instrument, cohort=view.cohort, max_series=200)
             if show_series and not view.meeting_mode else None)
bands = data.table("select * from severity_bands order by band_min")
# Week by week the lines add up to the all-series line (the Overview's): one hidden n would be its n minus the rest.
group = OPTIONS.get(split, "group")
weekly = suppress.groups_together(lines, group=group)
drawn = suppress.for_chart(weekly, "weekly_outcomes", view.disclosure, rows_add_up="week")
spaghetti_note = None
if spaghetti is not None:
    # Only over the weeks a mean is shown for: past them, the lines would count the series scored in a hidden week.
    spaghetti = spaghetti[spaghetti.week.isin(drawn.dropna(subset=["mean_score"]).week)]
    if suppress.is_small(spaghetti.series_id.nunique(), view.disclosure):
        spaghetti = None
        spaghetti_note = (f"Individual series not drawn: fewer than {view.min_cell} series have a score in the weeks "
                          "whose mean is shown.")
    else:
        spaghetti_note = ("Individual series (grey): one line per series, up to 200 sampled, drawn only over the weeks "
                          "whose mean is shown. The analysts' view: meeting mode turns it off.")
ui.chart(figures.trajectory(
    {name: drawn[drawn[group] == name] for name in lines},
    bands[bands.instrument == view.instrument], view.instrument, INSTRUMENTS[view.instrument].max_score,
    spaghetti=spaghetti,
    itt=suppress.for_chart(itt, "weekly_outcomes_itt", view.disclosure) if itt is not None else None,
), "trajectories_chart", view)
# The x axis is the week of each series, not the calendar: process changes are listed (filter the start dates to
# compare before and after one).
notes.listed(notes.in_force())
ui.suppression_note(suppress.suppressed(weekly, "weekly_outcomes", view.disclosure, rows_add_up="week"), view)
if spaghetti_note:
    st.caption(spaghetti_note)
if show_itt:
    st.caption(f"Intention to treat (dashed), up to the end of induction: a week without a score carries the series' "
               f"last score only up to {carry_days} days after its last completed session (or to the induction's end "
               "once the series reached it); otherwise its baseline is carried (BOCF), so the mean does not keep a "
               "fading response for ever. Observed cases: the solid line. "
               + (figures.itt_followup_note(drawn, itt, view.min_cell) if len(lines) == 1 else ""))
st.caption("Shaded: severity bands. Band around each line: 95% confidence interval of the mean. "
           "n (series scored that week) under every few points, spaced so a phone can read them; every week's n is "
           "in the hover and in the weekly table below.")
ui.definitions_link("a week of treatment series")

st.subheader("Weekly table")
# One table for every line, hidden as the chart is (a table per line could not see the other lines' weeks).
tables.show(weekly, "weekly_outcomes", view, key="trajectories_table", title="weekly", rows_add_up="week",
            columns=[*([group] if len(lines) > 1 else []), "week", "n_scored", "mean_score", "mean_ci_low",
                     "mean_ci_high", "n_paired", "mean_change", "responders", "response_rate", "remitters",
                     "remission_rate"])
