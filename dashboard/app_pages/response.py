"""Response and remission: rates by week, change per series, severity transitions, time to response, and
the NHS Talking Therapies measures at end of induction."""

import pandas as pd
import streamlit as st

from ketamine_outcomes.dashboard import data, tables, ui
from ketamine_outcomes.charts import figures as charts
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.definitions import NATIONAL_STANDARDS, remission_term

# Statuses of series outside the end-of-induction n (end_statuses): shown apart, never in the denominator.
OUTSIDE_THE_N = ("not yet evaluable", "no baseline")

view = ui.page("Response & remission", "Who gets better, how much, and how fast.")

weekly = data.mart("weekly_outcomes", instrument=view.instrument, cohort=view.cohort)
if weekly.empty:
    ui.nothing_selected(view, view.instrument)
    st.stop()
itt = data.mart("weekly_outcomes_itt", instrument=view.instrument, cohort=view.cohort)
ui.chart(charts.rates_by_week(suppress.for_chart(weekly, "weekly_outcomes", view.disclosure),
                              suppress.for_chart(itt, "weekly_outcomes_itt", view.disclosure), view.instrument),
         "response_rates", view)
ui.suppression_note(suppress.suppressed(weekly, "weekly_outcomes", view.disclosure), view)
st.caption(f"Solid: observed cases (series scored that week). Dashed: intention to treat, every series with a "
           f"baseline, up to the end of induction; a week without a score carries the last score only up to "
           f"{int(data.settings()['itt_carry_days'])} days after the series' last completed session (or to the "
           "induction's end once the series reached it), then counts as not responding and not remitting "
           "(non-responder imputation). "
           + charts.itt_followup_note(suppress.for_chart(weekly, "weekly_outcomes", view.min_cell), itt, view.min_cell)
           + " A week marked **hidden** had series "
           "scored, but a line's value there is hidden (small-cell suppression; the mark names the lines when not "
           "all are). A week with neither a point nor a mark had no series scored against a baseline (no data). The "
           "axis ends at the last week with an observed response rate shown.")
ui.definitions_link("response")

summary = data.mart("series_summary", instrument=view.instrument, cohort=view.cohort)
if view.meeting_mode:
    st.caption("Change per series hidden in meeting mode (small counts in each band).")
else:
    # Evaluable series only, as every end-of-induction figure: a score in a window still open may be replaced.
    ui.chart(charts.change_distribution(summary[summary.is_evaluable], view.instrument,
                                        data.response_fraction(view.instrument), view.min_cell),
             "response_waterfall", view)

transitions = data.mart("severity_transitions", instrument=view.instrument, cohort=view.cohort)
if not transitions.empty:
    ui.chart(charts.band_transitions(suppress.for_chart(transitions, "severity_transitions", view.disclosure),
                                     view.instrument, view.min_cell), "response_transitions", view)
    ui.suppression_note(suppress.suppressed(transitions, "severity_transitions", view.disclosure), view)

first = data.mart("first_response_weeks", instrument=view.instrument, cohort=view.cohort)
st.subheader("Time to first response")
ui.chart(charts.time_to_response(suppress.for_chart(first, "series_counts", view.disclosure), view.disclosure,
                                  view.instrument), "response_time_to_response",
         view)
ui.suppression_note(suppress.suppressed(first, "series_counts", view.disclosure), view)
st.caption("Responders only: series that stopped before responding are not in these bars. The Durability page "
           "shows time to first response over every series (cumulative incidence, dropout as a competing event).")

st.subheader("End-of-induction status")
status = data.mart("end_statuses", instrument=view.instrument, cohort=view.cohort)
# PCL-5 has no remission: a score under its cut-off is called so (definitions.remission_term).
status["end_status"] = status.end_status.replace({"remission": remission_term(view.instrument)})
outside = status.end_status.isin(OUTSIDE_THE_N)
# The evaluable n is shown or hidden by the Overview's own rule, on the same mart row (suppress, nested totals):
# hidden when the series with a baseline minus it (the windows still open) is small. The statuses add up to it,
# and the scored ones (remission, response, no response) to the scored shown on the Overview, so with the n hidden
# the two others (no score, not reached) are hidden too: else they would give it back.
evaluable = data.mart("cohort_comparison", instrument=view.instrument, by="all", cohort=view.cohort)
n_text = suppress.for_table(evaluable, "cohort_comparison", view.disclosure).n_evaluable.iloc[0] \
    if not evaluable.empty else "0"
n_hidden = n_text == suppress.HIDDEN
withheld = status.end_status.isin(("no score", "not reached")) & n_hidden
# Each part adds up to a total shown elsewhere (the evaluable n on the Overview and Compare; the series on the
# Overview minus it): one hidden status would be its total minus the rest, so each part hides as a whole.
tables.show(status[~outside], "series_counts", view, key="response_status", title="end-of-induction status",
            rows_add_up=True, withheld=withheld[~outside])
left_out = status[outside].set_index("end_status").n_series
shown_out = suppress.for_chart(status[outside], "series_counts", view.disclosure, rows_add_up=True).set_index(
    "end_status").n_series


