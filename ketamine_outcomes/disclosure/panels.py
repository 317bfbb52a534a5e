"""Panels: each figure or table a page or the meeting pack shows, already suppressed. A page and the pack
ask this module for a panel with the same selection (instrument, cohort, disclosure) and only draw it, so
they show the same numbers for the same filters, under the same cohort sentence; neither calls
suppress.py itself for what a panel covers.

A panel reads its marts through `marts(name, **options)`: the dashboard passes its cached data.mart, the
pack and the CLI pass from_connection(con). The cohort rule is stated once here: end-of-induction rates
count the series at or above caseness at baseline unless the selection clears cases_only (Overview,
Compare, Quality review and the pack alike)."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from ketamine_outcomes.care import chart_notes
from ketamine_outcomes.charts import figures as charts
from ketamine_outcomes.definitions import INSTRUMENTS, remission_term
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import marts as metrics
from ketamine_outcomes.metrics import quality

Marts = Callable[..., pd.DataFrame]


def from_connection(con) -> Marts:
    """Marts read straight from a connection (the pack, the CLI, tests); metrics names each mart's function."""
    def read(name: str, **options) -> pd.DataFrame:
        return getattr(metrics, name)(con, **options)
    return read


@dataclass(frozen=True)
class Selection:
    """What a panel is for: the instrument, the cohort filters, what may be shown, and whether headline
    end-of-induction rates count only cases at baseline. `caseness`: instrument -> threshold in force."""
    instrument: str
    cohort: metrics.Cohort
    disclosure: suppress.Disclosure
    cases_only: bool = True
    caseness: dict[str, float] = field(default_factory=dict)

    def rated_cohort(self) -> metrics.Cohort:
        """The cohort end-of-induction rates count: cases at baseline (NHS Talking Therapies caseness) unless
        cleared, or a minimum baseline was set, or the instrument has no caseness threshold."""
        return metrics.with_caseness(self.cohort, self.instrument, self.caseness) if self.cases_only else self.cohort

    def cohort_sentence(self) -> str:
        """Who the end-of-induction rates count, in words, for every panel that shows them."""
        rated = self.rated_cohort()
        if rated is self.cohort:
            if self.cohort.min_baseline is not None:
                return (f"Series with a {self.instrument} baseline of {self.cohort.min_baseline} or more (the "
                        "minimum baseline filter).")
            return f"All series with a {self.instrument} baseline."
        return (f"Cases at baseline: series with {self.instrument} {rated.min_baseline} or more at baseline (NHS "
                "Talking Therapies caseness; mild cases would inflate remission).")

    def with_cohort(self, cohort: metrics.Cohort) -> "Selection":
        return replace(self, cohort=cohort)


@dataclass
class Tile:
    label: str
    value: str
    n: str  # the count the value is out of, as shown
    interval: str = ""
    help: str = ""
    basis: str = ""  # "observed" (of the series scored) or "intention to treat" (of the evaluable)


@dataclass
class Panel:
    """One figure or table as it may be shown: `figure` (plotly, or None), `table` (numbers as shown: hidden
    cells missing, counts rounded), `tiles`, and sentences: `cohort` (who is counted), `notes` (what was
    suppressed and how), `empty` (why there is nothing to show, when there is nothing)."""
    title: str
    figure: object = None
    table: pd.DataFrame | None = None
    tiles: list[Tile] = field(default_factory=list)
    cohort: str = ""
    notes: list[str] = field(default_factory=list)
    empty: str | None = None
    data: dict = field(default_factory=dict)  # what else the page or the pack lays out (frames as shown)


def rounding_note(rule: suppress.Disclosure) -> str:
    if not rule.on:
        return ""
    hidden = f"Counts from 1 to {rule.min_cell - 1} are hidden"
    if rule.round_to > 1:
        return (f"{hidden}, and other counts are rounded to the nearest {rule.round_to} (so two counts cannot be "
                "subtracted to give a small one); rates are from the exact counts, and a rate is hidden when fewer "
                f"than {rule.min_cell} are in it or left out of it.")
    return f"{hidden} (internal view: other counts are exact)."


# --- activity and trajectory ----------------------------------------------------------------------------

def activity(marts: Marts, selection: Selection) -> Panel:
    """The cohort's size: series, active series, patients and completed sessions, as shown (rounded)."""
    rule = selection.disclosure
    row = marts("activity", cohort=selection.cohort).iloc[0]
    panel = Panel("Activity", data={"n_series": int(row.n_series)})
    for label, column, why in (("Treatment series", "n_series", ""),
                               ("Active series", "n_active_series",
                                "Series with a completed session in the last 28 days of the data."),
                               ("Patients", "n_patients", ""), ("Completed sessions", "n_sessions", "")):
        panel.tiles.append(Tile(label, suppress.count_text(row[column], rule), "", help=why))
    return panel


