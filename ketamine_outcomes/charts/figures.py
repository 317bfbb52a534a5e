"""Every chart the product draws: pure functions from mart rows (already suppressed) to a Plotly figure.
No Streamlit here, so the dashboard and the meeting pack draw the same figures.

One look for all of them: the "ketamine" template (fonts, the Okabe-Ito palette for categories, which
stays distinct under the common colour-vision deficiencies; a sequential palette for ordered severity
bands), whole-number week axes, percent axes whose labels never repeat, legends under the plot so they
never cover a title on a phone, and (in the dashboard: fit_titles) titles wrapped to a phone's width. A chart with nothing to draw is `nothing(sentence)`: the page shows the
sentence instead of an empty frame. Text from an export (site, clinician names) is HTML-escaped.
A builder marked @drawn_once is drawn once per set of rows in the dashboard (chart_cache.py)."""

import math
from html import unescape as html_unescape

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.chart_cache import drawn_once
from ketamine_outcomes.definitions import adverse_event_label, remission_term
from ketamine_outcomes.safe_text import plotly as escape

# Okabe & Ito 2008, in an order where neighbours differ in lightness too (yellow last: weak on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
# Ordered bands, least to most severe: light to dark, one hue family (ColorBrewer YlOrRd).
SEQUENTIAL = ("#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026", "#800026")
BAND_TINTS = ("#f7fbf7", "#fffbe8", "#fff1df", "#fde4da", "#f9d6d6", "#f3c9cf")
GREY = "#595959"  # 7:1 on white: reference lines and text
# A font every browser has: a web font measured before it loads leaves legend entries clipped.
FONT = "Arial, Helvetica, Liberation Sans, sans-serif"


def _template(size: int) -> go.layout.Template:
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.update(
        font=dict(family=FONT, size=size, color="#1f2430"), colorway=PALETTE,
        title=dict(font=dict(size=size + 4), x=0, xanchor="left", subtitle=dict(font=dict(size=size - 1, color=GREY))),
        # Under the plot, measured from the figure's bottom edge: never over the title, never over the axis title.
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, xanchor="left", x=0, title_text=""),
        margin=dict(l=64, r=24, t=84, b=40, autoexpand=True), hoverlabel=dict(font=dict(family=FONT)),
    )
    return template


pio.templates["ketamine"] = _template(14)
pio.templates["ketamine_meeting"] = _template(18)  # meeting mode: read from across a room


# Titles wrap to this width (px): a 390 px phone less the page's side padding. Plotly cannot wrap a title
# to the width it is drawn at, so a long title takes two lines on every screen (and in a downloaded PNG).
NARROWEST = 350
# Widths of Arial's characters in ems, rounded up (a title's line is measured before the browser draws it).
_NARROW, _WIDE = set(" ijlt.,:;'|!()[]/"), set("mw")
LINE_EM = 1.3  # a wrapped line's height, in ems
TITLE_PAD = 16  # px above the title


def _text_width(text: str, size: float) -> float:
    """About how wide `text` is drawn in FONT at `size` px (an entity such as &amp; is one character)."""
    def em(c: str) -> float:
        if c in _NARROW:
            return 0.28
        if c in "fr-":
            return 0.34
        if c in _WIDE or c.isupper():
            return 0.84 if c in "MW" or c in _WIDE else 0.69
        return 0.56  # lower case, digits, signs
    return size * sum(em(c) for c in html_unescape(text))


def _wrapped(text: str, size: float) -> list[str]:
    """Text broken at spaces into lines that fit NARROWEST px at `size` px (a single word longer than a line
    stays whole)."""
    lines: list[str] = []
    for part in text.split("<br>"):
        line = ""
        for word in part.split(" "):
            if line and _text_width(f"{line} {word}", size) > NARROWEST:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def fit_titles(fig: go.Figure) -> go.Figure:
    """Wrap the title and its subtitle to a phone's width, hang them from the top of the figure, and make the
    top margin hold their lines (Plotly centres a title in the margin: a third line would cover the plot)."""
    template = fig.layout.template.layout
    title_size = fig.layout.title.font.size or template.title.font.size or 18
    subtitle_size = fig.layout.title.subtitle.font.size or template.title.subtitle.font.size or 13
    title = _wrapped(fig.layout.title.text or "", title_size)
    subtitle = _wrapped(fig.layout.title.subtitle.text, subtitle_size) if fig.layout.title.subtitle.text else []
    needed = TITLE_PAD + LINE_EM * (title_size * len(title) + subtitle_size * len(subtitle)) + title_size
    height = fig.layout.height or template.height or 450
    # Anchored at its top, a title of several lines is drawn about 0.7 em higher than one line (measured in
    # chromium, Plotly 7): lowered by that, every title starts TITLE_PAD below the figure's edge.
    anchor = TITLE_PAD + (0.75 * title_size if len(title) > 1 else 0)
    fig.update_layout(title=dict(text="<br>".join(title), yref="container", y=1 - anchor / height, yanchor="top"),
                      margin_t=max(fig.layout.margin.t or template.margin.t or 0, round(needed)))
    if subtitle:
        fig.update_layout(title_subtitle_text="<br>".join(subtitle))
    return fig


def nothing(sentence: str) -> go.Figure:
    """A chart with nothing to draw: the page shows `sentence` instead (see is_nothing)."""
    return go.Figure(layout=dict(meta={"nothing": sentence}, template="ketamine"))


def is_nothing(fig: go.Figure) -> str | None:
    meta = fig.layout.meta
    return meta.get("nothing") if isinstance(meta, dict) else None


def _layout(fig: go.Figure, title: str, y_title: str, x_title: str = "Week of treatment series",
            percent: bool = False, height: int = 440) -> go.Figure:
    fig.update_layout(title_text=title, height=height, template="ketamine", showlegend=True)
    fig.update_xaxes(title=x_title)
    # A long axis title on two lines: turned up the side of a phone's short plot, "share of measured sessions" ran
    # up over the filters line.
    fig.update_yaxes(title=_two_lines(y_title, 20), rangemode="tozero")
    if percent:
        _percent_axis(fig)
    return fig


def _percent_axis(fig: go.Figure) -> None:
    """Ticks at a round step with as many decimals as the step needs, so no two ticks read the same
    (a 0-2% axis at whole percents read 0%, 1%, 1%, 2%)."""
    values = [v for trace in fig.data for v in _numbers(trace.y) + _numbers(getattr(trace, "base", None))]
    for trace in fig.data:
        error = getattr(trace, "error_y", None)
        if error is not None and error.array is not None:
            values += [a + b for a, b in zip(_numbers(trace.y), _numbers(error.array))]
    top = max([v for v in values if v == v] + [0.01])
    step = next(s for s in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if top / s <= 8)
    decimals = max(0, -int(math.floor(math.log10(step * 100) + 1e-9)))
    fig.update_yaxes(tickformat=f".{decimals}%", dtick=step, tick0=0)
    if not any(v > 0 for v in values if v == v):
        # Only zeros (and hidden marks at 0): autorange spans 0-100% and the step above would draw hundreds of labels.
        fig.update_yaxes(range=[0, top])


