"""What every figure shares: the palette and template, titles that wrap to the chart's width, axes,
the marks of suppressed cells and gaps, and the sentence a screen reader gets (describe)."""

import math
from html import unescape as html_unescape

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio


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
# Meeting mode is for a projector (1920 x 1080, sidebar folded): a chart's title fits this width on one line, and
# its plot area is at least 45% of the screen's height.
PROJECTOR_TITLE_WIDTH = 1500
PROJECTOR_PLOT_HEIGHT = 500  # px: 46% of 1080


# Titles wrap to this width (px): a 390 px phone less the page's side padding. Plotly cannot wrap a title
# to the width it is drawn at, so a long title takes two lines on every screen (and in a downloaded PNG).
NARROWEST = 350
# Widths of Arial's characters in ems, rounded up (a title's line is measured before the browser draws it).
_NARROW, _WIDE = set(" ijlt.,:;'|!()[]/"), set("mw")
LINE_EM = 1.3  # a wrapped line's height, in ems
TITLE_PAD = 16  # px above the title


def text_width(text: str, size: float) -> float:
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


def _wrapped(text: str, size: float, width: float = NARROWEST) -> list[str]:
    """Text broken at spaces into lines that fit `width` px at `size` px (a single word longer than a line
    stays whole)."""
    lines: list[str] = []
    for part in text.split("<br>"):
        line = ""
        for word in part.split(" "):
            if line and text_width(f"{line} {word}", size) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def fit_titles(fig: go.Figure, width: float = NARROWEST) -> go.Figure:
    """Wrap the title and its subtitle to `width` (a phone's, unless a projector's is given), hang them from the
    top of the figure, and make the top margin hold their lines (Plotly centres a title in the margin: a third
    line would cover the plot)."""
    template = fig.layout.template.layout
    title_size = fig.layout.title.font.size or template.title.font.size or 18
    subtitle_size = fig.layout.title.subtitle.font.size or template.title.subtitle.font.size or 13
    title = _wrapped(fig.layout.title.text or "", title_size, width)
    subtitle = _wrapped(fig.layout.title.subtitle.text, subtitle_size, width) if fig.layout.title.subtitle.text else []
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


LEGEND_SYMBOL = 40  # px a legend entry's symbol and its gap take before the entry's words


def fit_legend(fig: go.Figure, width: float = NARROWEST) -> go.Figure:
    """Legend entries broken at spaces to fit `width` beside their symbol: Plotly never wraps a legend, and on a
    390 px phone "North: if every series lost to follow-up had lost its response" ran past the screen's edge. An
    entry already broken (_legend_lines) stays as it is."""
    size = fig.layout.legend.font.size or fig.layout.font.size or fig.layout.template.layout.font.size or 14
    for trace in fig.data:
        name = trace.name
        room = width - LEGEND_SYMBOL
        if name and trace.showlegend is not False and "<br>" not in name and text_width(name, size) > room:
            head, _, tail = name.partition(", ")
            # After its comma where both halves fit ("hidden: 1-10 sessions," / "or hidden to protect another").
            fits = tail and text_width(head + ",", size) <= room and text_width(tail, size) <= room
            trace.name = f"{head},<br>{tail}" if fits else "<br>".join(_wrapped(name, size, room))
    return fig


def fit_axis_titles(fig: go.Figure, width: float = NARROWEST) -> go.Figure:
    """An x axis title wider than a phone's plot (the figure's `width` less its side margins) on two lines: centred
    under a 260 px plot, "expected responders (from the case-mix model)" ran past the figure's right edge."""
    template = fig.layout.template.layout
    plot = width - (fig.layout.margin.l or template.margin.l or 0) - (fig.layout.margin.r or template.margin.r or 0)
    size = fig.layout.font.size or template.font.size or 14
    for name in [n for n in fig.layout if n.startswith("xaxis")]:
        axis = fig.layout[name]
        title = axis.title.text
        if title and "<br>" not in title and text_width(title, size) > plot:
            axis.title.text = two_lines(title, 0)
    return fig


def for_screen(fig: go.Figure) -> go.Figure:
    """Outside meeting mode: the title, the legend and the x axis titles fitted to a phone (a figure is laid out once,
    for every screen; a tablet with its sidebar open leaves a chart about a phone's width too)."""
    return fit_axis_titles(fit_legend(fit_titles(fig)))