def trajectory(marts: Marts, selection: Selection, bands: pd.DataFrame, itt: bool = False) -> Panel:
    """Mean score by week (observed; with the intention-to-treat line when asked), weeks of fewer than
    min_cell series scored hidden (the line breaks there), n under the points rounded."""
    rule, instrument = selection.disclosure, selection.instrument
    weekly = marts("weekly_outcomes", instrument=instrument, cohort=selection.cohort)
    panel = Panel(f"{instrument} trajectory")
    shown = suppress.for_chart(weekly, "weekly_outcomes", rule)
    hidden = suppress.suppressed(weekly, "weekly_outcomes", rule)
    panel.data = {"hidden": hidden, "weekly": shown}
    if shown.empty or shown.mean_score.isna().all():
        panel.empty = "No week has enough series scored to show."
        return panel
    itt_shown = None
    if itt:
        itt_shown = suppress.for_chart(marts("weekly_outcomes_itt", instrument=instrument, cohort=selection.cohort),
                                       "weekly_outcomes_itt", rule)
    panel.figure = charts.trajectory({"observed": shown}, bands[bands.instrument == instrument], instrument,
                                     max_score(instrument), itt=itt_shown)
    if hidden:
        panel.notes.append(f"Weeks with fewer than {rule.min_cell} series scored are hidden: the line breaks there.")
    return panel


def attrition(marts: Marts, selection: Selection) -> Panel:
    """Share of every series reaching each completed session; a session whose fall from the last one shown is
    small is hidden (suppress.attrition)."""
    frame = marts("attrition", instrument=selection.instrument, cohort=selection.cohort)
    rule = selection.disclosure
    return Panel("Attrition", figure=charts.attrition(suppress.attrition(frame, rule), rule))


# --- end of induction ------------------------------------------------------------------------------------

RATE_TILES = (  # (heading, rate column, numerator, denominator)
    ("observed", "response_rate", "responders", "n_scored"),
    ("observed", "remission_rate", "remitters", "n_scored"),
    ("itt", "itt_response_rate", "responders", "n_evaluable"),
    ("itt", "itt_remission_rate", "remitters", "n_evaluable"),
)


def rate_words(value: float, low: float, high: float, rule: suppress.Disclosure) -> tuple[str, str]:
    """A rate and its 95% interval as shown (whole percents under rounding)."""
    if pd.isna(value):
        return suppress.HIDDEN, ""
    return suppress.rate_text(value, rule), f"95% CI {suppress.rate_text(low, rule)}-{suppress.rate_text(high, rule)}"


def end_of_induction(marts: Marts, selection: Selection) -> Panel:
    """Observed and intention-to-treat response and remission at the end of induction: four tiles, the chart
    beside published results of the same route, for the headline cohort (Selection.rated_cohort)."""
    rule, instrument = selection.disclosure, selection.instrument
    cohort = selection.rated_cohort()
    rates = marts("cohort_comparison", instrument=instrument, by="all", cohort=cohort)
    panel = Panel(f"End of induction ({instrument})", cohort=selection.cohort_sentence())
    if rates.empty or rates.n_evaluable.iloc[0] == 0:
        panel.empty = f"No series with a {instrument} baseline has reached the end of its induction window yet."
        return panel
    shown = suppress.for_chart(rates, "cohort_comparison", rule)
    row, counts = shown.iloc[0], suppress.for_table(rates, "cohort_comparison", rule).iloc[0]
    term = "Below cut-off" if remission_term(instrument) != "remission" else "Remission"  # PCL-5 < 33
    for heading, key, numerator, denominator in RATE_TILES:
        value, interval = rate_words(row[key], row[key + "_low"], row[key + "_high"], rule)
        label = "Response" if "response" in key else term
        n = counts[denominator]
        why = "" if value != suppress.HIDDEN else (
            f" Hidden: fewer than {rule.min_cell} {'responded' if 'response' in key else 'remitted'} or did not.")
        basis = "observed" if heading == "observed" else "intention to treat"
        panel.tiles.append(Tile(label, value, n, interval, f"{counts[numerator]} of {n} series ({basis})." + why,
                                basis))
    published = marts("published_results", instrument=instrument, cohort=cohort)
    matched = published[published.is_matched]
    panel.figure = charts.end_of_induction(shown, matched, instrument)
    panel.table = shown
    panel.data = {"published": published, "matched": matched, "counts": counts}
    if suppress.suppressed(rates, "cohort_comparison", rule) or rule.round_to > 1:
        panel.notes.append(rounding_note(rule))
    return panel


# --- comparisons of groups -------------------------------------------------------------------------------

