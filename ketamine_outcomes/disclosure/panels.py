"""Panels: each figure or table a page or the meeting pack shows, already suppressed. A page and the pack
ask this module for a panel with the same selection (instrument, cohort, disclosure) and only draw it, so
they show the same numbers for the same filters, under the same cohort sentence; neither calls
suppress.py itself for what a panel covers. The Safety page's panels are in safety_panels.py and the
Response & remission page's in response_panels.py (the same Selection, Panel and Table); a page's tables are
panels.Table, which dashboard/tables.py only formats.

A panel reads its marts through `marts(name, **options)`: the dashboard passes its cached data.mart, the
pack and the CLI pass from_connection(con). The cohort rule is stated once here: end-of-induction rates
count the series at or above caseness at baseline unless the selection clears cases_only (Overview,
Compare, Quality review and the pack alike)."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from ketamine_outcomes.care import chart_notes
from ketamine_outcomes.charts import figures
from ketamine_outcomes.definitions import INSTRUMENTS, remission_term
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.safe_text import markdown as safe_markdown
from ketamine_outcomes import metrics
from ketamine_outcomes.metrics import casemix
from ketamine_outcomes.metrics.marts import Cohort, with_caseness
from ketamine_outcomes.metrics import quality

Marts = Callable[..., pd.DataFrame]

# The one word every hidden cell reads, for pages that say it in a sentence ("a hidden number of series").
HIDDEN = suppress.HIDDEN
Disclosure = suppress.Disclosure


def disclosure_for(min_cell: int, internal: bool) -> suppress.Disclosure:
    """What a view may show: counts under min_cell hidden, the others rounded to 5; exact in the analyst's
    internal view (below the clinic's threshold) and with suppression off."""
    return suppress.Disclosure(min_cell, 1 if internal or min_cell <= 1 else suppress.ROUND_TO)


def from_connection(con) -> Marts:
    """Marts read straight from a connection (the pack, the CLI, tests); metrics names each mart's function."""
    def read(name: str, **options) -> pd.DataFrame:
        return getattr(metrics.marts, name)(con, **options)
    return read


@dataclass(frozen=True)
class Selection:
    """What a panel is for: the instrument, the cohort filters, what may be shown, and whether headline
    end-of-induction rates count only cases at baseline. `caseness`: instrument -> threshold in force."""
    instrument: str
    cohort: Cohort
    disclosure: suppress.Disclosure
    cases_only: bool = True
    caseness: dict[str, float] = field(default_factory=dict)

    def rated_cohort(self) -> Cohort:
        """The cohort end-of-induction rates count: cases at baseline (NHS Talking Therapies caseness) unless
        cleared, or a minimum baseline was set, or the instrument has no caseness threshold."""
        return with_caseness(self.cohort, self.instrument, self.caseness) if self.cases_only else self.cohort

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

    def with_cohort(self, cohort: Cohort) -> "Selection":
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
    rows: "Table | None" = None  # the table under the figure, as it may be shown
    hidden: bool = False  # whether suppression hid any cell of it (the page says so under it)


@dataclass
class Table:
    """A table's numbers as they may be shown: `numbers` (hidden cells missing, counts rounded), `hidden` (a
    same-shaped mask of the cells suppression hid), `counts` (its count columns) and `integers` (columns whose
    stored values are whole numbers). The dashboard only formats it (dashboard/tables.py)."""
    numbers: pd.DataFrame
    hidden: pd.DataFrame
    counts: tuple[str, ...] = ()
    integers: frozenset = frozenset()


def table(frame: pd.DataFrame, mart: str | None, rule: suppress.Disclosure, columns: list[str] | None = None,
          rows_add_up: bool | str = False, withheld: pd.Series | None = None) -> Table:
    """A mart's rows as a table may show them. `mart` None: rows that are not a mart's (patient-level lists for
    an analyst, never in meeting mode), shown as they are. `rows_add_up`: the rows are the groups of one
    dimension, adding up to a total shown elsewhere. `withheld`: rows whose counts are hidden whatever their size
    (they add up to a total hidden elsewhere)."""
    frame = frame[columns] if columns else frame
    numbers = suppress.for_chart(frame, mart, rule, rows_add_up) if mart else frame.copy()
    counts = tuple(suppress.RULES[mart]["counts"]) if mart else ()
    if withheld is not None and withheld.any():
        for column in counts:
            if column in numbers:
                hide = withheld.reindex(numbers.index, fill_value=False)
                numbers[column] = numbers[column].astype("Float64").mask(hide)
    integers = frozenset(c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c]))
    return Table(numbers, numbers.isna() & frame.notna(), counts, integers)


