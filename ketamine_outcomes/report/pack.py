"""The meeting pack: one HTML file (or a PDF printed from it) for a quality-review meeting, built from
the panels the dashboard's pages draw (ketamine_outcomes/disclosure/panels.py and safety_panels.py), already
suppressed, never from a page's code.

Sections, each with its filters, n and definitions: cover, headline, trajectory, p-chart with its
special-cause signals in words, funnel plot with the groups outside the limits named (every point in a
table under it), safety, data quality, definitions. Small cells are suppressed everywhere in it
(docs/metrics.md, "Small cells"), with a threshold of at least 11 and never below the database's setting.

The HTML embeds plotly.js, so it opens offline and makes no network request; the PDF is chromium's
print of that same HTML (through Playwright), so its charts stay vector graphics.
"""

import html
import importlib.metadata
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import jinja2
import markupsafe
import pandas as pd
import plotly.io as pio
import plotly.offline

from ketamine_outcomes.care import chart_notes, follow_up
from ketamine_outcomes.charts import figures
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.metrics import quality
from ketamine_outcomes.disclosure import panels, safety_panels
from ketamine_outcomes.definitions import (
    INSTRUMENTS, adverse_event_label, remission_rule_words, remission_term, response_words,
)

MEETING_MIN_CELL = 11
FIGURE_WIDTH = 720  # px: an A4 page's printable width at the pack's margins
TEMPLATE = "pack.html"  # in this package's templates/
CHROMIUM_INSTALL = "apt-get install -y chromium"
PDF_EXTRA = "pip install 'ketamine-outcomes[pdf]'"


class ReportError(Exception):
    """The pack cannot be made as asked (a bad period, or no PDF printer on this machine)."""