def funnel(marts: Marts, selection: Selection, by: str, label: str) -> Panel:
    """End-of-induction response by group (site, clinician, ...) as a funnel plot, and the groups' numbers, for
    the headline cohort. A group is left off the funnel when its scored series, its responders or its
    non-responders are from 1 to min_cell - 1; the centre and limits come from the groups shown."""
    rule = selection.disclosure
    rates = marts("cohort_comparison", instrument=selection.instrument, by=by, cohort=selection.rated_cohort())
    panel = Panel(f"End-of-induction response by {label}", cohort=selection.cohort_sentence())
    if rates.empty:
        panel.empty = f"No series in this selection has a {selection.instrument} baseline."
        return panel
    hidden = suppress.hidden_cells(rates, "cohort_comparison", rule, "responders", "n_scored")
    units, curves = quality.funnel(rates, "group_value", "responders", "n_scored", hidden=hidden)
    units["n_shown"] = [suppress.rounded(n, rule) if rule.on else n for n in units.n]
    panel.figure = charts.funnel(units, curves, label)
    panel.table = suppress.for_chart(rates, "cohort_comparison", rule)
    n_groups = int((rates.n_scored > 0).sum())
    n_hidden = int((hidden & (rates.n_scored > 0)).sum())
    panel.data = {"rates": rates, "hidden": hidden, "units": units, "n_groups": n_groups, "n_hidden": n_hidden}
    if units.empty:
        panel.empty = (f"No {label} can be placed on the funnel: each of the {n_groups} with series scored has fewer "
                       f"than {rule.min_cell} scored, responding or not responding (small-cell suppression). "
                       "Choose a wider period (the rolling 12 months) or fewer filters.")
    elif n_hidden:
        panel.notes.append(f"{n_hidden} of {n_groups} {label}s with series scored are not placed on the funnel: fewer "
                           f"than {rule.min_cell} scored, responding or not responding.")
    if rule.on:
        panel.notes.append(rounding_note(rule))
    return panel


# --- periods ---------------------------------------------------------------------------------------------

def periods(marts: Marts, selection: Selection, grain: str) -> pd.DataFrame:
    """cohort_comparison by the month or quarter the series started (dated series only), headline cohort."""
    frame = marts("cohort_comparison", instrument=selection.instrument, by=f"start_{grain}",
                  cohort=selection.rated_cohort())
    return frame[frame.group_value != "unknown"].reset_index(drop=True)


def p_chart(marts: Marts, selection: Selection, grain: str, changes: pd.DataFrame | None = None) -> Panel:
    """End-of-induction response period by period (a p-chart with NHS Making Data Count rules). `changes`: the
    process changes the clinic noted (care.chart_notes), marked on the chart, the limits starting again at those
    it asked to."""
    rule = selection.disclosure
    frame = periods(marts, selection, grain)
    panel = Panel(f"End-of-induction response ({selection.instrument}) by {grain} the series started",
                  cohort=selection.cohort_sentence())
    hidden = suppress.hidden_cells(frame, "cohort_comparison", rule, "responders", "n_scored")
    breaks = chart_notes.breaks(changes, frame.group_value) if changes is not None else None
    chart = quality.p_chart(frame, "group_value", "responders", "n_scored", hidden, quality.open_periods(frame),
                            breaks=breaks)
    chart["n_shown"] = [suppress.rounded(n, rule) if rule.on and not pd.isna(n) else n for n in chart.n]
    placed = chart_notes.placed(changes, frame.group_value) if changes is not None else None
    panel.figure = charts.p_chart(chart, panel.title, grain, notes=placed)
    signals = chart[(chart.signals != "") & ~chart.hidden]
    panel.data = {"chart": chart, "frame": frame, "hidden": hidden, "grain": grain,
                  "signals": [f"{r.period}: {r.signals} ({suppress.rate_text(r.rate, rule)} of "
                              f"{suppress.count_text(r.n, rule)} series scored)" for r in signals.itertuples()],
                  "no_signal": quality.no_signal_sentence(chart, grain), "n_hidden": int(chart.hidden.sum())}
    if frame.empty:
        panel.empty = f"No dated series in this selection to place in {grain}s."
    return panel


def period_numbers(marts: Marts, selection: Selection, start, end, label: str) -> Panel:
    """One period's end-of-induction numbers (series, evaluable, scored, responders, rates) for the headline
    cohort: the Quality review's latest period and the pack's headline show this same panel."""
    in_period = selection.with_cohort(replace(selection.cohort, start_from=start, start_to=end))
    panel = end_of_induction(marts, in_period)
    panel.title = f"Series started in {label}"
    return panel


def curve(marts: Marts, selection: Selection, mart: str, by: str) -> Panel:
    """A Kaplan-Meier (or cumulative-incidence) curve by group, shown at each week while min_cell or more
    series are at risk (suppress.survival_curve)."""
    rule = selection.disclosure
    frame = marts(mart, instrument=selection.instrument, by=by, cohort=selection.cohort)
    panel = Panel(mart.replace("_", " "))
    if frame.empty:
        panel.empty = "none"
        return panel
    shown = suppress.survival_curve(frame, rule)
    panel.table = shown
    panel.data = {"curve": frame, "n": suppress.survival_groups(frame, rule)}
    if rule.on:
        panel.notes.append(
            f"Small-cell suppression: the estimate is drawn at the end of each week (not day by day, which would "
            f"give each day's events), for as long as {rule.min_cell} or more series are at risk; numbers at risk "
            + (f"are rounded to the nearest {rule.round_to}" if rule.round_to > 1 else "are exact (internal view)")
            + f"; a group of fewer than {rule.min_cell} series is not drawn.")
    return panel


def max_score(instrument: str) -> int:
    return INSTRUMENTS[instrument].max_score