def _numbers(values) -> list[float]:
    if values is None:
        return []
    out = []
    for v in values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            continue
    return [v for v in out if v == v]


def _week_axis(fig: go.Figure, weeks) -> None:
    """Whole weeks only (never 0.5 or 1.6), one tick a week up to 16 weeks."""
    last = max([int(w) for w in weeks if w == w] + [1])
    fig.update_xaxes(tickmode="linear", tick0=0, dtick=1 if last <= 16 else math.ceil(last / 16), tickformat="d",
                     range=[-0.5, last + 0.5])


def _n_label_step(weeks, lines: int) -> int:
    """Print a line's n under every step-th week (every week's n is in the hover and the table below the chart):
    on a phone a week is about 12 px wide and "n=384" about 28 px, so 18 weeks of labels ran into one another, and
    one line per site piled three labels on each week. At most about 8 labels a line, and each week's label belongs
    to one line only (line i starts i steps / lines in)."""
    span = max([int(w) for w in weeks if w == w] + [0]) + 1
    if lines == 1:
        return math.ceil(span / 8)
    # Lines' labels two weeks apart or more: a week apart, two lines at a similar height still ran together.
    return lines * max(2, math.ceil(span / 8))


@drawn_once
def trajectory(lines: dict[str, pd.DataFrame], bands: pd.DataFrame, instrument: str, max_score: int,
               spaghetti: pd.DataFrame | None = None, itt: pd.DataFrame | None = None) -> go.Figure:
    """Mean score by week with a 95% CI band per line, n under each point, severity bands shaded."""
    # Weeks hidden by small-cell suppression keep their row with a missing mean: the line breaks there (no
    # straight segment across them) and an interior gap is labelled.
    drawn = {name: weekly.sort_values("week") for name, weekly in lines.items() if weekly.mean_score.notna().any()}
    if not drawn:
        return nothing(f"No {instrument} week has enough series to show a mean (every week is suppressed or empty).")
    fig = go.Figure()
    gaps: set = set()
    for i, band in enumerate(bands.itertuples()):
        fig.add_hrect(y0=band.band_min - 0.5 if band.band_min else 0, y1=band.band_max + 0.5,
                      fillcolor=BAND_TINTS[i % len(BAND_TINTS)], opacity=1, line_width=0, layer="below",
                      annotation_text=escape(band.band), annotation_position="right", annotation_font_size=11,
                      annotation_font_color=GREY)
    if spaghetti is not None and not spaghetti.empty:
        # One trace, series separated by gaps: 200 series cost one trace, so the toggle answers at once.
        parts = [pd.DataFrame({"week": rows.week, "score": rows.score})
                 for _, rows in spaghetti.groupby("series_id", sort=False)]
        gap = pd.DataFrame({"week": [np.nan], "score": [np.nan]})
        joined = pd.concat([frame for part in parts for frame in (part, gap)], ignore_index=True)
        fig.add_trace(go.Scatter(x=joined.week, y=joined.score, mode="lines", line=dict(color="#8c8c8c", width=0.7),
                                 opacity=0.45, hoverinfo="skip", connectgaps=False,
                                 name=f"individual series ({len(parts)})"))
    step = _n_label_step([w for weekly in drawn.values() for w in weekly.dropna(subset=["mean_score"]).week], len(drawn))
    for i, (name, weekly) in enumerate(drawn.items()):
        colour = PALETTE[i % len(PALETTE)]
        label = escape(name)

        def labelled(week, i=i) -> bool:
            return (int(week) - i * step // len(drawn)) % step == 0
        for segment in _runs_shown(weekly, "mean_score"):
            fig.add_trace(go.Scatter(
                x=list(segment.week) + list(segment.week[::-1]),
                y=list(segment.mean_ci_high) + list(segment.mean_ci_low[::-1]),
                mode="lines", fill="toself", fillcolor=colour, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                showlegend=False, name=f"{label} 95% CI"))
        fig.add_trace(go.Scatter(
            x=weekly.week, y=weekly.mean_score, mode="lines+markers+text", name=label, line=dict(color=colour, width=3),
            text=["" if pd.isna(m) or pd.isna(n) else f"n={int(n)}" for m, n in zip(weekly.mean_score, weekly.n_scored)],
            texttemplate=["%{text}" if labelled(w) else "" for w in weekly.week], cliponaxis=False,
            textposition="bottom center", textfont=dict(size=10, color=colour),
            hovertemplate="week %{x}: mean %{y:.1f}<br>%{text}<extra>" + label + "</extra>"))
        gaps |= _interior_gaps(weekly, "mean_score")
    weeks = [w for weekly in drawn.values() for w in weekly.dropna(subset=["mean_score"]).week]
    if itt is not None and not itt.dropna(subset=["mean_score"]).empty:
        # Only over the observed weeks: carried-forward scores run on for months and would stretch the axis.
        itt = itt[itt.week <= max(weeks)].sort_values("week")
        fig.add_trace(go.Scatter(x=itt.week, y=itt.mean_score, mode="lines",
                                 name="intention to treat (limited LOCF, then BOCF)",
                                 line=dict(color=GREY, dash="dash", width=2)))
        gaps |= _interior_gaps(itt, "mean_score")
        _mark_itt_end(fig, itt, weeks)
    _mark_gaps(fig, sorted(gaps))
    fig = _layout(fig, f"{instrument}: mean score by week (week 0 = baseline)", f"{instrument} score")
    fig.update_yaxes(range=[0, max_score])
    _week_axis(fig, weeks)
    return fig


@drawn_once
def rates_by_week(weekly: pd.DataFrame, itt: pd.DataFrame | None, instrument: str) -> go.Figure:
    """Response and remission rate by week with Wilson 95% intervals (observed; ITT dashed). A week a line hides
    (small-cell suppression) is marked "hidden" (naming the lines when not all of them hide it), leading and trailing
    weeks too, up to the axis' end; a week with no series paired has no point and no mark (the caption says so)."""
    fig = go.Figure()
    observed_weeks = weekly[weekly.week > 0].dropna(subset=["response_rate"]).week
    hidden: dict = {}  # week -> the lines hidden that week
    lines = []
    term = remission_term(instrument)
    last = observed_weeks.max() if len(observed_weeks) else None
    for column, label, colour in (("response_rate", "response", PALETTE[0]), ("remission_rate", term, PALETTE[1])):
        rows = weekly[weekly.week > 0].sort_values("week")
        if rows[column].notna().any():  # hidden weeks stay in as gaps, so the line breaks there
            lines.append(label)
            fig.add_trace(go.Scatter(
                x=rows.week, y=rows[column], mode="lines+markers", name=f"{label} (observed)",
                line=dict(color=colour, width=3),
                error_y=dict(type="data", symmetric=False, array=rows[f"{column}_high"] - rows[column],
                             arrayminus=rows[column] - rows[f"{column}_low"], thickness=1),
                customdata=rows.n_paired, hovertemplate="week %{x}: %{y:.0%} of %{customdata} paired<extra></extra>"))
        for week in _hidden_weeks(rows, column, "n_paired", last):
            hidden.setdefault(week, []).append(label)
        if itt is not None and last is not None:
            rows = itt[(itt.week > 0) & (itt.week <= last)].sort_values("week")
            if rows[column].notna().any():
                lines.append(f"{label} ITT")
                fig.add_trace(go.Scatter(x=rows.week, y=rows[column], mode="lines",
                                         name=f"{label} (intention to treat, NRI)", line=dict(color=colour, dash="dash")))
            for week in _hidden_weeks(rows, column, "n_series", last):
                hidden.setdefault(week, []).append(f"{label} ITT")
    if itt is not None and last is not None and fig.data:
        _mark_itt_end(fig, itt[itt.week <= last], list(observed_weeks))
    if not fig.data:
        return nothing(f"No {instrument} week has enough paired series to show a rate (suppressed or empty).")
    _mark_gaps(fig, sorted(hidden), {week: _hidden_lines(names, lines) for week, names in hidden.items()})
    fig = _layout(fig, f"{instrument}: response and {term} by week", "share of series", percent=True)
    _week_axis(fig, observed_weeks)
    return fig


def _mark_itt_end(fig: go.Figure, itt: pd.DataFrame, weeks: list) -> None:
    """A dotted line where intention to treat ends (the end of induction, weekly_outcomes_itt) when observed weeks
    go on past it: the weeks after it are observed follow-up, a group that shrinks, not the whole cohort."""
    if itt.empty or not weeks or max(weeks) <= itt.week.max():
        return
    fig.add_vline(x=int(itt.week.max()), line=dict(color=GREY, dash="dot", width=1),
                  annotation_text="end of induction: intention to treat ends; after it, observed follow-up only",
                  annotation_position="top left", annotation_font=dict(size=10, color=GREY))


def itt_followup_note(weekly: pd.DataFrame, itt: pd.DataFrame | None, min_cell: int) -> str:
    """A caption for a weekly chart whose observed weeks go on past the end of intention to treat: where it stops,
    and how few series the last observed week rests on out of the cohort's (both as the tables show them)."""
    shown = weekly.dropna(subset=["mean_score"]) if "mean_score" in weekly else weekly.dropna(subset=["response_rate"])
    if itt is None or itt.empty or shown.empty:
        return ""
    last = shown.sort_values("week").iloc[-1]
    end = int(itt.week.max())
    if last.week <= end:
        return ""
    n = last.n_scored if "mean_score" in weekly else last.n_paired
    return (f"Intention to treat ends at week {end}, the end of induction: a finished course is not drawn back at its "
            f"baseline. After it, observed follow-up only, a group that shrinks: week {int(last.week)} rests on "
            f"{suppress.count_text(n, min_cell)} of {suppress.count_text(itt.sort_values('week').n_series.iloc[0], min_cell)}"
            " series with a baseline.")


def _hidden_lines(names: list[str], lines: list[str]) -> str:
    """A week's hidden marker: "hidden" when every line drawn hides it, else which ("hidden: remission observed",
    "hidden: observed" for both observed lines)."""
    if set(lines) <= set(names):
        return "hidden"
    parts = []
    for kind, suffix in (("observed", ""), ("ITT", " ITT")):
        of_kind = [n for n in names if n.endswith(" ITT") == bool(suffix)]
        drawn = [n for n in lines if n.endswith(" ITT") == bool(suffix)]
        if of_kind:
            parts.append(kind if set(drawn) <= set(of_kind) else f"{of_kind[0].removesuffix(suffix)} {kind}")
    return "hidden: " + ", ".join(parts)


def _hidden_weeks(rows: pd.DataFrame, column: str, n: str, last) -> list:
    """Weeks up to `last` whose `column` is hidden: series were there (n hidden, or above 0), the value is not shown.
    A week whose n is 0, or that has no row, had no series: nothing to hide."""
    if last is None:
        return []
    there = rows[n].isna() | (rows[n] > 0)
    return rows[(rows.week <= last) & rows[column].isna() & there].week.tolist()


@drawn_once
def end_of_induction(rates: pd.DataFrame, references: pd.DataFrame, instrument: str) -> go.Figure:
    """This clinic's end-of-induction response and remission with 95% CIs, beside the published range."""
    fig = go.Figure()
    names = {"response": "response", "remission": remission_term(instrument)}  # PCL-5: below the cut-off
    for measure, colour in (("response", PALETTE[0]), ("remission", PALETTE[1])):
        ref = references[references.instrument == instrument][f"{measure}_rate"] if not references.empty else []
        if len(ref):
            fig.add_trace(go.Bar(x=[names[measure]], y=[max(max(ref) - min(ref), 0.01)], base=[min(ref)],
                                 marker=dict(color="#d9d9d9", line=dict(color=GREY, width=1)), width=0.7,
                                 name="published range", showlegend=measure == "response", legendgroup="published",
                                 hovertext=escape(", ".join(references[references.instrument == instrument].study)),
                                 hovertemplate="published %{base:.0%} and above<br>%{hovertext}<extra></extra>"))
        for kind, label in (("", "this clinic, observed"), ("itt_", "this clinic, intention to treat")):
            value = rates[f"{kind}{measure}_rate"].iloc[0] if not rates.empty else None
            if value is None or value != value:
                continue
            fig.add_trace(go.Scatter(
                x=[names[measure]], y=[value], mode="markers", name=label, showlegend=measure == "response", legendgroup=label,
                marker=dict(size=16, color=PALETTE[0] if not kind else PALETTE[1],
                            symbol="circle" if not kind else "diamond-open", line=dict(width=2)),
                error_y=dict(type="data", symmetric=False, array=[rates[f"{kind}{measure}_rate_high"].iloc[0] - value],
                             arrayminus=[value - rates[f"{kind}{measure}_rate_low"].iloc[0]]),
                hovertemplate=f"{label}: %{{y:.0%}}<extra></extra>"))
    if not any(isinstance(t, go.Scatter) for t in fig.data):
        return nothing("End-of-induction rates are suppressed for this selection (too few series to show).")
    # The title names only what is drawn: a cohort with no published result of its own route has no range.
    beside = " vs published real-world results" if any(isinstance(t, go.Bar) for t in fig.data) else ""
    fig = _layout(fig, f"End of induction ({instrument}): this clinic{beside}",
                  "share of series", x_title="", percent=True, height=400)
    fig.update_layout(barmode="overlay")
    return fig


@drawn_once
def attrition(frame: pd.DataFrame, min_cell: int | None = None) -> go.Figure:
    sessions = frame[frame.stage == "session"]
    shown = sessions.dropna(subset=["share_of_started"])
    if shown.empty:
        return nothing("Attrition is suppressed or empty for this selection.")
    fig = go.Figure(go.Bar(x=shown.step, y=shown.share_of_started, marker_color=PALETTE[0], name="share of series",
                           text=[f"{v:.0%}" for v in shown.share_of_started], textposition="outside",
                           cliponaxis=False, hovertemplate="session %{x}: %{y:.0%} of series<extra></extra>"))
    _mark_suppressed(fig, sessions[sessions.share_of_started.isna()].step, min_cell)
    fig = _layout(fig, "Attrition: share of series reaching each completed session", "share of series started",
                  x_title="Completed session", percent=True, height=360)
    # A share stops at 100%: left to autorange, room for the "100%" above the first bar drew a 120% tick.
    fig.update_yaxes(range=[0, 1.1])
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=1, tickformat="d")
    return fig


