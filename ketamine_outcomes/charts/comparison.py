"""Comparison figures: funnel plots (observed and case-mix adjusted) and the p-chart with its notes."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ketamine_outcomes.kept import drawn_once
from ketamine_outcomes.safe_text import plotly as escape
from ketamine_outcomes.charts.style import GREY, PALETTE, count_format, house_layout, mark_gaps, nothing, text_width


@drawn_once
def funnel(units: pd.DataFrame, curves: pd.DataFrame, label: str) -> go.Figure:
    """Rate against n with 95% and 99.8% limits around the overall rate (Spiegelhalter 2005)."""
    if units.empty:
        return nothing(f"No {label} has enough scored series to place on the funnel (all suppressed).")
    # Placed at the n as shown (rounded under suppression; quality.funnel judged it there too).
    x = "n_shown" if "n_shown" in units else "n"
    n_shown = units[x]
    fig = _funnel_figure(
        units, curves.assign(n_shown=curves.n), label, x=x, y="rate", centre="overall rate",
        details=[units.outside.replace("", "within the limits"), [f"{int(v):,}" for v in n_shown]],
        hover="%{customdata[0]}: %{y:.0%} of %{customdata[2]}<br>%{customdata[1]}<extra></extra>")
    # Taller than most charts: on a phone the wrapped title and the legend's rows left the funnel 90-200 px high.
    return house_layout(fig, f"Funnel plot: end-of-induction response by {label}", "response rate",
                        x_title="series scored at end of induction (n)", percent=True, height=540)


@drawn_once
def adjusted_funnel(groups: pd.DataFrame, curves: pd.DataFrame, label: str) -> go.Figure:
    """Observed / expected responders against expected responders, with 95% and 99.8% limits around 1: the raw
    funnel's groups after case-mix adjustment (casemix.adjusted_comparison). `groups` holds only groups shown."""
    if groups.empty:
        return nothing(f"No {label} has enough scored series to place on the adjusted funnel (all suppressed).")
    fig = _funnel_figure(
        groups, curves, label, x="expected", y="ratio", centre="as expected (1)",
        details=[groups.observed.astype(str), groups.outside.replace("", "within the limits")],
        # Expected responders as the view gives them: rounded to 5 outside an internal view, so "45", not "45.0".
        hover="%{customdata[0]}: %{customdata[1]} responders, %{x:" + count_format(groups.expected)
              + "} expected (ratio %{y:.2f})<br>%{customdata[2]}<extra></extra>")
    return house_layout(fig, f"Adjusted for case mix: observed / expected responders by {label}",
                        "observed / expected", x_title="expected responders (from the case-mix model)", height=540)


def _funnel_figure(points: pd.DataFrame, curves: pd.DataFrame, label: str, x: str, y: str, centre: str,
                   details: list, hover: str) -> go.Figure:
    """The funnel both builders draw: limit lines along `curves[x]`, then the points within and outside the
    limits. `details`: per point, the hover's columns after its name (customdata[1], [2])."""
    fig = go.Figure()
    if not curves.empty:
        for level, dash in (("99.8%", "dot"), ("95%", "dash")):
            for side in ("lower", "upper"):
                fig.add_trace(go.Scatter(x=curves[x], y=curves[f"{side}_{level}"], mode="lines",
                                         line=dict(color=GREY, dash=dash, width=1), name=f"{level} limits",
                                         legendgroup=level, showlegend=side == "upper", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=curves[x], y=curves.centre, mode="lines", line=dict(color="#1f2430"),
                                 name=centre, hoverinfo="skip"))
    names = np.array([escape(g) for g in points.group], dtype=object)
    details = [np.array(list(column), dtype=object) for column in details]
    outside = points.outside.str.startswith(("above", "below")).to_numpy()
    # Every point is named, adjusted or not (a projected screen has no hover), each name placed where it covers no
    # other name and no point on a phone's plot (on a wider screen the points only move apart).
    lines = [v for c in curves.columns if c == "centre" or c.startswith(("lower_", "upper_")) for v in curves[c]]
    position = np.array(_name_positions(points[x].tolist(), points[y].tolist(), names.tolist(),
                                        x_span=points[x].tolist() + (curves[x].tolist() if not curves.empty else []),
                                        y_span=points[y].tolist() + [v for v in lines if v == v]), dtype=object)
    for is_outside, name, colour, symbol in ((False, f"{label} within limits", PALETTE[0], "circle"),
                                             (True, f"{label} outside limits", PALETTE[3], "diamond")):
        chosen = outside == is_outside
        rows = points[chosen]
        if rows.empty:
            continue
        shown = names[chosen].tolist()
        fig.add_trace(go.Scatter(
            x=rows[x], y=rows[y], mode="markers+text", text=shown, textposition=position[chosen].tolist(),
            cliponaxis=False, marker=dict(size=12, color=colour, symbol=symbol),
            name=name, customdata=np.stack([shown] + [d[chosen].tolist() for d in details], axis=1),
            hovertemplate=hover))
    return fig


