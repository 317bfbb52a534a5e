"""The Response & remission page's panels (disclosure/panels.py for the rest): rates by week, severity
transitions, first responses, end-of-induction statuses and the NHS Talking Therapies measures, already
suppressed. Every end-of-induction figure here counts the evaluable series (window closed, or dropped out), as
the Overview does."""

import math

import numpy as np
import pandas as pd

from ketamine_outcomes.charts import figures
from ketamine_outcomes.definitions import remission_term
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.disclosure.panels import (
    HIDDEN, Marts, Panel, Selection, Tile, axis_end_note, count_words, itt_followup_note, table,
)


# --- response and remission ------------------------------------------------------------------------------

def rates_by_week(marts: Marts, selection: Selection) -> Panel:
    """Response and remission rates by week, observed and intention to treat, with the caption's follow-up
    sentence (how few series the last observed week rests on). Over the evaluable series only (window closed,
    or dropped out), the one rule of every end-of-induction figure: a series still in its induction would count
    in its early weeks and not yet in its last."""
    rule, instrument = selection.disclosure, selection.instrument
    weekly = marts("weekly_outcomes", instrument=instrument, cohort=selection.cohort, evaluable_only=True)
    panel = Panel("Response and remission by week")
    if weekly.empty:
        panel.empty = f"No series in this selection has a {instrument} baseline."
        return panel
    itt = marts("weekly_outcomes_itt", instrument=instrument, cohort=selection.cohort, evaluable_only=True)
    shown = suppress.for_chart(weekly, "weekly_outcomes", rule)
    panel.figure = figures.rates_by_week(shown, suppress.for_chart(itt, "weekly_outcomes_itt", rule), instrument)
    panel.hidden = suppress.suppressed(weekly, "weekly_outcomes", rule)
    # The follow-up sentence reads the counts as the tables of this view show them.
    baseline = itt[itt.week == 0].n_series
    # The chart's axis ends at the last week whose response rate is shown; the caption names that week.
    panel.data = {"followup": itt_followup_note(shown, itt, rule, drawn="response_rate"),
                  # where the axis ends, and the weeks after it whose every rate is hidden: the other pages' sentence
                  "axis_end": axis_end_note(shown, drawn="response_rate", n="n_paired", what="an observed response rate"),
                  # The evaluable series with a baseline: the n of the end-of-induction rates for these filters.
                  "n_text": suppress.count_text(baseline.iloc[0] if len(baseline) else 0, rule)}
    return panel


def severity_transitions(marts: Marts, selection: Selection) -> Panel:
    """Severity band at baseline against band at the end of induction (evaluable series scored)."""
    rule = selection.disclosure
    frame = marts("severity_transitions", instrument=selection.instrument, cohort=selection.cohort)
    panel = Panel("Severity bands, baseline to end of induction")
    if frame.empty:
        panel.empty = "none"
        return panel
    panel.figure = figures.band_transitions(suppress.for_chart(frame, "severity_transitions", rule),
                                           selection.instrument, rule.min_cell)
    panel.hidden = suppress.suppressed(frame, "severity_transitions", rule)
    return panel


def first_response_weeks(marts: Marts, selection: Selection) -> Panel:
    """The week each responder first responded (bars; responders only), among the evaluable series."""
    rule = selection.disclosure
    frame = marts("first_response_weeks", instrument=selection.instrument, cohort=selection.cohort,
                  evaluable_only=True)
    panel = Panel("Time to first response")
    panel.figure = figures.time_to_response(suppress.for_chart(frame, "series_counts", rule), rule,
                                           selection.instrument)
    panel.hidden = suppress.suppressed(frame, "series_counts", rule)
    return panel


# Statuses of series outside the end-of-induction n (end_statuses): shown apart, never in the denominator.
OUTSIDE_THE_N = ("not yet evaluable", "no baseline")