def hidden_legend(min_cell: int | None, unit: str = "series") -> str:
    """What a "hidden" marker means, in the legend of every chart that marks one: a small count, or a count
    hidden so a small one cannot be worked out (a total, a difference)."""
    small = f"too few {unit}" if not min_cell or min_cell < 2 else f"1-{min_cell - 1} {unit}" if min_cell > 2 \
        else f"1 {unit[:-1] if unit == 'sessions' else unit}"
    return f"hidden: {small}, or hidden to protect another"


def _mark_suppressed(fig: go.Figure, xs, min_cell: int | None = None, unit: str = "series") -> None:
    """A hidden value is marked where its bar would be, never drawn as a zero-height bar."""
    xs = list(xs)
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=[0] * len(xs), mode="markers+text", text=["hidden"] * len(xs),
                                 textposition="top center", textfont=dict(color=GREY, size=11),
                                 marker=dict(symbol="x-thin-open", size=10, color=GREY, line=dict(width=2)),
                                 name=_legend_lines(hidden_legend(min_cell, unit)), hoverinfo="skip"))


def _legend_lines(name: str) -> str:
    """A legend entry broken after its comma when it would not fit a phone beside its symbol: Plotly never wraps a
    legend, and on a 390 px screen "… or hidden to protec" was cut at the right edge."""
    if _text_width(name, 14) <= NARROWEST - 20:
        return name
    head, _, tail = name.partition(", ")
    return f"{head},<br>{tail}" if tail else name