def left_out_text(end_status: str) -> str:
    n = left_out.get(end_status, 0)
    if pd.isna(shown_out.get(end_status, 0)):  # small, or hidden so a small one beside it cannot be worked out
        return number_of(suppress.HIDDEN)
    return number_of(suppress.count_text(n, view.disclosure))


def number_of(count: str, noun: str = "series") -> str:
    """A count as a sentence says it: "a hidden number of series", not "hidden series"."""
    return f"a hidden number of {noun}" if count == suppress.HIDDEN else f"{count} {noun}"


headline = "" if view.headline(data.caseness()) is view else (
    f" (the Overview's headline counts the cases at baseline among them: {view.instrument} "
    f"{int(data.caseness()[view.instrument])} or more)")
hidden_n = (" It is hidden, as on the Overview: the series whose window is still open are too few to show, and "
            "the n would give them away (so would no score and not reached, which add up to it with the scored)."
            if n_hidden else "")
st.caption(f"n = {n_text} evaluable series (the "
           "end-of-induction window has closed, or the series dropped out): the n of every end-of-induction rate "
           f"for these filters{headline}.{hidden_n} Not in that n: {left_out_text('not yet evaluable')} whose window is still open "
           f"(not yet evaluable), and {left_out_text('no baseline')} without a {view.instrument} baseline.")
st.caption("Statuses: **remission** and **response** as defined on the Definitions page, at the last score in the "
           "end-of-induction window; **no response**: scored in the window, neither; **no score**: the series reached "
           "the induction's last session but has no score in the window after it; **not reached**: the series stopped "
           "(dropped out) before the induction's last session. Intention-to-treat rates count the last three as not "
           "responding.")

# Here, not on the Overview: these are outcome definitions set beside response and remission (the page where a
# reader compares definitions); the Overview keeps one headline per instrument.
st.subheader("NHS Talking Therapies measures: courses finished")
nhs = data.mart("talking_therapies", cohort=view.cohort)
if nhs.empty:
    st.info("No series has finished a course yet (at least two completed sessions, and the end-of-induction window "
            "closed or the series stopped).")
elif nhs.n_paired.iloc[0] == 0:
    st.info(f"{number_of(suppress.count_text(nhs.n_finished.iloc[0], view.min_cell))} finished a course, but none "
            "has PHQ-9 and GAD-7 scores both at baseline and after it.")
else:
    # Counts as the table shows them: the cases read "hidden" when paired minus cases (the non-cases) is small.
    row, counts = (suppress.for_chart(nhs, "talking_therapies", view.disclosure).iloc[0],
                   suppress.for_table(nhs, "talking_therapies", view.disclosure).iloc[0])
    tiles = st.columns(5)
    for column, label, key in ((tiles[0], "Recovery", "recovery_rate"),
                               (tiles[1], "Reliable improvement", "reliable_improvement_rate"),
                               (tiles[2], "Reliable recovery", "reliable_recovery_rate"),
                               (tiles[3], "Reliable deterioration", "reliable_deterioration_rate"),
                               (tiles[4], "PHQ-9 fell 5+ (MCID)", "mcid_improvement_rate")):
        column.metric(label, suppress.HIDDEN if pd.isna(row[key]) else f"{row[key]:.0%}")
    ui.chart(charts.talking_therapies(row, NATIONAL_STANDARDS, view.min_cell), "response_talking_therapies_chart",
             view)
    settings = data.settings()
    st.caption(f"Of {number_of(counts.n_cases)} that were cases at baseline "
               f"(PHQ-9 {int(settings['phq9_caseness'])} or more, or GAD-7 {int(settings['gad7_caseness'])} or more), "
               f"among {number_of(counts.n_paired)} scored on both PHQ-9 and GAD-7 at baseline and after it, of "
               f"{number_of(counts.n_finished)} that finished a course: NHS Talking Therapies' denominators. A "
               "course is finished when the series has ended (its end-of-induction window closed, or it stopped) "
               "after at least two completed sessions, so a series that stopped after two sessions counts, with its "
               "last score, as an ended NHS referral does. The last score is the course's last after baseline, up "
               f"to {int(settings['end_of_induction_days'])} days after the induction's last session (or the "
               "series' last, when it stopped before). Whatever instrument the sidebar selects.")
    st.caption("Dashed line: " + "; ".join(f"{s['label']} ({s['source']})" for s in NATIONAL_STANDARDS) + ". The "
               "2026/27 planning targets for reliable recovery and reliable improvement are not drawn: they were "
               "found only in a secondary report, not checked against NHS England's own document.")
    tables.show(nhs, "talking_therapies", view, key="response_talking_therapies", title="NHS Talking Therapies measures",
                columns=["n_finished", "n_paired", "n_cases", "caseness_rate", "n_recovered", "recovery_rate",
                         "n_reliably_improved", "reliable_improvement_rate", "n_reliably_recovered",
                         "reliable_recovery_rate", "n_reliably_deteriorated", "reliable_deterioration_rate",
                         "n_mcid_improved", "mcid_improvement_rate"])
ui.definitions_link("NHS Talking Therapies recovery")