def end_of_induction_status(marts: Marts, selection: Selection) -> Panel:
    """How the evaluable series ended their induction (remission, response, no response, no score, not
    reached), the evaluable n, and the series left out of it (window still open, no baseline), in words."""
    rule, instrument = selection.disclosure, selection.instrument
    status = marts("end_statuses", instrument=instrument, cohort=selection.cohort)
    # PCL-5 has no remission: a score under its cut-off is called so (definitions.remission_term).
    status["end_status"] = status.end_status.replace({"remission": remission_term(instrument)})
    outside = status.end_status.isin(OUTSIDE_THE_N)
    # The evaluable n is shown or hidden by the Overview's own rule, on the same mart row (nested totals): hidden
    # when the series with a baseline minus it (the windows still open) is small. The statuses add up to it, and
    # the scored ones (remission, response, no response) to the scored shown on the Overview, so with the n hidden
    # the two others (no score, not reached) are hidden too: else they would give it back.
    evaluable = marts("cohort_comparison", instrument=instrument, by="all", cohort=selection.cohort)
    n_text = suppress.for_table(evaluable, "cohort_comparison", rule).n_evaluable.iloc[0] \
        if not evaluable.empty else "0"
    n_hidden = n_text == HIDDEN
    withheld = status.end_status.isin(("no score", "not reached")) & n_hidden
    panel = Panel("End-of-induction status")
    # Each part adds up to a total shown elsewhere (the evaluable n on the Overview and Compare; the series on the
    # Overview minus it): one hidden status would be its total minus the rest, so each part hides as a whole.
    panel.rows = table(status[~outside], "series_counts", rule, rows_add_up=True, withheld=withheld[~outside])
    left_out = status[outside].set_index("end_status").n_series
    shown_out = suppress.for_chart(status[outside], "series_counts", rule, rows_add_up=True).set_index(
        "end_status").n_series

    def left_out_words(end_status: str) -> str:
        if pd.isna(shown_out.get(end_status, 0)):  # small, or hidden so a small one beside it cannot be worked out
            return count_words(HIDDEN, rule)
        return count_words(left_out.get(end_status, 0), rule)

    panel.data = {"n_text": n_text, "n_hidden": n_hidden, "not_yet_evaluable": left_out_words("not yet evaluable"),
                  "no_baseline": left_out_words("no baseline")}
    return panel


TALKING_THERAPIES_TILES = (("Recovery", "recovery_rate"), ("Reliable improvement", "reliable_improvement_rate"),
                           ("Reliable recovery", "reliable_recovery_rate"),
                           ("Reliable deterioration", "reliable_deterioration_rate"),
                           ("PHQ-9 fell 5+ (MCID)", "mcid_improvement_rate"))


def talking_therapies(marts: Marts, selection: Selection, standards) -> Panel:
    """NHS Talking Therapies recovery, reliable improvement, reliable recovery and reliable deterioration on
    NHS's denominators (courses finished; cases at the start), with the national standard drawn."""
    rule = selection.disclosure
    nhs = marts("talking_therapies", cohort=selection.cohort)
    panel = Panel("NHS Talking Therapies measures")
    if nhs.empty:
        panel.empty = ("No series has finished a course yet (at least two completed sessions, and the "
                       "end-of-induction window closed or the series stopped).")
        return panel
    # Counts as the table shows them: the cases read "hidden" when paired minus cases (the non-cases) is small.
    row = suppress.for_chart(nhs, "talking_therapies", rule).iloc[0]
    counts = suppress.for_table(nhs, "talking_therapies", rule).iloc[0]
    if nhs.n_paired.iloc[0] == 0:
        # "none paired" of a hidden number finished would tell of every one of those few (a 0 part of a hidden whole)
        panel.empty = (f"{count_words(HIDDEN, rule).capitalize()} finished a course (small-cell suppression): too few "
                       "to show these measures." if counts.n_paired == HIDDEN else
                       f"{count_words(counts.n_finished, rule).capitalize()} finished a course, but none has PHQ-9 and "
                       "GAD-7 scores both at baseline and after it.")
        return panel
    panel.tiles = [Tile(label, HIDDEN if pd.isna(row[key]) else f"{row[key]:.0%}", "")
                   for label, key in TALKING_THERAPIES_TILES]
    panel.figure = figures.talking_therapies(row, standards, rule.min_cell)
    panel.rows = table(nhs, "talking_therapies", rule, columns=[
        "n_finished", "n_paired", "n_cases", "caseness_rate", "n_recovered", "recovery_rate", "n_reliably_improved",
        "reliable_improvement_rate", "n_reliably_recovered", "reliable_recovery_rate", "n_reliably_deteriorated",
        "reliable_deterioration_rate", "n_mcid_improved", "mcid_improvement_rate"])
    panel.data = {"cases": count_words(counts.n_cases, rule), "paired": count_words(counts.n_paired, rule),
                  "finished": count_words(counts.n_finished, rule)}
    return panel