def for_projector(fig: go.Figure) -> go.Figure:
    """Meeting mode: the larger template, titles on one line across a projected screen, and a figure tall enough
    that its plot area (the figure less its margins and, under a curve, the at-risk table) is at least
    PROJECTOR_PLOT_HEIGHT."""
    fig.update_layout(template="ketamine_meeting")
    fit_titles(fig, PROJECTOR_TITLE_WIDTH)
    # Meeting mode is forced on for viewers, who may be on a phone: legends and axis titles fit one, in the larger type.
    fit_legend(fig)
    fit_axis_titles(fig)
    margins = (fig.layout.margin.t or 84) + (fig.layout.margin.b or 40) + 120  # legend and axis titles below
    share = fig.layout.yaxis.domain[1] - fig.layout.yaxis.domain[0] if fig.layout.yaxis.domain else 1.0
    fig.update_layout(height=max(fig.layout.height or 450, round(PROJECTOR_PLOT_HEIGHT / share + margins)))
    return fig


def nothing(sentence: str) -> go.Figure:
    """A chart with nothing to draw: the page shows `sentence` instead (see is_nothing)."""
    return go.Figure(layout=dict(meta={"nothing": sentence}, template="ketamine"))


def is_nothing(fig: go.Figure) -> str | None:
    meta = fig.layout.meta
    return meta.get("nothing") if isinstance(meta, dict) else None


def house_layout(fig: go.Figure, title: str, y_title: str, x_title: str = "Week of treatment series",
            percent: bool = False, height: int = 440) -> go.Figure:
    fig.update_layout(title_text=title, height=height, template="ketamine", showlegend=True)
    fig.update_xaxes(title=x_title)
    # A long axis title on two lines: turned up the side of a phone's short plot, "share of measured sessions" ran
    # up over the filters line.
    fig.update_yaxes(title=two_lines(y_title, 20), rangemode="tozero")
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


def percent_format(*columns) -> str:
    """The d3 format of rates in hover and text: whole percents ("46%") when every rate drawn is one, as the
    disclosure layer leaves them outside an analyst's internal view (docs/metrics.md, "Small cells", rule 3), so a
    rounded rate never reads "46.0%" as if it were exact; a tenth ("45.7%") when the view carries exact rates (an
    internal or unsuppressed view), as its tables show them. Judged on the numbers themselves: a chart draws
    already-suppressed rows and is not told the view."""
    values = [v for column in columns for v in _numbers(column)]
    return ".0%" if all(abs(v * 100 - round(v * 100)) < 1e-9 for v in values) else ".1%"


def count_format(*columns) -> str:
    """The d3 format of an estimated count (expected responders): whole when the view rounds it (to 5, as counts
    are), a tenth when it is exact."""
    values = [v for column in columns for v in _numbers(column)]
    return ",.0f" if all(abs(v - round(v)) < 1e-9 for v in values) else ",.1f"


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


def week_axis(fig: go.Figure, weeks) -> None:
    """Whole weeks only (never 0.5 or 1.6), one tick a week up to 16 weeks."""
    last = max([int(w) for w in weeks if w == w] + [1])
    fig.update_xaxes(tickmode="linear", tick0=0, dtick=1 if last <= 16 else math.ceil(last / 16), tickformat="d",
                     range=[-0.5, last + 0.5])


def n_label_step(weeks, lines: int) -> int:
    """Print a line's n under every step-th week (every week's n is in the hover and the table below the chart):
    on a phone a week is about 12 px wide and "n=384" about 28 px, so 18 weeks of labels ran into one another, and
    one line per site piled three labels on each week. At most about 8 labels a line, and each week's label belongs
    to one line only (line i starts i steps / lines in)."""
    span = max([int(w) for w in weeks if w == w] + [0]) + 1
    if lines == 1:
        return math.ceil(span / 8)
    # Lines' labels two weeks apart or more: a week apart, two lines at a similar height still ran together.
    return lines * max(2, math.ceil(span / 8))


def hidden_legend(min_cell: int | None, unit: str = "series") -> str:
    """What a "hidden" marker means, in the legend of every chart that marks one: a small count, or a count
    hidden so a small one cannot be worked out (a total, a difference)."""
    min_cell = getattr(min_cell, "min_cell", min_cell)  # a threshold or a suppress.Disclosure
    small = f"too few {unit}" if not min_cell or min_cell < 2 else f"1-{min_cell - 1} {unit}" if min_cell > 2 \
        else f"1 {unit[:-1] if unit == 'sessions' else unit}"
    return f"hidden: {small}, or hidden to protect another"


