"""The safety panels (disclosure/panels.py for the rest): each figure and table of the Safety page and the
meeting pack's safety section, already suppressed, so the page and the pack show the same numbers for the
same filters."""

import pandas as pd

from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.disclosure.panels import Marts, Panel, Selection, table
from ketamine_outcomes.metrics import signals

ITEM9_COURSE_COLUMNS = ["group_value", "measure", "n_series", "n_meeting", "measure_rate", "measure_rate_low",
                        "measure_rate_high"]
PRESSURE_COLUMNS = ["route", "n_sessions", "n_measured", "median_peak", "max_peak", "n_high_peaks", "high_peak_rate",
                    "n_rise_measured", "n_rises", "rise_rate", "n_pre_measured", "n_pre_raised", "pre_raised_rate"]


def safety_signals(marts: Marts, selection: Selection, settings: dict) -> Panel:
    """"Any safety signal?": each adverse event's share of series over the induction, item 9 emerging and high
    systolic peaks, each as a chart may draw it (small cells hidden) before it is set beside its reference."""
    # Under a threshold alone (counts rounded, as the pack's), as the page always read them.
    rule, cohort = selection.disclosure.min_cell, selection.cohort
    incidence = marts("adverse_event_incidence", cohort=cohort)
    summary = signals.safety_signals(
        suppress.for_chart(incidence, "adverse_event_incidence", rule),
        suppress.for_chart(marts("item9_course", by="all", cohort=cohort), "item9_course", rule),
        suppress.for_chart(signals.pressure_totals(marts("blood_pressure", cohort=cohort)), "blood_pressure", rule),
        settings)
    return Panel("Any safety signal?", data={"summary": summary, "headline": signals.headline(summary),
                                             "sources": signals.sources(incidence)})


def adverse_events(marts: Marts, selection: Selection, by: str, by_label: str) -> Panel:
    """Adverse events per completed session by route, session number or dose band ("all": one row per event, the
    pack's), with the table as text (the pack) and the sessions counted."""
    rule = selection.disclosure
    events = marts("adverse_events", by=by, cohort=selection.cohort)
    panel = Panel(f"Adverse events by {by_label}")
    if events.empty:
        panel.empty = "none"
    shown = suppress.for_chart(events, "adverse_events", rule)
    if by == "session_number":
        panel.figure = figures.adverse_events_by_session(shown)
    elif by != "all":
        panel.figure = figures.adverse_events(shown, by_label, rule.min_cell)
    panel.hidden = suppress.suppressed(events, "adverse_events", rule)
    panel.data = {"text": suppress.for_table(events, "adverse_events", rule),
                  "sessions": suppress.count_text(events.n_sessions.max() if not events.empty else 0, rule)}
    return panel


def blood_pressure(marts: Marts, selection: Selection, settings: dict) -> Panel:
    """Blood-pressure peaks, rises after dosing and pre-dose readings above the thresholds, by route: two
    charts (panel.figure, data["flags"]), the table, and the table as text (the pack)."""
    rule = selection.disclosure
    pressure = marts("blood_pressure", cohort=selection.cohort)
    # The routes' sessions add up to the Overview's completed sessions: one hidden would be the total minus the rest.
    shown = suppress.for_chart(pressure, "blood_pressure", rule, rows_add_up=True)
    panel = Panel("Blood pressure", figure=figures.blood_pressure(shown, settings, rule.min_cell))
    panel.data = {"flags": figures.blood_pressure_flags(shown, settings, rule.min_cell),
                  "text": suppress.for_table(pressure, "blood_pressure", rule, rows_add_up=True)}
    panel.hidden = suppress.suppressed(pressure, "blood_pressure", rule, rows_add_up=True)
    panel.rows = table(pressure, "blood_pressure", rule, columns=PRESSURE_COLUMNS, rows_add_up=True)
    return panel


def item9_course(marts: Marts, selection: Selection, by: str) -> Panel:
    """PHQ-9 item 9 over the induction: resolved, emerged, reliable deterioration (evaluable series)."""
    rule = selection.disclosure
    course = marts("item9_course", by=by, cohort=selection.cohort)
    panel = Panel("Item 9 over the induction",
                  figure=figures.item9_course(suppress.for_chart(course, "item9_course", rule), rule))
    panel.hidden = suppress.suppressed(course, "item9_course", rule)
    panel.rows = table(course.assign(measure=course.measure.map(figures.ITEM9_MEASURES)), "item9_course", rule,
                       columns=ITEM9_COURSE_COLUMNS)
    return panel


def dissociation(marts: Marts, selection: Selection, by: str) -> Panel:
    """Mean CADSS (dissociation) by session."""
    rule = selection.disclosure
    frame = marts("dissociation", by=by, cohort=selection.cohort)
    panel = Panel("Dissociation (CADSS)", figure=figures.dissociation(suppress.for_chart(frame, "dissociation", rule)))
    panel.hidden = suppress.suppressed(frame, "dissociation", rule)
    if frame.empty:
        panel.empty = "none"
    else:
        panel.rows = table(frame, "dissociation", rule, columns=["group_value", "session_number", "n_sessions",
                                                                 "mean_score", "mean_ci_low", "mean_ci_high"])
    return panel


def item9_flags_in_period(marts: Marts, selection: Selection) -> Panel:
    """The pack's item 9 counts for its filters: answers of 1 or more given in the series of the selection's cohort
    (its site, route, ... and series started in its period), rises, and patients, each under the small-cell rule
    (answers and patients rounded, so their difference gives no count of repeat flags). The Safety page's list and
    the follow-up page are the whole clinic's instead, and say so."""
    rule, cohort = selection.disclosure, selection.cohort
    answers = marts("item9_cohort_answers", cohort=cohort)
    return Panel("PHQ-9 item 9", data={
        "flagged": suppress.count_text(len(answers), rule),
        "rises": suppress.count_text(int(answers.is_rise.sum()) if not answers.empty else 0, rule),
        "patients": suppress.count_text(answers.patient_id.nunique(), rule),
        "when": f"answers given in the treatment series of these filters ({cohort.describe()}), at any time in the "
                "series; a PHQ-9 outside any series (a screening) is in no series' count"})


def patient_rows(frame: pd.DataFrame, columns: list[str]):
    """A patient-level list (item 9 flags) for the care team: not a mart's counts, never suppressed; the page
    shows it outside meeting mode only, and only an analyst may download it."""
    return table(frame, None, suppress.Disclosure(0, 1), columns=columns)


def follow_up_counts_for_meeting(frame: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The counts by state as a meeting may see them (`shown`: text): a count from 1 to min_cell - 1 reads
    "hidden", and when only one is hidden the next smallest is hidden too, since the states add up to the
    flags' total that Safety and the pack show (CMS: nothing a small count can be worked out from)."""
    small = frame.n_flags.map(lambda n: suppress.is_small(n, min_cell))
    if small.sum() == 1:
        others = frame.n_flags.where(~small & (frame.n_flags > 0))
        if others.notna().any():
            small[others.idxmin()] = True
    shown = [suppress.HIDDEN if hide else suppress.count_text(int(n), min_cell) for n, hide in zip(frame.n_flags, small)]
    return frame.assign(shown=shown)