@drawn_once
def change_distribution(summary: pd.DataFrame, instrument: str, response_fraction: float,
                        min_cell: int = 0) -> go.Figure:
    """How much each series changed from baseline at end of induction: a distribution (series per 10-point
    band of % change), coloured by end status. One bar per series would mean 50,000 bars at 100k patients.
    With min_cell, a bar of 1 to min_cell - 1 series is not drawn but marked (suppress.histogram_bins), and the
    title leaves out the number of series, which with the shown bars and the status table would give it."""
    rows = summary.dropna(subset=["end_pct_change"])
    if rows.empty:
        return nothing(f"No series has an end-of-induction {instrument} score yet.")
    edges = np.arange(-1.0, max(1.0, math.ceil(rows.end_pct_change.max() * 10) / 10) + 0.1, 0.1)
    fig = go.Figure()
    hidden_bins = set()
    for status, colour in (("remission", PALETTE[2]), ("response", PALETTE[0]), ("no response", "#9e9e9e")):
        values = rows[rows.end_status == status].end_pct_change.clip(upper=edges[-1] - 1e-9)
        counts, _ = np.histogram(values, bins=edges)
        hidden = suppress.histogram_bins(counts, min_cell).to_numpy()
        hidden_bins.update(np.round(edges[:-1][hidden] + 0.05, 2))
        name = remission_term(instrument) if status == "remission" else status
        fig.add_trace(go.Bar(x=edges[:-1] + 0.05, y=[None if h else int(c) for c, h in zip(counts, hidden)],
                             width=0.095, name=name, marker_color=colour,
                             customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                             hovertemplate="%{customdata[0]:.0%} to %{customdata[1]:.0%}: %{y} series<extra>"
                                           + name + "</extra>"))
    _mark_suppressed(fig, sorted(hidden_bins), min_cell)
    fig.add_vline(x=response_fraction - 1, line_dash="dash", line_color=GREY,
                  annotation_text=f"response: {1 - response_fraction:.0%} fall",
                  annotation_font_color=GREY)
    total = "some bars hidden" if hidden_bins else f"{len(rows):,} series"
    fig = _layout(fig, f"{instrument}: change from baseline at end of induction ({total})", "series",
                  x_title="change from baseline (negative is better)")
    fig.update_layout(barmode="stack", bargap=0)
    fig.update_xaxes(tickformat=".0%", dtick=0.2)
    return fig


@drawn_once
def band_transitions(frame: pd.DataFrame, instrument: str, min_cell: int | None = None) -> go.Figure:
    """Stacked bars: for each baseline severity band, the band at end of induction (light = mild)."""
    shown = frame.dropna(subset=["n_series"])
    if shown.empty:
        return nothing("Every severity group is suppressed for this selection (too few series).")
    fig = go.Figure()
    order = frame.drop_duplicates("baseline_band").sort_values("baseline_band_min").baseline_band.tolist()
    ends = frame.drop_duplicates("end_band").sort_values("end_band_min").end_band.tolist()
    colours = SEQUENTIAL[-len(ends):] if len(ends) <= len(SEQUENTIAL) else SEQUENTIAL
    for i, end in enumerate(ends):
        rows = shown[shown.end_band == end]
        fig.add_trace(go.Bar(x=rows.baseline_band, y=rows.n_series, name=f"end: {escape(end)}",
                             marker_color=colours[min(i, len(colours) - 1)],
                             hovertemplate="baseline %{x}: %{y} series<extra>end: " + escape(end) + "</extra>"))
    hidden = frame[frame.n_series.isna()].baseline_band.drop_duplicates()
    _mark_suppressed(fig, hidden, min_cell)
    fig = _layout(fig, f"{instrument}: severity at baseline and at end of induction", "series",
                  x_title="severity at baseline")
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    return fig


@drawn_once
def time_to_response(first_responses: pd.DataFrame, min_cell: int | None = None,
                     instrument: str | None = None) -> go.Figure:
    """Series by the week they first met response (rows: week, n_series)."""
    counts = first_responses.dropna(subset=["n_series"])
    if counts.empty:
        return nothing("No week has enough first responses to show (suppressed or none yet).")
    fig = go.Figure(go.Bar(x=counts.week, y=counts.n_series, marker_color=PALETTE[0], name="series first responding",
                           hovertemplate="week %{x}: %{y} series first responded<extra></extra>"))
    _mark_suppressed(fig, first_responses[first_responses.n_series.isna()].week, min_cell)
    # Named for its instrument, as every other chart of the page is (the first response is on that questionnaire).
    title = f"{instrument}: week of first response" if instrument else "Week of first response"
    fig = _layout(fig, title, "series", height=340)
    _week_axis(fig, first_responses.week)
    return fig