@dataclass(frozen=True)
class Period:
    """The series-start window the pack reports on: a quarter, a month or any range of days."""

    label: str
    start: date
    end: date
    grain: str  # 'quarter', 'month' or 'range': the p-chart's points follow it

    def previous(self) -> "Period":
        if self.grain == "quarter":
            return quarter(self.start - timedelta(days=1))
        if self.grain == "month":
            return month(self.start - timedelta(days=1))
        # A range is whole months (parse_period): the previous one is as many whole months just before it.
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        back = self.start.year * 12 + self.start.month - 1 - months
        start, end = date(back // 12, back % 12 + 1, 1), self.start - timedelta(days=1)
        return Period(f"{start} to {end}", start, end, "range")


def quarter(day: date) -> Period:
    number = (day.month - 1) // 3 + 1
    start = date(day.year, 3 * number - 2, 1)
    end = (date(day.year + (number == 4), (3 * number) % 12 + 1, 1)) - timedelta(days=1)
    return Period(f"{day.year}-Q{number}", start, end, "quarter")


def month(day: date) -> Period:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Period(start.strftime("%Y-%m"), start, end, "month")


def parse_period(text: str | None = None, start: date | None = None, end: date | None = None) -> Period | None:
    """'2025-Q3', '2025-09', or a start and end date; None when nothing is given (use the default)."""
    if text and (start or end):
        raise ReportError("give either --period or --from/--to, not both")
    if start or end:
        if not (start and end) or end < start:
            raise ReportError("--from and --to are both needed, with --from on or before --to")
        # Whole months: two packs whose --to differ by a day would give the series started that day.
        start, end = month(start).start, month(end).end
        return Period(f"{start} to {end}", start, end, "range")
    if not text:
        return None
    text = text.strip().upper()
    try:
        if "-Q" in text:
            year, number = text.split("-Q")
            if not 1 <= int(number) <= 4:
                raise ValueError
            return quarter(date(int(year), 3 * int(number), 1))
        return month(datetime.strptime(text, "%Y-%m").date())
    except ValueError:
        raise ReportError(f"period {text!r} is not a quarter (2025-Q3) or a month (2025-09)") from None


def latest_closed_quarter(con, instrument: str, cohort: marts.Cohort) -> Period | None:
    """The latest quarter whose end-of-induction window has closed (quality.closed_periods)."""
    quarters = marts.cohort_comparison(con, instrument, by="start_quarter", cohort=cohort)
    closed = quality.closed_periods(quarters[quarters.group_value != "unknown"])
    return parse_period(closed[-1]) if closed else None


def effective_min_cell(con, asked: int | None = None) -> int:
    """The pack's threshold: what was asked, never below the database's setting, and at least 11."""
    setting = con.execute("select value from settings where name = 'min_cell_size'").fetchall()
    floor = max(MEETING_MIN_CELL, int(setting[0][0]) if setting else 0)
    return max(floor, asked or 0)


# --- sections ----------------------------------------------------------------------------------------

def _tile_text(tile: panels.Tile) -> str:
    return tile.value if not tile.interval else f"{tile.value} ({tile.interval})"


def _figure(fig) -> markupsafe.Markup:
    """A chart as an HTML fragment (plotly.js is embedded once, in the template); a chart with nothing to
    draw is its sentence."""
    sentence = figures.is_nothing(fig)
    if sentence:
        return markupsafe.Markup("<p>{}</p>").format(sentence)
    fig.update_layout(width=FIGURE_WIDTH, autosize=False)
    return markupsafe.Markup(pio.to_html(fig, full_html=False, include_plotlyjs=False, include_mathjax=False,
                       config={"displayModeBar": False, "staticPlot": True, "responsive": False}))


def _headline(read_mart, selection: panels.Selection, period: "Period", previous: "Period",
              data_start: date | None = None) -> dict:
    """Series started and active count every series; the end-of-induction rows are the panel the Overview and
    the Quality review show (panels.end_of_induction: cases at baseline unless cleared). A previous period that
    ends before the data's first session is said to be so, not shown as rows of 0 that read like results."""
    rows, figure, references = [], None, []
    for label, shown in (("this period", period), ("previous period", previous)):
        if label == "previous period" and data_start and shown.end < data_start:
            rows.append({"label": label, "started": "before the data starts", "counted": "", "active": "", "evaluable": "",
                         "scored": "", "no_baseline": "", "response": "", "remission": "", "itt_response": "",
                         "itt_remission": ""})
            continue
        in_period = replace(selection.cohort, start_from=shown.start, start_to=shown.end)
        activity = panels.activity(read_mart, selection.with_cohort(in_period)).tiles
        panel = panels.period_numbers(read_mart, selection, shown.start, shown.end, shown.label)
        # The Quality review's opening tiles: the same panel's two counts under the same labels.
        row = {"label": label, **panel.data["period_counts"], "active": activity[1].value}
        if panel.empty:
            row.update(evaluable="0", scored="0", no_baseline="", response="no evaluable series", remission="",
                       itt_response="", itt_remission="")
        else:
            counts = panel.data["counts"]
            row.update(evaluable=counts.n_evaluable, scored=counts.n_scored,
                       no_baseline=counts.get("n_evaluable_no_baseline", ""),
                       **dict(zip(("response", "remission", "itt_response", "itt_remission"),
                                  (_tile_text(t) for t in panel.tiles))))
            if label == "this period":
                figure, references = panel.figure, panel.data["matched"].to_dict(orient="records")
        rows.append(row)
    rated = selection.rated_cohort()
    # The filters line names the cohort the end-of-induction rows count (cases at baseline by default), as the
    # dashboard's does, not the pack's wider filters ("all series").
    filters = f"{selection.instrument} · series started {period.start} to {period.end} · {cohort_words(rated)}"
    return {"rows": rows, "references": references, "cohort": selection.cohort_sentence(), "filters": filters,
            "previous_note": _previous_note(previous, data_start),
            "cases": (f"{selection.instrument} {rated.min_baseline} or more at baseline"
                      if rated is not selection.cohort else None),
            "figure": figure}


def _previous_note(previous: "Period", data_start: date | None) -> str | None:
    """Why the previous period's column is empty or partial: it falls (partly) before the data's first session."""
    if not data_start or previous.start >= data_start:
        return None
    if previous.end < data_start:
        return (f"The previous period ({previous.start} to {previous.end}) ends before the data starts (the first "
                f"session stored is of {data_start}): there is nothing to compare this period with.")
    return (f"The previous period ({previous.start} to {previous.end}) starts before the data does (the first "
            f"session stored is of {data_start}): it holds only the series started from then.")


def _data_start(con) -> date | None:
    """The day of the first session stored (None for exports with day offsets only)."""
    (first,) = con.execute("select min(session_date) from sessions").fetchall()[0]
    return first


def _trajectory(con, read_mart, selection: panels.Selection) -> dict:
    """The Overview's trajectory panel for the period, with the intention-to-treat line."""
    bands = con.execute("select * from severity_bands order by band_min").df()
    panel = panels.trajectory(read_mart, selection, bands, itt=True)
    return {"figure": panel.figure, "hidden": panel.data["hidden"]}


def _p_chart(con, read_mart, selection: panels.Selection, period: Period) -> dict:
    """Every period up to the pack's, so this period is seen against the clinic's own history: the panel the
    Quality review page draws for the same filters."""
    grain = period.grain
    history = selection.with_cohort(replace(selection.cohort, start_from=None, start_to=period.end))
    if grain == "range":
        grain = panels.choose_grain(panels.periods(read_mart, history, "month"), selection.disclosure)
    changes = chart_notes.notes(con)  # process changes the clinic noted (the dashboard's Quality review)
    panel = panels.p_chart(read_mart, history, grain, changes)
    chart = panel.data["chart"]
    return {"grain": grain, "figure": panel.figure, "signals": panel.data["signals"],
            "no_signal": panel.data["no_signal"], "n_periods": len(chart), "n_hidden": panel.data["n_hidden"],
            "notes": [{"date": str(pd.Timestamp(row.change_date).date()), "label": row.label,
                       "recalculated": bool(row.recalculate_limits)} for row in changes.itertuples()],
            "chart": chart, "cohort": panel.cohort}


FUNNEL_BY = {"site": "site", "clinician": "clinician"}


def _funnels(read_mart, selection: panels.Selection, period: Period) -> list[dict]:
    """One funnel per split, the panel the Compare page draws. When the period is too small to place any
    group, the rolling 12 months to the period's end are shown instead, and the section says so."""
    out = []
    for label, by in FUNNEL_BY.items():
        panel = panels.funnel(read_mart, selection, by, label)
        if panel.table is None or len(panel.data["rates"]) < 2:
            continue
        window = None
        if panel.empty:
            start = (period.end - timedelta(days=364)).replace(day=1)
            rolling = selection.with_cohort(replace(selection.cohort, start_from=start, start_to=period.end))
            wider = panels.funnel(read_mart, rolling, by, label)
            if not wider.empty and wider.table is not None:
                window = f"the rolling 12 months {start} to {period.end}"
                reason = panel.empty
                panel = wider
                # The reason is the period's, not the window's shown under the heading: it names the period.
                reason = reason.split(" Choose")[0]
                panel.notes.insert(0, f"In {period.label} ({period.start} to {period.end}), {reason[0].lower()}"
                                      f"{reason[1:]} So this funnel shows {window} instead.")
        units = panel.data["units"]
        # Every point in words: on paper there is no hover.
        outside, rows = panel.data["outside"], panel.data["rows"]
        out.append({"by": label, "figure": None if panel.empty else panel.figure, "outside": outside, "rows": rows,
                    "n_groups": panel.data["n_groups"], "n_hidden": panel.data["n_hidden"], "units": units,
                    "empty": panel.empty, "notes": [n for n in panel.notes if n], "window": window})
    return out


def _safety(con, read_mart, selection: panels.Selection, before: panels.Selection) -> dict:
    """Adverse events per session for series started this period against those started before, blood pressure
    by route and the item 9 answers in the period's series: the Safety page's panels for the same filters. The
    item 9 follow-up counts are the whole clinic's (the follow-up page's), and the section says so."""
    events = {label: safety_panels.adverse_events(read_mart, chosen, "all", "all")
              for label, chosen in (("now", selection), ("before", before))}
    tables = {label: panel.data["text"].set_index("event") for label, panel in events.items()}
    names = sorted(set(tables["now"].index) | set(tables["before"].index))

    def cell(label, name, column):
        return tables[label].at[name, column] if name in tables[label].index else ""

    table = [{"event": adverse_event_label(name), "now_n": cell("now", name, "n_events"),
              "now_rate": cell("now", name, "event_rate"), "before_n": cell("before", name, "n_events"),
              "before_rate": cell("before", name, "event_rate")} for name in names]
    settings = dict(con.execute("select name, value from settings").fetchall())
    pressure = safety_panels.blood_pressure(read_mart, selection, settings).data["text"]
    flags = safety_panels.item9_flags_in_period(read_mart, selection).data
    return {"events": table, "sessions_now": events["now"].data["sessions"],
            "sessions_before": events["before"].data["sessions"],
            "pressure": pressure[["route", "n_sessions", "n_measured", "n_high_peaks", "high_peak_rate"]]
            .to_dict(orient="records"),
            "item9_flagged": flags["flagged"], "item9_rises": flags["rises"], "item9_patients": flags["patients"],
            "item9_when": flags["when"],
            # Every flag's follow-up state, counts only (the dashboard's Item 9 follow-up page has the list).
            "item9_follow_up": safety_panels.follow_up_counts_for_meeting(follow_up.counts(con), selection.disclosure.min_cell)
            [["state", "shown"]].to_dict(orient="records")}


def _data_quality(con, instrument, cohort, rule: panels.Disclosure) -> dict:
    batches = con.execute("select batch_id, file_name, kind, rows_read, rows_inserted, rows_rejected, "
                          "strftime(loaded_at, '%Y-%m-%d %H:%M') as loaded_at from batches order by batch_id").df()
    activity = marts.activity(con, cohort=cohort).iloc[0]
    rates = marts.cohort_comparison(con, instrument, by="all", cohort=cohort)
    with_baseline = int(rates.n_series.iloc[0]) if not rates.empty else 0
    evaluable = int(rates.n_evaluable.iloc[0]) if not rates.empty else 0
    scored = int(rates.n_scored.iloc[0]) if not rates.empty else 0
    return {"batches": batches.to_dict(orient="records"), "rejected": int(batches.rows_rejected.sum()),
            "read": int(batches.rows_read.sum()),
            "baseline_share": panels.share_text(with_baseline, int(activity.n_series), rule),
            "end_share": panels.share_text(scored, evaluable, rule)}


def _definitions(con, instrument: str, min_cell: int) -> list[dict]:
    """The terms a reader of the pack needs, in plain words with the values in force (the settings), not the
    settings' code names: the pack is read in a meeting, docs/metrics.md is the reference."""
    v = dict(con.execute("select name, value from settings").fetchall())
    fraction = v.get(f"response_fraction_{INSTRUMENTS[instrument].key}")
    induction = ", ".join(f"{route} {int(v[f'induction_sessions_{key}'])}" for route, key in (
        ("IV", "iv"), ("IM", "im"), ("intranasal", "intranasal"), ("at-home oral", "oral"))
        if f"induction_sessions_{key}" in v)
    terms = [
        ("Treatment series", f"A patient's completed sessions with no gap of more than {v['series_gap_days']:g} days; "
                             "a longer gap starts a new series (a re-induction)."),
        ("Baseline", f"The latest {instrument} score from {v['baseline_window_days']:g} days before the series' first "
                     "session up to that day."),
        ("End of induction", f"The induction ends with its last planned session ({induction} sessions by route). The "
                             f"end-of-induction score is the last score from that day to {v['end_of_induction_days']:g} "
                             "days after it."),
        ("Response", f"The end-of-induction {response_words(fraction)}." if fraction else
                     "This instrument has no response rule."),
        (remission_term(instrument)[:1].upper() + remission_term(instrument)[1:],
         f"An end-of-induction {instrument} score {_remission_rule(con, instrument)}."),
        ("Evaluable", "A series whose end-of-induction window has closed, or that dropped out: fewer sessions than "
                      f"the induction and none in the last {v['dropout_quiet_days']:g} days of the data."),
        ("Observed and intention to treat", "Observed rates count the series scored at the end of induction. "
                                            "Intention-to-treat rates count every evaluable series, a series without "
                                            "a score counting as not responding."),
        ("Cases at baseline", f"PHQ-9 {v['phq9_caseness']:g} or more, or GAD-7 {v['gad7_caseness']:g} or more, at "
                              "baseline (NHS Talking Therapies caseness). Headline rates count these series unless "
                              "the pack was made for every series."),
        ("Small numbers", f"Counts from 1 to {min_cell - 1} are hidden, with the rates built on them; other counts are "
                          "rounded to the nearest 5 (11 and 12 read 15), so no small count can be worked out by "
                          f"subtraction. A rate is hidden when fewer than {min_cell} are in it or left out of it."),
        ("p-chart", "A run chart of the rate period by period, with limits 3 standard errors either side of the "
                    "mean; a point outside them, or a run, is a signal worth a look (NHS England, Making Data Count)."),
        ("Funnel plot", "Each group's rate against its number of series, with limits that narrow as the number "
                        "grows; a group outside the 99.8% limits is unlikely to differ by chance alone."),
        ("High blood-pressure peak", f"A session whose systolic peak reached {v['bp_peak_systolic']:g} mmHg or more."),
        ("PHQ-9 item 9", "Thoughts of being better off dead or of self-harm, answered 0 (not at all) to 3 (nearly every "
                         "day); any answer of 1 or more is flagged for follow-up."),
    ]
    return [{"term": term, "meaning": meaning} for term, meaning in terms]


def _data_as_of(con) -> str:
    (last,) = con.execute("select greatest((select max(session_date) from sessions), "
                          "(select max(assessment_date) from assessments))").fetchall()[0]
    return str(last) if last is not None else "no dated data"


STALE_DAYS = 14


def _stale_days(con) -> int | None:
    """How many days old the data is, when more than STALE_DAYS (the cover warns); None when recent or undated."""
    (last,) = con.execute("select greatest((select max(session_date) from sessions), "
                          "(select max(assessment_date) from assessments))").fetchall()[0]
    age = (date.today() - last).days if last is not None else 0
    return age if age > STALE_DAYS else None


def version() -> str:
    try:
        return importlib.metadata.version("ketamine-outcomes")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build(con: duckdb.DuckDBPyConnection, instrument: str = "PHQ-9", cohort: marts.Cohort | None = None,
          period: Period | None = None, min_cell: int | None = None, clinic: str | None = None,
          cases_only: bool = True) -> dict:
    """Everything the pack shows, already suppressed (the template only lays it out). The connection's
    metric tables must be built (marts.ensure_built). "figures" holds each chart as drawn, for tests.
    cases_only: the headline's end-of-induction rates count series at or above caseness at baseline."""
    cohort = cohort or marts.Cohort()
    min_cell = effective_min_cell(con, min_cell)
    period = period or latest_closed_quarter(con, instrument, cohort)
    if period is None:
        period = quarter(date.today())
        empty_reason = "No quarter has closed yet: no series' end-of-induction window has ended."
    else:
        empty_reason = None
    in_period = replace(cohort, start_from=period.start, start_to=period.end)
    previous = period.previous()
    before = replace(cohort, start_from=None, start_to=period.start - timedelta(days=1))
    n_series = int(marts.activity(con, cohort=in_period).iloc[0].n_series)
    rule = panels.disclosure_for(min_cell, internal=False)
    selection = panels.Selection(instrument, cohort, rule, cases_only, _caseness(con))
    read_mart = panels.from_connection(con)
    pack = {
        "clinic": clinic or os.environ.get("KETAMINE_OUTCOMES_CLINIC") or "Ketamine clinic",
        "period": period, "previous": previous, "instrument": instrument, "min_cell": min_cell,
        "period_counts": panels.PERIOD_COUNTS,
        "filters": f"{instrument} · series started {period.start} to {period.end} · {cohort_words(cohort)}",
        "data_as_of": _data_as_of(con), "stale_days": _stale_days(con),
        "generated_at": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "version": version(), "n_series": panels.activity(read_mart, selection.with_cohort(in_period)).tiles[0].value,
        "empty": empty_reason or (f"No treatment series started in {period.label} match these filters."
                                  if n_series == 0 else None),
        "data_quality": _data_quality(con, instrument, in_period, rule),
        "definitions": _definitions(con, instrument, min_cell), "rules": _rules(con, instrument),
        "plotly_js": plotly.offline.get_plotlyjs(), "figures": [],
    }
    if not pack["empty"]:
        pack.update(headline=_headline(read_mart, selection, period, previous, _data_start(con)),
                    trajectory=_trajectory(con, read_mart, selection.with_cohort(in_period)),
                    p_chart=_p_chart(con, read_mart, selection, period),
                    funnels=_funnels(read_mart, selection.with_cohort(in_period), period),
                    safety=_safety(con, read_mart, selection.with_cohort(in_period), selection.with_cohort(before)))
        pack["figures"] = [f for f in (pack["headline"]["figure"], pack["trajectory"]["figure"],
                                       pack["p_chart"]["figure"], *(f["figure"] for f in pack["funnels"])) if f]
    return pack


def _caseness(con) -> dict[str, float]:
    """instrument -> caseness threshold in force (the settings), as the dashboard reads it."""
    values = dict(con.execute("select name, value from settings").fetchall())
    return {instrument: values[name] for instrument, name in marts.CASENESS_SETTINGS.items() if name in values}


def _rules(con, instrument: str) -> dict:
    """The rules in force, in words, for the pack's captions (from the settings, never restated)."""
    values = dict(con.execute("select name, value from settings").fetchall())
    key = INSTRUMENTS[instrument].key
    fraction = values.get(f"response_fraction_{key}")  # none for CADSS, a dissociation measure
    return {"response": response_words(fraction) if fraction else "no response rule for this instrument",
            "remission": remission_term(instrument), "remission_rule": _remission_rule(con, instrument),
            "carry_days": int(values["itt_carry_days"]), "peak": f"{values['bp_peak_systolic']:g}"}


def _remission_rule(con, instrument: str) -> str:
    """The remission cut-off in force, in words ("under 5"), from the database's instruments table that
    is_remission reads: the headline note and the definitions say it the same way."""
    label = con.execute("select remission_label from instruments where instrument = $i", {"i": instrument}).fetchone()
    return remission_rule_words(label[0] if label else INSTRUMENTS[instrument].remission_label)


def cohort_words(cohort: marts.Cohort) -> str:
    """The cohort filters other than the start dates (the period replaces those)."""
    return replace(cohort, start_from=None, start_to=None).describe()


def render(pack: dict) -> str:
    """The pack as one self-contained HTML document. Autoescape: every text from an export (site and
    clinician names, file names) is escaped; charts and plotly.js are inserted as they are."""
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                     loader=jinja2.PackageLoader("ketamine_outcomes.report"))
    environment.filters["figure"] = _figure
    return environment.get_template(TEMPLATE).render(**pack)