def rounding_note(rule: suppress.Disclosure) -> str:
    if not rule.on:
        return ""
    hidden = f"Counts from 1 to {rule.min_cell - 1} are hidden"
    if rule.round_to > 1:
        return (f"{hidden}, and other counts are rounded to the nearest {rule.round_to} (so two counts cannot be "
                "subtracted to give a small one); rates are from the exact counts, shown in whole percents, means and "
                f"medians to one decimal, and a rate is hidden when fewer than {rule.min_cell} are in it or left out "
                "of it.")
    return f"{hidden} (internal view: other counts are exact)."


# --- activity and trajectory ----------------------------------------------------------------------------

def activity(marts: Marts, selection: Selection) -> Panel:
    """The cohort's size: series, active series, patients and completed sessions, as shown (rounded). A 0 beside a
    hidden number of series reads hidden too ("0 active" would say that none of those few is)."""
    rule = selection.disclosure
    frame = marts("activity", cohort=selection.cohort)
    row, shown = frame.iloc[0], suppress.for_table(frame, "activity", rule).iloc[0]
    panel = Panel("Activity", data={"n_series": int(row.n_series)})
    for label, column, why in (("Treatment series", "n_series", ""),
                               ("Active series", "n_active_series",
                                "Series with a completed session in the last 28 days of the data."),
                               ("Patients", "n_patients", ""), ("Completed sessions", "n_sessions", "")):
        panel.tiles.append(Tile(label, shown[column], "", help=why))
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
    panel.figure = figures.trajectory({"observed": shown}, bands[bands.instrument == instrument], instrument,
                                     max_score(instrument), itt=itt_shown)
    if hidden:
        panel.notes.append(f"Weeks with fewer than {rule.min_cell} series scored are hidden: the line breaks there.")
    return panel


def attrition(marts: Marts, selection: Selection) -> Panel:
    """Share of every series reaching each completed session; a session whose fall from the last one shown is
    small is hidden (suppress.attrition)."""
    frame = marts("attrition", instrument=selection.instrument, cohort=selection.cohort)
    rule = selection.disclosure
    return Panel("Attrition", figure=figures.attrition(suppress.attrition(frame, rule), rule))


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
    panel.figure = figures.end_of_induction(shown, matched, instrument)
    panel.table = shown
    panel.data = {"published": published, "matched": matched, "counts": counts}
    if suppress.suppressed(rates, "cohort_comparison", rule) or rule.round_to > 1:
        panel.notes.append(rounding_note(rule))
    return panel


def published_by_route(marts: Marts, selection: Selection, published: pd.DataFrame) -> Panel:
    """Observed end-of-induction rates route by route beside the published results of each route (headline
    cohort), when the series mix routes. The routes add up to the all-series row shown above it."""
    rule = selection.disclosure
    by_route = marts("cohort_comparison", instrument=selection.instrument, by="route", cohort=selection.rated_cohort())
    panel = Panel("End of induction by route, beside published results", cohort=selection.cohort_sentence(),
                  figure=figures.published_by_route(suppress.for_chart(by_route, "cohort_comparison", rule,
                                                                      rows_add_up=True),
                                                   published, selection.instrument, rule.min_cell))
    panel.data = {"not_drawn": not_drawn_routes(by_route, published, selection.instrument)}
    return panel


def not_drawn_routes(by_route: pd.DataFrame, published: pd.DataFrame, instrument: str) -> str:
    """The sentence under the by-route chart naming the clinic's routes it leaves out (no published figure on this
    instrument for the route), as the pack says it; "" when every route is drawn. Route names come from exports:
    escaped for Markdown."""
    with_papers = set(published[published.instrument == instrument].route)
    left_out = [r for r in by_route.group_value if r not in with_papers]
    if not left_out:
        return ""
    return (f"Not drawn: {', '.join(safe_markdown(r) for r in left_out)} (no published {instrument} figure for "
            f"{'that route' if len(left_out) == 1 else 'those routes'} to set beside).")


