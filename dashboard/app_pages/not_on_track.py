"""Not on track: active series whose improvement at their route's checkpoint is below what the clinic's own
eventual responders showed by then, and how well that signal has worked on the clinic's closed series (so
nobody over-trusts it). Patient level: roles that may see patient rows, never in meeting mode."""

import streamlit as st

from ketamine_outcomes.dashboard import data, patients, tables, ui
from ketamine_outcomes.care import series
from ketamine_outcomes.safe_text import markdown

view = ui.page("Not on track", "Active series improving less, at a checkpoint, than the clinic's eventual "
                               "responders had by then.", patient_level=True)
patients.only_outside_meetings(view)
settings = data.settings()
# The reference (thresholds, calibration) is the whole clinic's: learned once per data version, whatever the
# filters; the list reads the active series in the filters only.
reference = patients.keep("checkpoint_reference", view.instrument)
calibration = reference.calibration
active = patients.ask("active_at_checkpoint", view.instrument, view.cohort, reference.thresholds)
flagged = series.flagged(active)
sessions = ", ".join(f"{route} {settings[f'not_on_track_session_{route.lower()}']:g}"
                     for route in ("IV", "IM", "intranasal", "oral"))
st.caption(f"Checkpoint: the completed session {sessions} (settings). A series is **not on track** when its "
           f"{view.instrument} improvement from baseline to its latest score by the checkpoint is below the "
           f"{settings['not_on_track_quantile']:.0%} quantile of the improvement the clinic's closed series of the same "
           "route that responded at the end of induction had shown by then. Active: its end-of-induction window is "
           "still open, it has not dropped out and has not already responded. The reference is the whole clinic's, "
           "whatever the filters; the list follows the filters.")

# A route is too new to judge when its closed series gave no threshold, or when it has active series and no
# closed ones at all.
unjudged = sorted(set(reference.thresholds[reference.thresholds.threshold_improvement.isna()].route)
                  | set(active[active.threshold_improvement.isna()].route))
if unjudged:
    st.warning(markdown(f"Too few closed series to judge {', '.join(unjudged)}: fewer than "
                        f"{settings['not_on_track_min_series']:g} eventual responders scored at the checkpoint, so "
                        "no series of that route is flagged."))

st.subheader(f"{len(flagged)} active series not on track")
if flagged.empty:
    st.write("None of the active series in these filters is below the threshold at its checkpoint.")
else:
    tables.show(patients.with_links(flagged), None, view, key="not_on_track_list", title="not on track",
                patient_level=True, link_columns=patients.LINK_COLUMN,
                columns=["view", "series_id", "route", "site", "checkpoint_session", "baseline_score",
                         "checkpoint_score", "improvement", "threshold_improvement"])

st.subheader("How well the signal has worked here")
st.caption("The clinic's closed series scored at their checkpoint: of those the signal would have flagged, how many "
           "went on to respond at the end of induction, against those it would not have flagged (95% Wilson "
           "intervals). The threshold is learned from these same series, so this flatters the signal: read it as a "
           "check, not a validation. Dropouts after the checkpoint count as not responding.")
st.caption("Counts here are exact, as the filters line under the title says: this page is for the care team, "
           "who see the series themselves, and is never shown in meeting mode or the pack.")
judged = calibration[calibration.is_enough]
if calibration.empty or judged.group_value.eq("all").sum() < 2:
    st.info(f"Too few closed series to judge the signal: each of flagged and not flagged needs at least "
            f"{settings['not_on_track_min_series']:g} closed series scored at the checkpoint.")
tables.show(calibration.assign(flag=calibration.is_flagged.map({True: "flagged", False: "not flagged"})),
            None, view, key="not_on_track_calibration", title="not on track: calibration", patient_level=True,
            filtered=False,
            columns=["group_value", "flag", "n_closed", "n_responded", "response_rate", "response_rate_low",
                     "response_rate_high", "is_enough"])
ui.definitions_link("not on track")