NAME_SIZE = 14  # px: a point's name on a phone (the template's text)
# A funnel's plot on a 390 px phone: 540 px high less the wrapped title, the x axis and the legend; 350 px wide less
# the side margins. Names placed apart there are apart on any wider screen.
PHONE_PLOT = (262, 280)
PLACES = ("top center", "bottom center", "middle right", "middle left", "top right", "top left", "bottom right",
          "bottom left")
MARKER = 7  # px from a point's centre to the edge of its marker (size 12) and a little air


def _name_positions(xs: list, ys: list, names: list, x_span: list, y_span: list) -> list[str]:
    """Where each point's name goes (a Plotly textposition): the first of PLACES (above, below, right, left, then
    the corners) where, on a phone's plot, it covers no point and no name placed before; higher points choose first.
    When every place covers something, the one that covers least. The walk found "Riverside" printed over
    "Lakeview" at 390 px, and two sites at (40, 1.04) and (40, 1.06) whose names sat on one another."""
    width, height = PHONE_PLOT
    low_x, high_x = min(x_span), max(x_span)
    low_y, high_y = min(y_span), max(y_span)

    def pixel(x, y) -> tuple[float, float]:  # left to right, top to bottom
        return ((x - low_x) / ((high_x - low_x) or 1) * width, (high_y - y) / ((high_y - low_y) or 1) * height)
    centres = [pixel(x, y) for x, y in zip(xs, ys)]
    taken = [(cx - MARKER, cy - MARKER, cx + MARKER, cy + MARKER) for cx, cy in centres]
    chosen: dict[int, str] = {}
    for i in sorted(range(len(xs)), key=lambda i: (-ys[i], xs[i])):
        boxes = {place: _name_box(centres[i], names[i], place) for place in PLACES}
        cost = {place: sum(_overlap(box, other) for other in taken) + _outside_figure(box, width)
                for place, box in boxes.items()}
        place = next((p for p in PLACES if cost[p] == 0), min(PLACES, key=lambda p: cost[p]))
        chosen[i] = place
        taken.append(boxes[place])
    return [chosen[i] for i in range(len(xs))]


def _name_box(centre: tuple[float, float], name: str, place: str) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom, px) a name takes at a Plotly textposition around its point."""
    cx, cy = centre
    w, h = text_width(name, NAME_SIZE), NAME_SIZE * 1.25
    vertical, horizontal = place.split()
    top = cy - MARKER - h if vertical == "top" else cy + MARKER if vertical == "bottom" else cy - h / 2
    left = cx - w / 2 if horizontal == "center" else cx + MARKER if horizontal == "right" else cx - MARKER - w
    return left, top, left + w, top + h


def _overlap(a: tuple, b: tuple) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _outside_figure(box: tuple, width: float) -> float:
    """How much of a name would fall off the figure: past the plot's right edge by more than the right margin (24
    px), or left of it by more than the left margin's room beside the y axis' labels (about 20 px)."""
    height = box[3] - box[1]
    return (max(0.0, box[2] - width - 24) + max(0.0, -20 - box[0])) * height * 4


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
    # Named as the upper line is, though out of the legend: its hover read "trace 1" (walk, p-chart on a phone).
    fig.add_trace(go.Scatter(x=chart.period, y=chart.lower, mode="lines", line=dict(color=GREY, dash="dash"),
                             name="control limits", showlegend=False, legendgroup="limits", line_shape="hv"))
    fig.add_trace(go.Scatter(x=chart.period, y=chart.centre, mode="lines", line=dict(color="#1f2430"), name="mean"))
    special = closed.signals != ""
    fig.add_trace(go.Scatter(x=closed.period, y=closed.rate, mode="lines+markers", name="rate",
                             line=dict(color=PALETTE[0]),
                             marker=dict(size=10, color=[PALETTE[3] if s else PALETTE[0] for s in special],
                                         symbol=["diamond" if s else "circle" for s in special]),
                             # n as shown (rounded under suppression), not the exact n the point is placed by
                             customdata=closed[["n_shown" if "n_shown" in closed else "n", "signals"]].values,
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
            cliponaxis=False, customdata=provisional.n_shown if "n_shown" in provisional else provisional.n,
            hovertemplate="%{x}: %{y:.0%} of %{customdata} so far (still open: not in the mean or the limits)"
                          "<extra></extra>"))
    mark_gaps(fig, chart.period[chart.hidden] if "hidden" in chart else [])
    fig = house_layout(fig, title, "response rate", x_title=f"{period} the series started", percent=True)
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