def share_text(part, whole, rule: suppress.Disclosure) -> str:
    """A share of series in words (the pack's data quality), shown only when neither the part nor the rest is a
    small count (whole percents); "-" when there is nothing to share."""
    if not whole or pd.isna(whole) or any(suppress.is_small(v, rule) for v in (part, whole - part, whole)):
        return HIDDEN if whole else "-"
    return f"{part / whole:.0%}"


def coverage(frame: pd.DataFrame, rule: suppress.Disclosure) -> pd.DataFrame:
    """The Data page's coverage (counts of patients, series and assessments, and other facts in words), its
    counts shown as every count is: hidden when small, else rounded (exact in an internal view)."""
    if not rule.on or rule.round_to <= 1:
        return frame
    return frame.assign(value=[suppress.count_text(int(v), rule) if str(v).isdigit() else v for v in frame.value])


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
    units, curves = quality.funnel(rates, "group_value", "responders", "n_scored", hidden=hidden,
                                   shown_n=shown_n(rule))
    units, curves = drawn_rates(units, ["rate"], rule), drawn_rates(curves, list(curves.columns.drop("n")), rule)
    panel.figure = figures.funnel(units, curves, label)
    panel.table = suppress.for_chart(rates, "cohort_comparison", rule)
    # The groups add up to the all-series row shown elsewhere (the Overview's): a table of every group.
    panel.rows = table(rates.rename(columns={"group_value": label}), "cohort_comparison", rule, rows_add_up=True,
                       columns=[label, "n_series", "n_evaluable", "n_scored", "responders", "response_rate",
                                "remitters", "remission_rate", "itt_response_rate", "itt_remission_rate",
                                "n_evaluable_no_baseline"])
    n_groups = int((rates.n_scored > 0).sum())
    n_hidden = int((hidden & (rates.n_scored > 0)).sum())
    panel.data = {"rates": rates, "hidden": hidden, "units": units, "n_groups": n_groups, "n_hidden": n_hidden,
                  **funnel_words(units, rule)}
    if units.empty:
        panel.empty = (f"No {label} can be placed on the funnel: {_each_group(n_groups, label, rule.min_cell)} (small-cell "
                       "suppression). Choose a wider period (the rolling 12 months) or fewer filters.")
    elif n_hidden:
        panel.notes.append(f"{n_hidden} of {n_groups} {label}s with series scored are not placed on the funnel: fewer "
                           f"than {rule.min_cell} scored, responding or not responding.")
    if rule.on:
        panel.notes.append(rounding_note(rule))
    return panel


def _each_group(n_groups: int, label: str, min_cell: int) -> str:
    """Why no group is placed, in words that agree with the number of groups with series scored."""
    if n_groups == 0:
        return "none has series scored"
    which = f"the one {label} with series scored has" if n_groups == 1 else \
        f"each of the {n_groups} with series scored has"
    return f"{which} fewer than {min_cell} scored, responding or not responding"


def shown_n(rule: suppress.Disclosure):
    """The n a control chart shows, places its points at and draws its limits at: rounded under rounding (a
    limit's width at the exact n, p +/- z sqrt(p(1-p)/n), would give the exact n back), exact in an internal view
    or with suppression off."""
    if not rule.on or rule.round_to <= 1:
        return None
    return lambda n: n if pd.isna(n) else suppress.rounded(n, rule)


def rule_rounds(rule: suppress.Disclosure) -> bool:
    """Whether counts are shown rounded (suppression on, outside an analyst's internal view)."""
    return rule.on and rule.round_to > 1


def drawn_rates(frame: pd.DataFrame, columns: list[str], rule: suppress.Disclosure, digits: int = 2) -> pd.DataFrame:
    """A control chart's rates as drawn under rounding, after its flags were judged on the exact ones: points,
    the centre line and the limits to whole percents (as every rate and interval shown: rule 3). At a tenth of a
    percent the centre (the exact responders over the exact series of the groups shown, 112 / 215 = 0.521) fits
    only about one total in five near the rounded one; to whole percents every total does. Exact in an internal
    view."""
    if not rule.on or rule.round_to <= 1 or frame.empty:
        return frame
    return frame.assign(**{c: frame[c].astype("float64").round(digits) for c in columns if c in frame})