@drawn_once
def survival_curve(curves: pd.DataFrame, value: str, title: str, y_title: str, x_title: str,
                   what: str) -> go.Figure:
    """Kaplan-Meier step curves, one per group (rows: group_value, day, n_at_risk, `value`, median_days;
    already truncated by suppression), with the number at risk under the plot at regular days and the
    median in each legend entry. `value`: 'survival' (falls from 1) or 'share_responded' (rises from 0)."""
    if curves.empty:
        return nothing(f"No curve to draw: too few series {what} for this selection (suppressed or none yet).")
    groups = list(curves.groupby("group_value", sort=True))
    # The at-risk table grows with the groups, one readable line each.
    table = min(0.4, 0.12 + 0.05 * len(groups))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[1 - table, table], vertical_spacing=0.1)
    start = 1.0 if value == "survival" else 0.0
    last_day = int(curves.day.max())
    step = next((s for s in (7, 14, 28, 56, 91, 182, 364) if last_day / s <= 8), 728)
    ticks = list(range(0, last_day + 1, step))
    for i, (group, rows) in enumerate(groups):
        rows = rows.sort_values("day")
        colour, label = PALETTE[i % len(PALETTE)], escape(group)
        median_text = "median " + suppress.median_text(rows)
        # The curve starts at day 0 at 100% (or 0%) and holds each value until the next event (a step).
        days = [0] + rows.day.tolist() if rows.day.iloc[0] > 0 else rows.day.tolist()
        values = [start] + rows[value].tolist() if rows.day.iloc[0] > 0 else rows[value].tolist()
        at_risk = [int(rows.n_at_risk.iloc[0])] + rows.n_at_risk.astype(int).tolist() if rows.day.iloc[0] > 0 \
            else rows.n_at_risk.astype(int).tolist()
        fig.add_trace(go.Scatter(x=days, y=values, mode="lines", line_shape="hv", line=dict(color=colour, width=3),
                                 name=f"{label} ({median_text})", customdata=at_risk,
                                 hovertemplate="day %{x}: %{y:.0%}, %{customdata} at risk<extra>" + label
                                               + "</extra>"), row=1, col=1)
        # At risk at day t: the series followed to day t or later (the first row on or after t). Past the
        # curve's last row (the end of follow-up, or where suppression truncated it) nothing is printed.
        counts = [str(int(rows[rows.day >= t].n_at_risk.iloc[0])) if t <= rows.day.max() else "" for t in ticks]
        fig.add_trace(go.Scatter(x=ticks, y=[label] * len(ticks), mode="text", text=counts,
                                 textfont=dict(color=colour, size=12), showlegend=False, hoverinfo="skip",
                                 name=f"{label} at risk"), row=2, col=1)
        if "survival_if_lost" in rows:  # sustained response: the bound with loss to follow-up as loss of response
            bound = [start] + rows.survival_if_lost.tolist() if rows.day.iloc[0] > 0 else rows.survival_if_lost.tolist()
            fig.add_trace(go.Scatter(x=days, y=bound, mode="lines", line_shape="hv",
                                     line=dict(color=colour, width=1.5, dash="dot"),
                                     name=f"{label}: if every series lost to follow-up had lost its response",
                                     hovertemplate="day %{x}: at least %{y:.0%}<extra>" + label + "</extra>"),
                          row=1, col=1)
    fig.add_hline(y=0.5, line_dash="dot", line_color=GREY, row=1, col=1)
    fig.update_layout(title_text=title, height=440 + 40 * len(groups), template="ketamine", showlegend=True)
    fig.update_yaxes(title=y_title, range=[0, 1.02], tickformat=".0%", dtick=0.2, row=1, col=1)
    labels = [escape(group) for group, _ in groups]
    fig.update_yaxes(title="at risk", type="category", showgrid=False, autorange="reversed", tickmode="array",
                     tickvals=labels, ticktext=labels, row=2, col=1)
    fig.update_xaxes(tickmode="array", tickvals=ticks, range=[-step / 4, last_day + step / 4], showticklabels=True,
                     row=1, col=1)
    fig.update_xaxes(title=x_title, tickmode="array", tickvals=ticks, showgrid=False, row=2, col=1)
    return fig


@drawn_once
def protocol_adherence(frame: pd.DataFrame, by_label: str, min_cell: int | None = None) -> go.Figure:
    """Per group: the share of decided inductions completed, and completed within the route's window (Wilson
    95% interval). Hidden groups are marked, never drawn as zero."""
    shown = frame.dropna(subset=["adherence_rate"])
    if shown.empty:
        return nothing("Protocol adherence is suppressed for this selection (too few series).")
    names = [escape(g) for g in shown.group_value]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=shown.completion_rate, name="completed the induction", marker_color="#d9d9d9",
                         marker_line=dict(color=GREY, width=1),
                         hovertemplate="%{x}: %{y:.0%} completed<extra></extra>"))
    fig.add_trace(go.Bar(x=names, y=shown.adherence_rate, name="completed within its window", marker_color=PALETTE[0],
                         error_y=dict(type="data", symmetric=False, array=shown.adherence_rate_high - shown.adherence_rate,
                                      arrayminus=shown.adherence_rate - shown.adherence_rate_low, thickness=1),
                         customdata=shown.n_series,
                         hovertemplate="%{x}: %{y:.0%} of %{customdata} series within window<extra></extra>"))
    _mark_suppressed(fig, [escape(g) for g in frame[frame.adherence_rate.isna()].group_value], min_cell)
    fig = _layout(fig, f"Induction protocol adherence by {by_label}", "share of series", x_title=by_label,
                  percent=True, height=380)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")
    return fig


@drawn_once
def adverse_events(frame: pd.DataFrame, by_label: str, min_cell: int | None = None) -> go.Figure:
    if frame.event_rate.isna().all():
        return nothing("Adverse-event rates are suppressed for this selection (too few sessions or events).")
    fig = go.Figure()
    frame = frame.assign(event=frame.event.map(adverse_event_label))  # words, not the stored codes
    for i, (group, rows) in enumerate(frame.groupby("group_value", sort=False)):
        label = escape(group)
        fig.add_trace(go.Bar(x=rows.event, y=rows.event_rate, name=label, marker_color=PALETTE[i % len(PALETTE)],
                             error_y=dict(type="data", symmetric=False, array=rows.event_rate_high - rows.event_rate,
                                          arrayminus=rows.event_rate - rows.event_rate_low, thickness=1),
                             text=["0" if v == 0 else "" for v in rows.event_rate],
                             textposition="outside", textfont=dict(color=GREY, size=10), cliponaxis=False,
                             hovertemplate="%{x}: %{y:.1%} of sessions<extra>" + label + "</extra>"))
    _mark_suppressed(fig, frame[frame.event_rate.isna()].event.drop_duplicates(), min_cell, "sessions or events")
    fig = _layout(fig, f"Adverse events per completed session, by {by_label}", "share of sessions", x_title="",
                  percent=True, height=540)
    # A long name on two lines ("increased / blood pressure"), and a taller chart: on a 390 px phone the turned
    # names, the wrapped title and a legend row per group left the bars about 20 px high.
    events = list(dict.fromkeys(frame.event))
    fig.update_xaxes(tickmode="array", tickvals=events, ticktext=[_two_lines(escape(e)) for e in events])
    fig.update_layout(barmode="group")
    return fig


def _two_lines(label: str, longest: int = 14) -> str:
    """A label of more than `longest` characters broken at the space nearest its middle."""
    spaces = [i for i, c in enumerate(label) if c == " "]
    if len(label) <= longest or not spaces:
        return label
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return f"{label[:cut]}<br>{label[cut + 1:]}"