def mark_suppressed(fig: go.Figure, xs, min_cell: int | None = None, unit: str = "series") -> None:
    """A hidden value is marked where its bar would be, never drawn as a zero-height bar."""
    xs = list(xs)
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=[0] * len(xs), mode="markers+text", text=["hidden"] * len(xs),
                                 textposition="top center", textfont=dict(color=GREY, size=11),
                                 marker=dict(symbol="x-thin-open", size=10, color=GREY, line=dict(width=2)),
                                 name=_legend_lines(hidden_legend(min_cell, unit)), hoverinfo="skip"))


def mark_hidden_bars(fig: go.Figure, xs, offsetgroup: str, min_cell: int | None = None, unit: str = "series") -> None:
    """mark_suppressed for grouped bars: the mark sits in the hidden bar's own slot (its trace's offsetgroup), not
    at the centre of the group over the other bars (walk: the adverse-events chart's "hidden" for oral sat on IV's
    and IM's bars). A text-only bar of height 0, since plotly places only bars by offsetgroup; one legend entry."""
    xs = list(xs)
    if xs:
        shown_before = any(t.legendgroup == "hidden" for t in fig.data)
        fig.add_trace(go.Bar(x=xs, y=[0] * len(xs), offsetgroup=offsetgroup, text=["hidden"] * len(xs),
                             textposition="outside", textfont=dict(color=GREY, size=11), cliponaxis=False,
                             marker=dict(color=GREY, line=dict(color=GREY, width=2)), legendgroup="hidden",
                             showlegend=not shown_before, name=_legend_lines(hidden_legend(min_cell, unit)),
                             hoverinfo="skip"))


def _legend_lines(name: str) -> str:
    """A legend entry broken after its comma when it would not fit a phone beside its symbol: Plotly never wraps a
    legend, and on a 390 px screen "… or hidden to protec" was cut at the right edge."""
    if text_width(name, 14) <= NARROWEST - 20:
        return name
    head, _, tail = name.partition(", ")
    return f"{head},<br>{tail}" if tail else name


def two_lines(label: str, longest: int = 14) -> str:
    """A label of more than `longest` characters broken at the space nearest its middle."""
    spaces = [i for i, c in enumerate(label) if c == " "]
    if len(label) <= longest or not spaces:
        return label
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return f"{label[:cut]}<br>{label[cut + 1:]}"


def rate_bars(fig: go.Figure, x, rate, low, high, n, name: str, colour: str, unit: str,
              offsetgroup: str | None = None) -> None:
    """Bars of a rate with its Wilson interval; the n each is out of in the hover (and, by n_over_bars,
    above the interval). `offsetgroup`: the slot a hidden bar of this trace is marked in (mark_hidden_bars)."""
    rate_format = percent_format(rate)
    fig.add_trace(go.Bar(x=list(x), y=rate, name=name, marker_color=colour, offsetgroup=offsetgroup,
                         error_y=dict(type="data", symmetric=False, array=high - rate, arrayminus=rate - low,
                                      thickness=1),
                         customdata=n,
                         hovertemplate="%{x}: %{y:" + rate_format + "} of %{customdata:,} " + unit + "<extra>" + name + "</extra>"))


def n_over_bars(fig: go.Figure, categories: list) -> None:
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


def runs_shown(frame: pd.DataFrame, column: str) -> list[pd.DataFrame]:
    """The stretches of consecutive rows where `column` is shown (a band is drawn per stretch)."""
    shown = frame[column].notna()
    return [rows for _, rows in frame[shown].groupby((~shown).cumsum()[shown])]


def interior_gaps(frame: pd.DataFrame, column: str) -> set:
    """x values hidden between two shown points (a hidden tail is simply where the line stops)."""
    shown = frame[frame[column].notna()]
    if shown.empty:
        return set()
    x = "week" if "week" in frame else "period"
    inside = frame[(frame[x] > shown[x].min()) & (frame[x] < shown[x].max())]
    return set(inside[inside[column].isna()][x])


def mark_gaps(fig: go.Figure, xs, texts: dict | None = None) -> None:
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