def funnel_words(units: pd.DataFrame, rule: suppress.Disclosure) -> dict:
    """Every point of a funnel in words (on paper there is no hover): `rows`, one per group placed, and
    `outside`, the groups outside a limit."""
    outside = [f"{row.group}: {row.outside} ({row.rate:.0%} of {suppress.count_text(row.n, rule)})"
               for row in units.itertuples() if row.outside]
    rows = [{"group": row.group, "n": suppress.count_text(row.n, rule), "k": suppress.count_text(row.k, rule),
             "rate": suppress.rate_text(row.rate, rule),
             "where": row.outside.replace(" ", " the ", 1) + " limit" if row.outside else "within the limits"}
            for row in units.sort_values("group").itertuples()]
    return {"rows": rows, "outside": outside}


def adjusted_funnel(marts: Marts, selection: Selection, by: str, label: str, raw: Panel) -> Panel:
    """Observed / expected responders by site or clinician (case-mix adjusted), over the same cohort as the raw
    funnel beside it (the headline cohort: cases at baseline unless cleared), and only for the groups the raw
    funnel places: a hidden group's responders would follow from its ratio and expected count."""
    placed = raw.data["rates"][~raw.data["hidden"]].group_value if raw.table is not None else []
    adjusted = casemix.only(marts("casemix_comparison", instrument=selection.instrument, by=by,
                                  cohort=selection.rated_cohort()), placed)
    panel = Panel(f"Adjusted for case mix: which {label}s differ once their patients are taken into account",
                  cohort=raw.cohort)
    if rule_rounds(selection.disclosure):
        adjusted = adjusted_as_shown(adjusted, selection.disclosure)
        if adjusted.fitted:
            panel.notes.append(f"Expected responders are rounded to the nearest {selection.disclosure.round_to}, as "
                               "counts are, and ratios and limits drawn to two decimals, as rates are to whole "
                               f"percents; whether a {label} lies outside a limit is judged on the exact numbers.")
    if adjusted.fitted:
        panel.figure = figures.adjusted_funnel(adjusted.groups, adjusted.curves, label)
    panel.data = {"adjusted": adjusted, "words": casemix.in_words(adjusted, label, raw.data.get("units"))}
    return panel


def adjusted_as_shown(adjusted: casemix.Adjusted, rule: suppress.Disclosure) -> casemix.Adjusted:
    """The case-mix comparison as it may be shown under rounding. Its numbers are built on counts: responders
    (a count: rounded), the ratio observed / expected (which with the exact expected gives the responders back:
    drawn at the expected rounded to 5, as counts are, and to two decimals), the limits (whose shape gives the
    overall rate: drawn to two decimals too, the hundredths a rate is drawn to and the raw funnel's limits are) and
    the note's counts (rounded before its words are made: casemix.model_note).
    Flags and the sentence were judged on the exact numbers."""
    note = adjusted.note if adjusted.counts is None else \
        casemix.model_note(adjusted.counts, lambda count: suppress.count_text(count, rule))
    if not adjusted.fitted:
        return replace(adjusted, note=note)
    groups = adjusted.groups.assign(
        observed=[suppress.count_text(o, rule) for o in adjusted.groups.observed],
        expected=[suppress.rounded(round(e), rule) for e in adjusted.groups.expected],
        ratio=adjusted.groups.ratio.round(2))
    curves = adjusted.curves.assign(**{c: adjusted.curves[c].round(2) for c in adjusted.curves.columns
                                       if c != "expected"})
    return replace(adjusted, groups=groups, curves=curves, note=note)


# --- periods ---------------------------------------------------------------------------------------------