@drawn_once
def adverse_events_by_session(frame: pd.DataFrame) -> go.Figure:
    if frame.event_rate.isna().all():
        return nothing("Adverse-event rates are suppressed for this selection (too few sessions or events).")
    fig = go.Figure()
    for i, (event, rows) in enumerate(frame.groupby("event")):
        rows = rows.sort_values("group_order")
        fig.add_trace(go.Scatter(x=rows.group_value, y=rows.event_rate, mode="lines+markers",
                                 name=adverse_event_label(event),
                                 line=dict(color=PALETTE[i % len(PALETTE)])))
    fig = _layout(fig, "Adverse events by session number", "share of sessions", x_title="session number",
                  percent=True)
    fig.update_xaxes(type="category")
    return fig


@drawn_once
def blood_pressure(frame: pd.DataFrame, thresholds: dict[str, float], min_cell: int | None = None) -> go.Figure:
    """Per route: the share of measured sessions whose systolic peak reached thresholds['bp_peak_systolic']."""
    peak = f"{thresholds['bp_peak_systolic']:g}"
    if frame.empty or frame.high_peak_rate.isna().all():
        return nothing("No blood-pressure peaks to show: none recorded, or too few measured sessions (suppressed).")
    shown = frame.dropna(subset=["high_peak_rate"])
    fig = go.Figure(go.Bar(x=shown.route, y=shown.high_peak_rate, marker_color=PALETTE[3], name=f"sessions at {peak}+",
                           customdata=shown.max_peak,
                           text=["none" if v == 0 else "" for v in shown.high_peak_rate], textposition="outside",
                           hovertemplate="%{x}: %{y:.1%} of measured sessions, highest %{customdata} mmHg"
                                         "<extra></extra>"))
    _mark_suppressed(fig, frame[frame.high_peak_rate.isna()].route, min_cell, "sessions")
    return _layout(fig, f"Sessions with a systolic peak of {peak} mmHg or more", "share of measured sessions",
                   x_title="route", percent=True, height=360)


# The blood-pressure flags of a session and the item-9 measures, as a reader names them.
BP_FLAGS = {"rise": "rise after dosing", "pre_raised": "raised before dosing"}
ITEM9_MEASURES = {"item9_resolved": "item 9 resolved to 0", "item9_emergent": "item 9 emerged (from 0)",
                  "reliable_deterioration": "reliable deterioration (PHQ-9)"}


def _rate_bars(fig: go.Figure, x, rate, low, high, n, name: str, colour: str, unit: str) -> None:
    """Bars of a rate with its Wilson interval; the n each is out of in the hover (and, by _n_over_bars,
    above the interval)."""
    fig.add_trace(go.Bar(x=list(x), y=rate, name=name, marker_color=colour,
                         error_y=dict(type="data", symmetric=False, array=high - rate, arrayminus=rate - low,
                                      thickness=1),
                         customdata=n,
                         hovertemplate="%{x}: %{y:.1%} of %{customdata:,} " + unit + "<extra>" + name + "</extra>"))


def _n_over_bars(fig: go.Figure, categories: list) -> None:
    """"n=..." above each bar's interval. Text on a bar itself would sit under its error bar; in grouped bars
    the k-th of m bars of a category is centred at its index - 0.4 + (k + 0.5) x 0.8 / m (bargap 0.2)."""
    bars = [t for t in fig.data if t.type == "bar"]
    fig.update_xaxes(categoryorder="array", categoryarray=categories)
    fig.update_layout(bargap=0.2, bargroupgap=0)
    for k, bar in enumerate(bars):
        for x, y, plus, n in zip(bar.x, bar.y, bar.error_y.array, bar.customdata):
            if y != y or n != n:
                continue
            position = categories.index(x) - 0.4 + (k + 0.5) * 0.8 / len(bars)
            fig.add_annotation(x=position, y=y + (plus if plus == plus else 0), text=f"n={int(n):,}",
                               showarrow=False, yanchor="bottom", font=dict(color=GREY, size=10))


@drawn_once
def blood_pressure_flags(frame: pd.DataFrame, thresholds: dict[str, float], min_cell: int | None = None) -> go.Figure:
    """Per route: sessions with a rise after dosing and sessions raised before dosing, with n and intervals."""
    if frame.empty or frame[["rise_rate", "pre_raised_rate"]].isna().all().all():
        return nothing("No pre-dose blood pressure to compare: the export has no systolic_bp_pre or diastolic_bp_pre "
                       "column, or too few measured sessions (suppressed).")
    fig = go.Figure()
    names = {"rise": f"rise of >= {thresholds['bp_rise_systolic']:g} systolic or >= "
                     f"{thresholds['bp_rise_diastolic']:g} diastolic",
             "pre_raised": f"pre-dose above {thresholds['bp_pre_systolic_above']:g}/"
                           f"{thresholds['bp_pre_diastolic_above']:g}"}
    for i, (flag, n_column) in enumerate((("rise", "n_rise_measured"), ("pre_raised", "n_pre_measured"))):
        shown = frame.dropna(subset=[f"{flag}_rate"])
        _rate_bars(fig, shown.route, shown[f"{flag}_rate"], shown[f"{flag}_rate_low"], shown[f"{flag}_rate_high"],
                   shown[n_column], names[flag], PALETTE[i], "sessions with both readings" if flag == "rise"
                   else "sessions with a pre-dose reading")
    _n_over_bars(fig, list(frame.route))
    _mark_suppressed(fig, frame[frame.rise_rate.isna() | frame.pre_raised_rate.isna()].route, min_cell, "sessions")
    fig = _layout(fig, "Blood pressure around the dose (Spravato label thresholds)", "share of measured sessions",
                  x_title="route", percent=True, height=400)
    fig.update_layout(barmode="group")
    return fig


@drawn_once
def item9_course(frame: pd.DataFrame, min_cell: int | None = None) -> go.Figure:
    """Item 9 resolved and emerged, and reliable deterioration, per group, with n and intervals."""
    if frame.empty or frame.measure_rate.isna().all():
        return nothing("No evaluable series with PHQ-9 item 9 at baseline and the end of induction, or too few "
                       "(suppressed).")
    fig = go.Figure()
    for i, (group, rows) in enumerate(frame.groupby("group_value", sort=False)):
        shown = rows.dropna(subset=["measure_rate"])
        _rate_bars(fig, [ITEM9_MEASURES[m] for m in shown.measure], shown.measure_rate, shown.measure_rate_low,
                   shown.measure_rate_high, shown.n_series, escape(group), PALETTE[i % len(PALETTE)], "series")
    _n_over_bars(fig, [ITEM9_MEASURES[m] for m in frame.measure.drop_duplicates()])
    hidden = frame[frame.measure_rate.isna()].measure.drop_duplicates()
    _mark_suppressed(fig, [ITEM9_MEASURES[m] for m in hidden], min_cell)
    fig = _layout(fig, "Suicidality over the induction (PHQ-9 item 9)", "share of evaluable series", x_title="",
                  percent=True, height=420)
    fig.update_layout(barmode="group")
    return fig


