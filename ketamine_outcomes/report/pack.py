"""The meeting pack: one HTML file (or a PDF printed from it) for a quality-review meeting, built from
the marts, suppress.py and charts.py, never from a page's code.

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
from importlib import resources
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import jinja2
import markupsafe
import pandas as pd
import plotly.io as pio
import plotly.offline

from ketamine_outcomes.care import chart_notes, follow_up
from ketamine_outcomes.charts import figures as charts
from ketamine_outcomes.metrics import marts as metrics
from ketamine_outcomes.metrics import quality
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.definitions import INSTRUMENTS, adverse_event_label, remission_term, response_words

MEETING_MIN_CELL = 11
FIGURE_WIDTH = 720  # px: an A4 page's printable width at the pack's margins
TEMPLATE = "pack.html"  # in this package's templates/
# The reference the pack quotes, package data (the repository's docs/, mapped into the package).
DOC = resources.files("ketamine_outcomes.docs") / "metrics.md"
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
        days = (self.end - self.start).days + 1
        start, end = self.start - timedelta(days=days), self.start - timedelta(days=1)
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


def latest_closed_quarter(con, instrument: str, cohort: metrics.Cohort) -> Period | None:
    """The latest quarter whose end-of-induction window has closed (quality.closed_periods)."""
    quarters = metrics.cohort_comparison(con, instrument, by="start_quarter", cohort=cohort)
    closed = quality.closed_periods(quarters[quarters.group_value != "unknown"])
    return parse_period(closed[-1]) if closed else None


def effective_min_cell(con, asked: int | None = None) -> int:
    """The pack's threshold: what was asked, never below the database's setting, and at least 11."""
    setting = con.execute("select value from settings where name = 'min_cell_size'").fetchall()
    floor = max(MEETING_MIN_CELL, int(setting[0][0]) if setting else 0)
    return max(floor, asked or 0)


# --- sections ----------------------------------------------------------------------------------------

def _share(part, whole, min_cell: int) -> str:
    """A share of series, shown only when neither the part nor the rest is a small cell."""
    if not whole or pd.isna(whole) or any(suppress.is_small(v, min_cell) for v in (part, whole - part, whole)):
        return "hidden" if whole else "-"
    return f"{part / whole:.0%}"


def _part(part: int, whole: int, min_cell: int) -> str:
    """A count shown beside the count it is part of: "hidden" when the rest (whole - part) is a small cell and
    the whole is shown, since the two would give it."""
    if suppress.is_small(whole - part, min_cell) and not suppress.is_small(whole, min_cell) and \
            not suppress.is_small(part, min_cell):
        return "hidden"
    return suppress.count_text(part, min_cell)


def _rate(row: pd.Series, key: str) -> str:
    value = row[key]
    if pd.isna(value):
        return suppress.HIDDEN
    return f"{value:.1%} (95% CI {row[key + '_low']:.1%} to {row[key + '_high']:.1%})"


def _figure(fig) -> markupsafe.Markup:
    """A chart as an HTML fragment (plotly.js is embedded once, in the template); a chart with nothing to
    draw is its sentence."""
    sentence = charts.is_nothing(fig)
    if sentence:
        return markupsafe.Markup("<p>{}</p>").format(sentence)
    fig.update_layout(width=FIGURE_WIDTH, autosize=False)
    return markupsafe.Markup(pio.to_html(fig, full_html=False, include_plotlyjs=False, include_mathjax=False,
                       config={"displayModeBar": False, "staticPlot": True, "responsive": False}))


def _headline(con, instrument, cohort, previous_cohort, min_cell, cases_only: bool) -> dict:
    """Series started and active count every series; the end-of-induction rows, with cases_only, only the
    series at or above caseness at baseline (metrics.caseness_cohort)."""
    def rated(selected):
        return metrics.caseness_cohort(con, selected, instrument) if cases_only else selected

    rows = []
    for label, selected in (("this period", cohort), ("previous period", previous_cohort)):
        activity = metrics.activity(con, cohort=selected).iloc[0]
        rates = metrics.cohort_comparison(con, instrument, by="all", cohort=rated(selected))
        shown = suppress.for_chart(rates, "cohort_comparison", min_cell)
        row = {"label": label, "started": suppress.count_text(activity.n_series, min_cell),
               "active": suppress.count_text(activity.n_active_series, min_cell)}
        if rates.empty or rates.n_evaluable.iloc[0] == 0:
            row.update(evaluable="0", scored="0", no_baseline="", response="no evaluable series", remission="",
                       itt_response="", itt_remission="")
        else:
            # Counts as a table shows them: "hidden" when the other gives a small difference (evaluable - scored
            # is the "no score" status).
            counts, values = suppress.for_table(rates, "cohort_comparison", min_cell).iloc[0], shown.iloc[0]
            row.update(evaluable=counts.n_evaluable, scored=counts.n_scored,
                       no_baseline=counts.n_evaluable_no_baseline,
                       response=_rate(values, "response_rate"), remission=_rate(values, "remission_rate"),
                       itt_response=_rate(values, "itt_response_rate"),
                       itt_remission=_rate(values, "itt_remission_rate"))
        rows.append(row)
    this_rates = suppress.for_chart(metrics.cohort_comparison(con, instrument, by="all", cohort=rated(cohort)),
                                    "cohort_comparison", min_cell)
    published = metrics.published_results(con, instrument, rated(cohort))
    references = published[published.is_matched]  # only beside a cohort of the same route
    cases = rated(cohort)
    return {"rows": rows, "references": references.to_dict(orient="records"),
            "cases": (f"{instrument} {cases.min_baseline} or more at baseline" if cases is not cohort else None),
            "figure": charts.end_of_induction(this_rates, references, instrument)
            if not this_rates.empty else None}


def _trajectory(con, instrument, cohort, min_cell) -> dict:
    weekly = metrics.weekly_outcomes(con, instrument, cohort)
    itt = metrics.weekly_outcomes_itt(con, instrument, cohort)
    bands = con.execute("select * from severity_bands where instrument = $i order by band_min",
                        {"i": instrument}).df()
    shown = suppress.for_chart(weekly, "weekly_outcomes", min_cell)
    if shown.empty or shown.mean_score.isna().all():
        return {"figure": None, "hidden": suppress.suppressed(weekly, "weekly_outcomes", min_cell)}
    figure = charts.trajectory({"observed": shown}, bands, instrument, INSTRUMENTS[instrument].max_score,
                               itt=suppress.for_chart(itt, "weekly_outcomes_itt", min_cell))
    return {"figure": figure, "hidden": suppress.suppressed(weekly, "weekly_outcomes", min_cell)}


def _p_chart(con, instrument, cohort, period: Period, min_cell) -> dict:
    """Every period up to the pack's, so this period is seen against the clinic's own history."""
    grain = period.grain
    history_cohort = replace(cohort, start_from=None, start_to=period.end)
    if grain == "range":
        months = metrics.cohort_comparison(con, instrument, by="start_month", cohort=history_cohort)
        grain = quality.choose_grain(months[months.group_value != "unknown"], min_cell)
    frame = metrics.cohort_comparison(con, instrument, by=f"start_{grain}", cohort=history_cohort)
    frame = frame[frame.group_value != "unknown"].reset_index(drop=True)
    hidden = suppress.hidden_cells(frame, "cohort_comparison", min_cell, "responders", "n_scored")
    changes = chart_notes.notes(con)  # process changes the clinic noted (the dashboard's Quality review)
    chart = quality.p_chart(frame, "group_value", "responders", "n_scored", hidden, quality.open_periods(frame),
                            breaks=chart_notes.breaks(changes, frame.group_value))
    signals = [f"{row.period}: {row.signals} ({row.rate:.0%} of {int(row.n):,} series scored)"
               for row in chart.itertuples() if row.signals and not row.hidden]
    figure = charts.p_chart(chart, f"End-of-induction response ({instrument}) by {grain} the series started", grain,
                            notes=chart_notes.placed(changes, frame.group_value))
    return {"grain": grain, "figure": figure, "signals": signals, "no_signal": quality.no_signal_sentence(chart, grain),
            "notes": [{"date": str(pd.Timestamp(row.change_date).date()), "label": row.label,
                       "recalculated": bool(row.recalculate_limits)} for row in changes.itertuples()],
            "n_periods": len(chart),
            "n_hidden": int(chart.hidden.sum()), "chart": chart}


FUNNEL_BY = {"site": "site", "clinician": "clinician"}


def _funnels(con, instrument, cohort, min_cell) -> list[dict]:
    out = []
    for label, by in FUNNEL_BY.items():
        rates = metrics.cohort_comparison(con, instrument, by=by, cohort=cohort)
        if len(rates) < 2:
            continue
        hidden = suppress.hidden_cells(rates, "cohort_comparison", min_cell, "responders", "n_scored")
        units, curves = quality.funnel(rates, "group_value", "responders", "n_scored", hidden=hidden)
        outside = [f"{row.group}: {row.outside} ({row.rate:.0%} of {int(row.n):,})"
                   for row in units.itertuples() if row.outside]
        # Every point in words: the static figure names only the points outside the limits (hover is no help on paper).
        rows = [{"group": row.group, "n": f"{int(row.n):,}", "k": f"{int(row.k):,}", "rate": f"{row.rate:.0%}",
                 "where": row.outside.replace(" ", " the ", 1) + " limit" if row.outside else "within the limits"}
                for row in units.sort_values("group").itertuples()]
        out.append({"by": label, "figure": charts.funnel(units, curves, label) if not units.empty else None,
                    "outside": outside, "rows": rows, "n_groups": int((rates.n_scored > 0).sum()),
                    "n_hidden": int((hidden & (rates.n_scored > 0)).sum()), "units": units})
    return out


def _safety(con, cohort, before_cohort, min_cell) -> dict:
    """Adverse events per session for series started this period against those started before."""
    tables = {}
    sessions = {}
    for label, selected in (("now", cohort), ("before", before_cohort)):
        frame = metrics.adverse_events(con, by="all", cohort=selected)
        tables[label] = suppress.for_table(frame, "adverse_events", min_cell).set_index("event")
        sessions[label] = suppress.count_text(frame.n_sessions.max() if not frame.empty else 0, min_cell)
    names = sorted(set(tables["now"].index) | set(tables["before"].index))

    def cell(label, name, column):
        return tables[label].at[name, column] if name in tables[label].index else ""

    table = [{"event": adverse_event_label(name), "now_n": cell("now", name, "n_events"),
              "now_rate": cell("now", name, "event_rate"), "before_n": cell("before", name, "n_events"),
              "before_rate": cell("before", name, "event_rate")} for name in names]
    pressure = metrics.blood_pressure(con, cohort)
    # The routes' sessions add up to the completed sessions shown above: one hidden would be the total minus the rest.
    pressure_table = suppress.for_table(pressure, "blood_pressure", min_cell, rows_add_up=True)
    flags = metrics.item9_flags(con, cohort)
    return {"events": table, "sessions_now": sessions["now"], "sessions_before": sessions["before"],
            "pressure": pressure_table[["route", "n_sessions", "n_measured", "n_high_peaks", "high_peak_rate"]]
            .to_dict(orient="records"),
            "item9_flagged": suppress.count_text(len(flags), min_cell),
            "item9_rises": _part(int(flags.is_rise.sum()) if not flags.empty else 0, len(flags), min_cell),
            "item9_patients": suppress.count_text(flags.patient_id.nunique(), min_cell),
            # Every flag's follow-up state, counts only (the dashboard's Item 9 follow-up page has the list).
            "item9_follow_up": follow_up.counts_for_meeting(follow_up.counts(con), min_cell)[["state", "shown"]]
            .to_dict(orient="records")}


def _data_quality(con, instrument, cohort, min_cell) -> dict:
    batches = con.execute("select batch_id, file_name, kind, rows_read, rows_inserted, rows_rejected, "
                          "strftime(loaded_at, '%Y-%m-%d %H:%M') as loaded_at from batches order by batch_id").df()
    activity = metrics.activity(con, cohort=cohort).iloc[0]
    rates = metrics.cohort_comparison(con, instrument, by="all", cohort=cohort)
    with_baseline = int(rates.n_series.iloc[0]) if not rates.empty else 0
    evaluable = int(rates.n_evaluable.iloc[0]) if not rates.empty else 0
    scored = int(rates.n_scored.iloc[0]) if not rates.empty else 0
    return {"batches": batches.to_dict(orient="records"), "rejected": int(batches.rows_rejected.sum()),
            "read": int(batches.rows_read.sum()),
            "baseline_share": _share(with_baseline, int(activity.n_series), min_cell),
            "end_share": _share(scored, evaluable, min_cell)}


def _definitions(con) -> dict:
    settings = con.execute("select name, value, description, source from settings order by name").df()
    text = DOC.read_text()
    start = text.index("## Definitions")
    end = text.index("## Cohort filters")
    return {"settings": settings.to_dict(orient="records"), "text": text[start:end].split("\n", 1)[1].strip()}


def _data_as_of(con) -> str:
    (last,) = con.execute("select greatest((select max(session_date) from sessions), "
                          "(select max(assessment_date) from assessments))").fetchall()[0]
    return str(last) if last is not None else "no dated data"


def version() -> str:
    try:
        return importlib.metadata.version("ketamine-outcomes")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build(con: duckdb.DuckDBPyConnection, instrument: str = "PHQ-9", cohort: metrics.Cohort | None = None,
          period: Period | None = None, min_cell: int | None = None, clinic: str | None = None,
          cases_only: bool = True) -> dict:
    """Everything the pack shows, already suppressed (the template only lays it out). The connection's
    metric tables must be built (metrics.ensure_built). "figures" holds each chart as drawn, for tests.
    cases_only: the headline's end-of-induction rates count series at or above caseness at baseline."""
    cohort = cohort or metrics.Cohort()
    min_cell = effective_min_cell(con, min_cell)
    period = period or latest_closed_quarter(con, instrument, cohort)
    if period is None:
        period = quarter(date.today())
        empty_reason = "No quarter has closed yet: no series' end-of-induction window has ended."
    else:
        empty_reason = None
    in_period = replace(cohort, start_from=period.start, start_to=period.end)
    previous = period.previous()
    in_previous = replace(cohort, start_from=previous.start, start_to=previous.end)
    before = replace(cohort, start_from=None, start_to=period.start - timedelta(days=1))
    n_series = int(metrics.activity(con, cohort=in_period).iloc[0].n_series)
    pack = {
        "clinic": clinic or os.environ.get("KETAMINE_OUTCOMES_CLINIC") or "Ketamine clinic",
        "period": period, "previous": previous, "instrument": instrument, "min_cell": min_cell,
        "filters": f"{instrument} · series started {period.start} to {period.end} · {cohort_words(cohort)}",
        "data_as_of": _data_as_of(con), "generated_at": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "version": version(), "n_series": suppress.count_text(n_series, min_cell),
        "empty": empty_reason or (f"No treatment series started in {period.label} match these filters."
                                  if n_series == 0 else None),
        "data_quality": _data_quality(con, instrument, in_period, min_cell),
        "definitions": _definitions(con), "rules": _rules(con, instrument),
        "plotly_js": plotly.offline.get_plotlyjs(), "figures": [],
    }
    if not pack["empty"]:
        pack.update(headline=_headline(con, instrument, in_period, in_previous, min_cell, cases_only),
                    trajectory=_trajectory(con, instrument, in_period, min_cell),
                    p_chart=_p_chart(con, instrument, cohort, period, min_cell),
                    funnels=_funnels(con, instrument, in_period, min_cell),
                    safety=_safety(con, in_period, before, min_cell))
        pack["figures"] = [f for f in (pack["headline"]["figure"], pack["trajectory"]["figure"],
                                       pack["p_chart"]["figure"], *(f["figure"] for f in pack["funnels"])) if f]
    return pack


def _rules(con, instrument: str) -> dict:
    """The rules in force, in words, for the pack's captions (from the settings, never restated)."""
    values = dict(con.execute("select name, value from settings").fetchall())
    key = INSTRUMENTS[instrument].key
    fraction = values.get(f"response_fraction_{key}")  # none for CADSS, a dissociation measure
    return {"response": response_words(fraction) if fraction else "no response rule for this instrument",
            "remission": remission_term(instrument),
            "carry_days": int(values["itt_carry_days"]), "peak": f"{values['bp_peak_systolic']:g}"}


def cohort_words(cohort: metrics.Cohort) -> str:
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
    return f"De-identified · counts under {pack['min_cell']} suppressed · {pack['period'].label}"


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