def choose_grain(monthly: pd.DataFrame, min_cell: int) -> str:
    """'month' when most months with series scored would be shown under small-cell suppression
    (suppress.hidden_cells on cohort_comparison rows), else 'quarter': a p-chart of mostly hidden
    months says nothing, so a small clinic gets one point per quarter."""
    months = monthly[monthly.n_scored > 0].reset_index(drop=True)
    if months.empty:
        return "quarter"
    hidden = suppress.hidden_cells(months, "cohort_comparison", min_cell, "responders", "n_scored")
    return "month" if (~hidden).mean() > 0.5 else "quarter"


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
                            breaks=breaks or (), shown_n=shown_n(rule))
    chart = drawn_rates(chart, ["rate", "centre", "lower", "upper", "inner_lower", "inner_upper"], rule)
    placed = chart_notes.placed(changes, frame.group_value) if changes is not None else None
    panel.figure = figures.p_chart(chart, panel.title, grain, notes=placed)
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
    # Both open with the same two counts under the same labels (PERIOD_COUNTS): every series started, then those
    # the rates count (with a baseline, cases at baseline unless cleared), so neither reads as the other's figure.
    counts = panel.data.get("counts")
    panel.data["period_counts"] = {
        "started": activity(marts, in_period).tiles[0].value,
        "counted": counts.n_series if counts is not None else "0"}
    return panel


# The labels of period_numbers' two opening counts, as the Quality review's tiles and the pack's headline name them.
PERIOD_COUNTS = {"started": "series started", "counted": "series counted in the rates"}


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
    n = suppress.survival_groups(frame, rule)
    panel.data = {"curve": frame, "n": n}
    # n and median per group, from the curve as shown: a group not drawn reads "hidden".
    for group in frame.group_value.drop_duplicates():
        kept = shown[shown.group_value == group]
        panel.tiles.append(median_tile(str(group), kept, n[group], rule))
    if "n_followed_up" in frame:  # sustained response: how many were followed up after responding, per group
        panel.data["followed_up"] = "; ".join((f"{g}: " if g != "all" else "") +
                                              suppress.followed_up_text(frame, g, rule)
                                              for g in frame.group_value.unique())
    if rule.on:
        panel.notes.append(
            f"Small-cell suppression: the estimate is drawn at the end of each week (not day by day, which would "
            f"give each day's events), for as long as {rule.min_cell} or more series are at risk; numbers at risk "
            + (f"are rounded to the nearest {rule.round_to} and the estimate to whole percents" if rule.round_to > 1
               else "are exact (internal view)")
            + f"; a group of fewer than {rule.min_cell} series is not drawn.")
    return panel


def median_tile(group: str, kept: pd.DataFrame, n: str, rule: suppress.Disclosure) -> Tile:
    """A curve's median as a tile: a value is a number of days or "hidden", never a phrase (a tile's big type
    reads as a figure). "Hidden" is suppression's word, for a group not drawn. A median the shown curve does not
    reach reads "> N days" (N its last day) whether the full curve reaches half after it or never does: both
    say the median is beyond the curve shown, and its caption (`help`) says which."""
    if kept.empty:
        return Tile(group, HIDDEN, n)
    words, last = suppress.median_text(kept), int(kept.day.max())
    if words == "past the shown curve":
        return Tile(group, f"> {last} days", n, help=f"not reached by day {last}, where the curve stops (after it "
                                                      f"fewer than {rule.min_cell} series are at risk)")
    if words == "not reached":  # the curve never falls to half: the median is beyond its last day, a number
        return Tile(group, f"> {last} days", n, help=f"not reached: the curve stays above half to day {last}")
    return Tile(group, words, n)


def max_score(instrument: str) -> int:
    return INSTRUMENTS[instrument].max_score


def count_words(count, rule: suppress.Disclosure, noun: str = "series") -> str:
    """A count as a sentence says it: "45 series", or "a hidden number of series", never "hidden series"."""
    text = count if isinstance(count, str) else suppress.count_text(count, rule)
    return f"a hidden number of {noun}" if text == HIDDEN else f"{text} {noun}"


# The n behind each value a weekly chart draws: a mean rests on the series scored that week, a rate on those paired
# with their baseline (fewer), so a week can show its mean and hide its rate.
DRAWN_N = {"mean_score": "n_scored", "response_rate": "n_paired"}