@drawn_once
def dissociation(frame: pd.DataFrame) -> go.Figure:
    """Mean CADSS by session number of the series, with its 95% interval and n at each point."""
    if frame.empty or frame.mean_score.isna().all():
        return nothing("No CADSS scores on session days: the outcomes export has no CADSS rows, or too few per "
                       "session (suppressed).")
    fig = go.Figure()
    single = frame.group_value.nunique() == 1
    for i, (group, rows) in enumerate(frame.groupby("group_value", sort=False)):
        rows = rows.sort_values("session_number")
        name = escape(group)
        fig.add_trace(go.Scatter(
            x=rows.session_number, y=rows.mean_score, mode="lines+markers", name=name,
            line=dict(color=PALETTE[i % len(PALETTE)]),
            error_y=dict(type="data", symmetric=False, array=rows.mean_ci_high - rows.mean_score,
                         arrayminus=rows.mean_score - rows.mean_ci_low, thickness=1),
            customdata=rows.n_sessions,
            hovertemplate="session %{x}: mean %{y:.1f} of %{customdata:,} sessions<extra>" + name + "</extra>"))
        if single:  # n above each interval; over several lines they would cover each other (hover has it)
            for x, high, mean, n in zip(rows.session_number, rows.mean_ci_high, rows.mean_score, rows.n_sessions):
                if mean == mean:
                    fig.add_annotation(x=x, y=high if high == high else mean, text=f"n={int(n):,}", showarrow=False,
                                       yanchor="bottom", font=dict(color=GREY, size=10))
    fig = _layout(fig, "Dissociation (CADSS, 0-92) by session number", "mean CADSS", x_title="session number",
                  height=400)
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=1, tickformat="d")
    return fig


@drawn_once
def funnel(units: pd.DataFrame, curves: pd.DataFrame, label: str) -> go.Figure:
    """Rate against n with 95% and 99.8% limits around the overall rate (Spiegelhalter 2005)."""
    if units.empty:
        return nothing(f"No {label} has enough scored series to place on the funnel (all suppressed).")
    fig = go.Figure()
    if not curves.empty:
        for level, dash in (("99.8%", "dot"), ("95%", "dash")):
            for side in ("lower", "upper"):
                fig.add_trace(go.Scatter(x=curves.n, y=curves[f"{side}_{level}"], mode="lines",
                                         line=dict(color=GREY, dash=dash, width=1), name=f"{level} limits",
                                         legendgroup=level, showlegend=side == "upper", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=curves.n, y=curves.centre, mode="lines", line=dict(color="#1f2430"),
                                 name="overall rate", hoverinfo="skip"))
    outside = units.outside.str.startswith(("above", "below"))
    for is_outside, name, colour, symbol in ((False, f"{label} within limits", PALETTE[0], "circle"),
                                             (True, f"{label} outside limits", PALETTE[3], "diamond")):
        rows = units[outside == is_outside]
        if rows.empty:
            continue
        names = [escape(g) for g in rows.group]
        # Only a point outside the limits is named on the plot (groups of similar size and rate sit side by side and
        # their names ran into one another, "NorthsideRiverside"); the hover names every point.
        fig.add_trace(go.Scatter(x=rows.n, y=rows.rate, mode="markers+text", text=names if is_outside else [""] * len(rows),
                                 textposition="top center", cliponaxis=False,
                                 marker=dict(size=12, color=colour, symbol=symbol), name=name,
                                 customdata=np.stack([names, rows.outside.replace("", "within the limits")], axis=1),
                                 hovertemplate="%{customdata[0]}: %{y:.0%} of %{x}<br>%{customdata[1]}<extra></extra>"))
    # Taller than most charts: on a phone the wrapped title and the legend's rows left the funnel 90-200 px high.
    return _layout(fig, f"Funnel plot: end-of-induction response by {label}", "response rate",
                   x_title="series scored at end of induction (n)", percent=True, height=540)


@drawn_once
def adjusted_funnel(groups: pd.DataFrame, curves: pd.DataFrame, label: str) -> go.Figure:
    """Observed / expected responders against expected responders, with 95% and 99.8% limits around 1: the raw
    funnel's groups after case-mix adjustment (casemix.adjusted_comparison). `groups` holds only groups shown."""
    if groups.empty:
        return nothing(f"No {label} has enough scored series to place on the adjusted funnel (all suppressed).")
    fig = go.Figure()
    for level, dash in (("99.8%", "dot"), ("95%", "dash")):
        for side in ("lower", "upper"):
            fig.add_trace(go.Scatter(x=curves.expected, y=curves[f"{side}_{level}"], mode="lines",
                                     line=dict(color=GREY, dash=dash, width=1), name=f"{level} limits",
                                     legendgroup=level, showlegend=side == "upper", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=curves.expected, y=curves.centre, mode="lines", line=dict(color="#1f2430"),
                             name="as expected (1)", hoverinfo="skip"))
    outside = groups.outside.str.startswith(("above", "below"))
    for is_outside, name, colour, symbol in ((False, f"{label} within limits", PALETTE[0], "circle"),
                                             (True, f"{label} outside limits", PALETTE[3], "diamond")):
        rows = groups[outside == is_outside]
        if rows.empty:
            continue
        names = [escape(g) for g in rows.group]
        fig.add_trace(go.Scatter(
            x=rows.expected, y=rows.ratio, mode="markers+text", text=names if is_outside else [""] * len(rows),
            textposition="top center", cliponaxis=False, marker=dict(size=12, color=colour, symbol=symbol),
            name=name, customdata=np.stack([names, rows.observed.astype(str),
                                            rows.outside.replace("", "within the limits")], axis=1),
            hovertemplate="%{customdata[0]}: %{customdata[1]} responders, %{x:.1f} expected (ratio %{y:.2f})"
                          "<br>%{customdata[2]}<extra></extra>"))
    return _layout(fig, f"Adjusted for case mix: observed / expected responders by {label}", "observed / expected",
                   x_title="expected responders (from the case-mix model)", height=540)