def change_per_series(marts: Marts, selection: Selection, response_fraction: float) -> Panel:
    """How many evaluable series fell by each 10% from baseline, by status (not in meeting mode), its small bins
    hidden (change_bins). Evaluable series only, as every end-of-induction figure: a score in a window still open
    may be replaced."""
    # Counted in SQL (end_change_counts), not series_summary's row per series: at 1M patients the dashboard copied a
    # million cached rows at every view of the page for this one chart.
    counts = marts("end_change_counts", instrument=selection.instrument, cohort=selection.cohort)
    bins, total = change_bins(counts, selection.disclosure)
    return Panel("Change from baseline per series", figure=figures.change_distribution(
        bins, total, selection.instrument, response_fraction, selection.disclosure.min_cell))


def change_bins(summary: pd.DataFrame, rule: "suppress.Disclosure | int") -> tuple[pd.DataFrame, str]:
    """Series per 10-point band of % change at end of induction, per end status, as the chart may draw them
    (status, bin_low, bin_high, n_series, hidden): a bin of 1 to min_cell - 1 series hidden (with exact counts the
    smallest other of its status too: suppress.histogram_bins), the others rounded as counts are (the status table's
    totals are rounded too). With it, the title's count in words: the number of series, or "some bars hidden" when
    a bar is (with the shown bars and the status table the total would give it)."""
    rows = summary.dropna(subset=["end_pct_change"])
    columns = ["status", "bin_low", "bin_high", "n_series", "hidden"]
    if rows.empty:
        return pd.DataFrame(columns=columns), ""
    # `summary`: one row per series, or rows counted (end_change_counts: n_series series at each change), which
    # weigh as many series each.
    weights = rows.n_series if "n_series" in rows else pd.Series(1, index=rows.index)
    edges = np.arange(-1.0, max(1.0, math.ceil(rows.end_pct_change.max() * 10) / 10) + 0.1, 0.1)
    parts = []
    for status in ("remission", "response", "no response"):
        mine = rows.end_status == status
        values = rows[mine].end_pct_change.clip(upper=edges[-1] - 1e-9)
        counts, _ = np.histogram(values, bins=edges, weights=weights[mine].to_numpy(dtype="float64"))
        counts = np.rint(counts).astype("int64")  # whole series: float sums of whole numbers, exact
        hidden = suppress.histogram_bins(counts, rule).to_numpy()
        parts.append(pd.DataFrame({"status": status, "bin_low": edges[:-1], "bin_high": edges[1:],
                                   "n_series": [0 if h else int(suppress.rounded(int(c), rule)) for c, h in
                                                zip(counts, hidden)], "hidden": hidden}))
    bins = pd.concat(parts, ignore_index=True)
    total = "some bars hidden" if bins.hidden.any() else f"{suppress.count_text(int(weights.sum()), rule)} series"
    return bins, total