def itt_followup_note(weekly: pd.DataFrame, itt: pd.DataFrame | None, rule: "suppress.Disclosure | int",
                      drawn: str = "mean_score") -> str:
    """A caption for a weekly chart whose observed weeks go on past the end of intention to treat: where it stops,
    and how few series the last observed week rests on out of the cohort's (both as the tables show them).
    `drawn`: the value the chart plots (its last shown week ends the axis), so the caption names that week."""
    shown = weekly.dropna(subset=[drawn])
    if itt is None or itt.empty or shown.empty:
        return ""
    last = shown.sort_values("week").iloc[-1]
    end = int(itt.week.max())
    if last.week <= end:
        return ""
    n = last[DRAWN_N[drawn]]
    return (f"Intention to treat ends at week {end}, the end of induction: a finished course is not drawn back at its "
            f"baseline. After it, observed follow-up only, a group that shrinks: week {int(last.week)} rests on "
            f"{suppress.count_text(n, rule)} of {suppress.count_text(itt.sort_values('week').n_series.iloc[0], rule)}"
            " series with a baseline.")



def axis_end_note(weekly: pd.DataFrame, drawn: str = "mean_score", n: str = "n_scored", what: str = "a mean") -> str:
    """The caption's sentence on where a weekly chart's axis ends (the Response page's wording): at the last week
    with `what` shown. Weeks after it where series were scored (n hidden, or above 0) but every line's value is
    hidden are cut off the axis: named, so the end of the lines is not read as the end of the data."""
    shown = weekly.dropna(subset=[drawn])
    if shown.empty:
        return ""
    last = int(shown.week.max())
    later = weekly[(weekly.week > last) & (weekly[n].isna() | (weekly[n] > 0))].week
    if later.empty:
        return f"The axis ends at the last week with {what} shown."
    return (f"The axis ends at the last week with {what} shown (week {last}): series were scored after it, up to "
            f"week {int(later.max())}, but every line's value there is hidden (small-cell suppression).")


def baseline_n_note(drawn: pd.DataFrame, group: str, names: list[str]) -> str:
    """Each line's week-0 n in one sentence, as the chart's table shows it (already suppressed: rounded, or
    "hidden"): on a phone the n under the points is only on every few weeks, one line's at a time (the walk).
    "" for one line (its n is under its week 0)."""
    if len(names) < 2:
        return ""
    week0 = drawn[drawn.week == 0].set_index(group).n_scored
    counts = [f"{safe_markdown(name)} " + (f"{int(week0[name]):,}" if pd.notna(week0.get(name)) else "hidden")
              for name in names if name in week0.index]
    return f"Series scored at baseline (week 0), line by line: {'; '.join(counts)}." if counts else ""


# --- trajectories by group -------------------------------------------------------------------------------

WEEKLY_COLUMNS = ["week", "n_scored", "mean_score", "mean_ci_low", "mean_ci_high", "n_paired", "mean_change",
                  "responders", "response_rate", "remitters", "remission_rate"]


# The one line of an unsplit trajectories chart (split 'all'), as its legend and table name it.
ALL_SERIES = "all series"