@drawn_once
def p_chart(chart: pd.DataFrame, title: str, period: str = "month", notes: pd.DataFrame | None = None) -> go.Figure:
    """Rate by period with centre line, 3-sigma limits, and special-cause points flagged. A period still being
    scored (quality.p_chart's still_open) is a hollow point labelled "still open", off the line, with no limits.
    `notes` (chart_notes.placed): each process change is a vertical line before the first period it reaches,
    labelled with the clinic's words (escaped); "limits recalculated" where the limits start again there."""
    if chart.empty or chart.rate.isna().all():
        return nothing(f"No {period} has enough evaluable series to chart (suppressed or empty).")
    still_open = chart.still_open if "still_open" in chart else pd.Series(False, index=chart.index)
    closed = chart[~still_open]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=chart.period, y=chart.upper, mode="lines", line=dict(color=GREY, dash="dash"),
                             name="control limits", legendgroup="limits", line_shape="hv"))
    fig.add_trace(go.Scatter(x=chart.period, y=chart.lower, mode="lines", line=dict(color=GREY, dash="dash"),
                             showlegend=False, legendgroup="limits", line_shape="hv"))
    fig.add_trace(go.Scatter(x=chart.period, y=chart.centre, mode="lines", line=dict(color="#1f2430"), name="mean"))
    special = closed.signals != ""
    fig.add_trace(go.Scatter(x=closed.period, y=closed.rate, mode="lines+markers", name="rate",
                             line=dict(color=PALETTE[0]),
                             marker=dict(size=10, color=[PALETTE[3] if s else PALETTE[0] for s in special],
                                         symbol=["diamond" if s else "circle" for s in special]),
                             customdata=closed[["n", "signals"]].values,
                             hovertemplate="%{x}: %{y:.0%} of %{customdata[0]}<br>%{customdata[1]}<extra></extra>"))
    if special.any():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="special cause",
                                 marker=dict(size=10, color=PALETTE[3], symbol="diamond")))
    provisional = chart[still_open & chart.rate.notna()]
    if not provisional.empty:
        fig.add_trace(go.Scatter(
            x=provisional.period, y=provisional.rate, mode="markers+text", name=f"still open: {period} still being scored",
            marker=dict(size=11, color=PALETTE[0], symbol="circle-open", line=dict(width=2)),
            text=["still open"] * len(provisional), textposition="top center", textfont=dict(color=GREY, size=11),
            cliponaxis=False, customdata=provisional.n,
            hovertemplate="%{x}: %{y:.0%} of %{customdata} so far (still open: not in the mean or the limits)"
                          "<extra></extra>"))
    _mark_gaps(fig, chart.period[chart.hidden] if "hidden" in chart else [])
    fig = _layout(fig, title, "response rate", x_title=f"{period} the series started", percent=True)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=list(chart.period))
    _mark_notes(fig, list(chart.period), notes)
    return fig


def _mark_notes(fig: go.Figure, periods: list, notes: pd.DataFrame | None) -> None:
    """A dotted line between the last period before a process change and the first after it, with its label."""
    if notes is None or notes.empty:
        return
    for row in notes.itertuples():
        if row.period not in periods:
            continue
        x = periods.index(row.period) - 0.5
        label = escape(row.label) + ("<br>(limits recalculated)" if row.recalculate_limits else "")
        fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line=dict(color=PALETTE[4], dash="dot",
                                                                                  width=2))
        fig.add_annotation(x=x, y=1, yref="paper", yanchor="bottom", xanchor="left", text=label, showarrow=False,
                           font=dict(color=PALETTE[4], size=11), align="left")


def _runs_shown(frame: pd.DataFrame, column: str) -> list[pd.DataFrame]:
    """The stretches of consecutive rows where `column` is shown (a band is drawn per stretch)."""
    shown = frame[column].notna()
    return [rows for _, rows in frame[shown].groupby((~shown).cumsum()[shown])]


def _interior_gaps(frame: pd.DataFrame, column: str) -> set:
    """x values hidden between two shown points (a hidden tail is simply where the line stops)."""
    shown = frame[frame[column].notna()]
    if shown.empty:
        return set()
    x = "week" if "week" in frame else "period"
    inside = frame[(frame[x] > shown[x].min()) & (frame[x] < shown[x].max())]
    return set(inside[inside[column].isna()][x])


def _mark_gaps(fig: go.Figure, xs, texts: dict | None = None) -> None:
    """Label the places where a point is hidden by small-cell suppression (lines break there: the
    traces carry a missing value and Plotly does not connect across it). `texts`: a label per place other
    than "hidden" (which lines hide it)."""
    for x in xs:
        fig.add_annotation(x=x, y=0, yref="paper", yanchor="bottom", text=(texts or {}).get(x, "hidden"),
                           showarrow=False, font=dict(color=GREY, size=11), textangle=-90)  # as a bar's marker


def describe(fig: go.Figure) -> str:
    """A short text alternative: what the chart shows and what it draws, for screen readers."""
    title = fig.layout.title.text or "Chart"
    names = [t.name for t in fig.data if t.name and t.showlegend is not False]
    x_title, y_title = fig.layout.xaxis.title.text, fig.layout.yaxis.title.text
    axes = f" {y_title} against {x_title}." if x_title and y_title else (f" {y_title}." if y_title else "")
    series = f" Shows: {', '.join(dict.fromkeys(names))}." if names else ""
    return f"{title}.{axes}{series}".replace("<br>", " ")  # lines broken to fit a phone read as one


def series_scores(scores: pd.DataFrame, bands: pd.DataFrame, instrument: str, max_score: int,
                  expected: pd.DataFrame | None = None, response_at: float | None = None) -> go.Figure:
    """One series' scores by week (week 0 = baseline) over the instrument's severity bands, with the middle half
    of the scores of the clinic's closed series with a similar baseline (care.expected_range) and the score at
    which the series would count as responding."""
    rows = scores.sort_values("week")
    if rows.empty:
        return nothing(f"This series has no {instrument} score.")
    fig = go.Figure()
    for i, band in enumerate(bands.itertuples()):
        fig.add_hrect(y0=band.band_min - 0.5 if band.band_min else 0, y1=band.band_max + 0.5,
                      fillcolor=BAND_TINTS[i % len(BAND_TINTS)], opacity=1, line_width=0, layer="below",
                      annotation_text=escape(band.band), annotation_position="right", annotation_font_size=11,
                      annotation_font_color=GREY)
    weeks = list(rows.week)
    if expected is not None and not expected.empty:
        # Every week keeps its place: a week with too few similar series is a gap, never a line across it.
        expected = expected[expected.week <= max(weeks) + 2]
        expected = expected.set_index("week").reindex(range(int(expected.week.max()) + 1) if len(expected) else []
                                                      ).rename_axis("week").reset_index()
        for segment in _runs_shown(expected, "median"):
            fig.add_trace(go.Scatter(
                x=list(segment.week) + list(segment.week[::-1]), y=list(segment.high) + list(segment["low"][::-1]),
                mode="lines", fill="toself", fillcolor=PALETTE[5], opacity=0.25, line=dict(width=0),
                hoverinfo="skip", showlegend=False, legendgroup="expected"))
        fig.add_trace(go.Scatter(
            x=expected.week, y=expected["median"], mode="lines", line=dict(color=PALETTE[5], dash="dot", width=2),
            name="expected: middle half of similar closed series", legendgroup="expected",
            customdata=expected[["low", "high", "n_series"]].values,
            hovertemplate="week %{x}: median %{y:.0f}, middle half %{customdata[0]:.0f}-%{customdata[1]:.0f} "
                          "(%{customdata[2]} series)<extra></extra>"))
        weeks += list(expected.dropna(subset=["median"]).week)
    if response_at is not None:
        fig.add_hline(y=response_at, line=dict(color=GREY, dash="dash", width=1),
                      annotation_text=f"response at {response_at:g} or below", annotation_position="top left",
                      annotation_font=dict(size=11, color=GREY))
    fig.add_trace(go.Scatter(
        x=rows.week, y=rows.score, mode="lines+markers", name="this series", line=dict(color=PALETTE[0], width=3),
        marker=dict(size=9), customdata=rows[["band"]].fillna("").map(escape).values,
        hovertemplate="week %{x}: %{y} (%{customdata[0]})<extra></extra>"))
    fig = _layout(fig, f"{instrument}: this series by week (week 0 = baseline)", f"{instrument} score")
    fig.update_yaxes(range=[0, max_score])
    _week_axis(fig, weeks)
    return fig