def html_pack(con, **options) -> str:
    return render(build(con, **options))


def header_text(pack: dict) -> str:
    """The line at the top of every printed page: suppression, period, and how recent the data is."""
    return (f"De-identified · counts under {pack['min_cell']} suppressed · {pack['period'].label} · "
            f"data as of {pack['data_as_of']}")


def write_pdf(document: str, out: Path, header: str) -> None:
    """Print the HTML to PDF with chromium (Playwright): vector charts, page numbers, the suppression
    header and the period on every page."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ReportError(f"a PDF needs Playwright: {PDF_EXTRA} (the HTML pack needs nothing more)") from None
    executable = os.environ.get("KETAMINE_OUTCOMES_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser") or shutil.which("google-chrome")
    small = "font-size:8px;width:100%;margin:0 12mm;color:#555;font-family:sans-serif;"
    with tempfile.TemporaryDirectory() as folder:
        page_file = Path(folder) / "pack.html"
        page_file.write_text(document, encoding="utf-8")
        with sync_playwright() as playwright:
            try:
                browser = playwright.chromium.launch(
                    executable_path=executable, headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--no-first-run"])
            except PlaywrightError:
                raise ReportError(f"a PDF needs chromium, which was not found on this machine. Install it "
                                  f"with: {CHROMIUM_INSTALL} (or write an .html pack, which needs "
                                  "nothing more)") from None
            try:
                page = browser.new_page()
                page.goto(page_file.as_uri())
                # Plotly draws after load: print once every chart has its SVG.
                page.wait_for_function("[...document.querySelectorAll('.plotly-graph-div')]"
                                       ".every(div => div.querySelector('.main-svg'))")
                page.emulate_media(media="print")
                page.pdf(path=str(out), format="A4", print_background=True, display_header_footer=True,
                         margin={"top": "18mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                         header_template=f"<div style='{small}'>{html.escape(header)}</div>",
                         footer_template=f"<div style='{small}text-align:right'>page <span class='pageNumber'>"
                                         "</span> of <span class='totalPages'></span></div>")
            finally:
                browser.close()


def write(con, out: str | Path, **options) -> Path:
    """Write the pack to out (.html or .pdf)."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".pdf"):
        raise ReportError(f"{out}: the pack is written as .html or .pdf")
    if out.is_dir():
        raise ReportError(f"{out}: is a folder; give the pack a file name (e.g. {out / 'pack.html'})")
    pack = build(con, **options)
    document = render(pack)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".html":
            out.write_text(document, encoding="utf-8")
        else:
            write_pdf(document, out, header_text(pack))
    except OSError as error:  # a folder this user may not write, a full disk, a path that cannot exist
        raise ReportError(f"{out}: cannot write the pack there ({error.strerror or error})") from error
    return out