def trajectories(marts: Marts, selection: Selection, by: str, group: str, bands: pd.DataFrame, itt: bool = False,
                 spaghetti: pd.DataFrame | None = None, lines: list[str] | None = None,
                 drawn_lines: list[str] | None = None) -> Panel:
    """Mean score by week, one line per group of the split `by` (weekly_outcomes split so, one query; 'all': one
    line, ALL_SERIES), with the weekly table under it, the group in column `group`. `lines`: the groups, in order
    (default: every group with a series in the cohort, by name). Week by week the lines add up to the all-series
    line (the Overview's): one hidden n would be its n minus the rest, so with exact counts the smallest other goes
    with it. `spaghetti`: individual series (sampled), drawn only over the weeks whose mean is shown, and not at all
    when fewer than min_cell series are in them. `drawn_lines`: the lines to draw (default all; the Compare page
    draws the groups placed on its funnel), each still hidden as every line's weeks require."""
    rule, instrument = selection.disclosure, selection.instrument
    if by == "all":  # the unsplit table, as the Overview reads it (one cached result for both pages)
        weekly = marts("weekly_outcomes", instrument=instrument, cohort=selection.cohort).assign(group_value=ALL_SERIES)
    else:
        weekly = marts("weekly_outcomes", instrument=instrument, cohort=selection.cohort, by=by)
    lines = list(dict.fromkeys(weekly.group_value)) if lines is None else list(lines)
    weekly = in_line_order(weekly, lines).rename(columns={"group_value": group})
    panel = Panel(f"{instrument} trajectories")
    if weekly.empty:
        panel.empty = f"No series in this selection has a {instrument} baseline."
        return panel
    drawn = suppress.for_chart(weekly, "weekly_outcomes", rule, rows_add_up="week")
    itt_frame = marts("weekly_outcomes_itt", instrument=instrument, cohort=selection.cohort) if itt else None
    panel.data = {"drawn": drawn, "spaghetti_note": None, "followup": ""}
    if spaghetti is not None:
        # Only over the weeks a mean is shown for: past them, the lines would count the series scored in a hidden week.
        spaghetti = spaghetti[spaghetti.week.isin(drawn.dropna(subset=["mean_score"]).week)]
        if suppress.is_small(spaghetti.series_id.nunique(), rule):
            spaghetti = None
            panel.data["spaghetti_note"] = (f"Individual series not drawn: fewer than {rule.min_cell} series have a "
                                            "score in the weeks whose mean is shown.")
        else:
            panel.data["spaghetti_note"] = ("Individual series (grey): one line per series, up to 200 sampled, drawn "
                                            "only over the weeks whose mean is shown. The analysts' view: meeting "
                                            "mode turns it off.")
    names = lines if drawn_lines is None else drawn_lines
    panel.data["axis_end"] = axis_end_note(drawn[drawn[group].isin(names)])
    panel.data["baseline_n"] = baseline_n_note(drawn, group, names)
    panel.figure = figures.trajectory({name: drawn[drawn[group] == name] for name in names}, bands, instrument,
                                     max_score(instrument), spaghetti=spaghetti,
                                     itt=suppress.for_chart(itt_frame, "weekly_outcomes_itt", rule)
                                     if itt_frame is not None else None)
    if itt_frame is not None and len(lines) == 1:  # the one line is the cohort intention to treat counts
        panel.data["followup"] = itt_followup_note(drawn, itt_frame, rule)
    panel.hidden = suppress.suppressed(weekly, "weekly_outcomes", rule, rows_add_up="week")
    # One table for every line, hidden as the chart is (a table per line could not see the other lines' weeks).
    panel.rows = table(weekly, "weekly_outcomes", rule, rows_add_up="week",
                       columns=[*([group] if len(lines) > 1 else []), *WEEKLY_COLUMNS])
    return panel


def in_line_order(weekly: pd.DataFrame, lines: list[str]) -> pd.DataFrame:
    """The rows of the groups in `lines`, line after line in that order, each by week: complementary suppression
    hides the first of equal smallest counts, so the order is the lines' own, whatever order the mart sorts in."""
    position = {name: i for i, name in enumerate(lines)}
    kept = weekly[weekly.group_value.isin(lines)]
    return kept.sort_values(["group_value", "week"], key=lambda c: c.map(position) if c.name == "group_value" else c,
                            kind="stable").reset_index(drop=True)


# --- maintenance and adherence ---------------------------------------------------------------------------

def maintenance(marts: Marts, selection: Selection, by: str, label: str) -> Panel:
    """Boosters and re-inductions after induction, per group. Split by route or site, the groups add up to the
    "all series" row: one hidden count would be the total minus the rest."""
    frame = marts("maintenance", by=by, cohort=selection.cohort).rename(columns={"group_value": label})
    panel = Panel("Maintenance after induction")
    panel.rows = table(frame, "maintenance", selection.disclosure, rows_add_up=True, columns=[
        label, "n_series", "n_with_boosters", "with_boosters_rate", "mean_boosters", "median_days_to_first_booster",
        "median_days_between_boosters", "n_reinducted", "reinduction_rate"])
    return panel


def protocol_adherence(marts: Marts, selection: Selection) -> Panel:
    """Induction completed, and within the route's window, by site. The sites add up to totals shown elsewhere
    (their completed inductions are the maintenance table's series): hidden as the Compare page's groups are."""
    rule = selection.disclosure
    frame = marts("protocol_adherence", by="site", cohort=selection.cohort)
    panel = Panel("Protocol adherence by site", figure=figures.protocol_adherence(
        suppress.for_chart(frame, "protocol_adherence", rule, rows_add_up=True), "site", rule.min_cell))
    panel.rows = table(frame.rename(columns={"group_value": "site"}), "protocol_adherence", rule, rows_add_up=True,
                       columns=["site", "n_series", "n_completed", "completion_rate", "n_within_window",
                                "adherence_rate"])
    return panel
