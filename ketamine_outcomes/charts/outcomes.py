"""Outcome figures: trajectories, response and remission by week and at end of induction, attrition,
change from baseline, severity transitions, time to response and survival curves, one series' scores, the
published results per route, and the NHS Talking Therapies measures with the national standard."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ketamine_outcomes.kept import drawn_once
from ketamine_outcomes.definitions import remission_term
from ketamine_outcomes.safe_text import plotly as escape
from ketamine_outcomes.charts.style import (
    BAND_TINTS, GREY, PALETTE, SEQUENTIAL, interior_gaps, house_layout, mark_gaps, mark_suppressed,
    n_label_step, percent_format, runs_shown, two_lines, week_axis, nothing,
)


@drawn_once
def trajectory(lines: dict[str, pd.DataFrame], bands: pd.DataFrame, instrument: str, max_score: int,
               spaghetti: pd.DataFrame | None = None, itt: pd.DataFrame | None = None) -> go.Figure:
    """Mean score by week with a 95% CI band per line, n under each point, severity bands shaded. A week where a
    line had series scored but its mean is hidden is marked "hidden", naming the lines when not all of them hide it,
    up to the axis' end (the last week with a mean shown)."""
    # Weeks hidden by small-cell suppression keep their row with a missing mean: the line breaks there (no
    # straight segment across them) and an interior gap is labelled.
    drawn = {name: weekly.sort_values("week") for name, weekly in lines.items() if weekly.mean_score.notna().any()}
    if not drawn:
        return nothing(f"No {instrument} week has enough series to show a mean (every week is suppressed or empty).")
    fig = go.Figure()
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
    step = n_label_step([w for weekly in drawn.values() for w in weekly.dropna(subset=["mean_score"]).week], len(drawn))
    for i, (name, weekly) in enumerate(drawn.items()):
        colour = PALETTE[i % len(PALETTE)]
        label = escape(name)

        def labelled(week, i=i) -> bool:
            return (int(week) - i * step // len(drawn)) % step == 0
        for segment in runs_shown(weekly, "mean_score"):
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
    weeks = [w for weekly in drawn.values() for w in weekly.dropna(subset=["mean_score"]).week]
    # Every week up to the axis' end where a line had series scored but its mean is hidden gets a mark naming that
    # line (the walk: Lakeview's week 11 hidden at the end of its line read as "no data", and "hidden" over week 1
    # when only oral hid it).
    hidden: dict = {}
    for name, weekly in drawn.items():
        for week in _hidden_weeks(weekly, "mean_score", "n_scored", max(weeks)):
            hidden.setdefault(week, []).append(escape(name))
    names = [escape(name) for name in drawn]
    if itt is not None and not itt.dropna(subset=["mean_score"]).empty:
        # Only over the observed weeks: carried-forward scores run on for months and would stretch the axis.
        itt = itt[itt.week <= max(weeks)].sort_values("week")
        fig.add_trace(go.Scatter(x=itt.week, y=itt.mean_score, mode="lines",
                                 name="intention to treat (limited LOCF, then BOCF)",
                                 line=dict(color=GREY, dash="dash", width=2)))
        names.append("intention to treat")
        for week in interior_gaps(itt, "mean_score"):
            hidden.setdefault(week, []).append("intention to treat")
        _mark_itt_end(fig, itt, weeks)
    mark_gaps(fig, sorted(hidden), {week: _hidden_names(hiding, names) for week, hiding in hidden.items()})
    fig = house_layout(fig, f"{instrument}: mean score by week (week 0 = baseline)", f"{instrument} score")
    fig.update_yaxes(range=[0, max_score])
    week_axis(fig, weeks)
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
    mark_gaps(fig, sorted(hidden), {week: _hidden_lines(names, lines) for week, names in hidden.items()})
    fig = house_layout(fig, f"{instrument}: response and {term} by week", "share of series", percent=True)
    week_axis(fig, observed_weeks)
    return fig


def _mark_itt_end(fig: go.Figure, itt: pd.DataFrame, weeks: list) -> None:
    """A dotted line where intention to treat ends (the end of induction, weekly_outcomes_itt) when observed weeks
    go on past it: the weeks after it are observed follow-up, a group that shrinks, not the whole cohort."""
    if itt.empty or not weeks or max(weeks) <= itt.week.max():
        return
    fig.add_vline(x=int(itt.week.max()), line=dict(color=GREY, dash="dot", width=1),
                  # On three lines: on one it ran 330 px, past a phone's plot.
                  annotation_text="end of induction:<br>intention to treat ends;<br>after it, observed follow-up only",
                  annotation_position="top left", annotation_font=dict(size=10, color=GREY))


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


def _hidden_names(hiding: list[str], lines: list[str]) -> str:
    """A week's hidden marker on a chart of named lines: "hidden" when every line drawn hides it, else which
    ("hidden: oral", "hidden: Lakeview, Riverside")."""
    if set(lines) <= set(hiding):
        return "hidden"
    observed = [line for line in lines if line != "intention to treat"]
    if observed and set(observed) <= set(hiding) and "intention to treat" not in hiding:
        return "hidden: observed"  # every observed line, the dashed one shown: shorter than naming each site
    return "hidden: " + ", ".join(dict.fromkeys(hiding))


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
    fig = house_layout(fig, f"End of induction ({instrument}): this clinic{beside}",
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
    mark_suppressed(fig, sessions[sessions.share_of_started.isna()].step, min_cell)
    fig = house_layout(fig, "Attrition: share of series reaching each completed session", "share of series started",
                  x_title="Completed session", percent=True, height=360)
    # A share stops at 100%: left to autorange, room for the "100%" above the first bar drew a 120% tick.
    fig.update_yaxes(range=[0, 1.1])
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=1, tickformat="d")
    return fig


@drawn_once
def change_distribution(bins: pd.DataFrame, total: str, instrument: str, response_fraction: float,
                        min_cell: int = 0) -> go.Figure:
    """How much each series changed from baseline at end of induction: a distribution (series per 10-point
    band of % change), coloured by end status. One bar per series would mean 50,000 bars at 100k patients.
    `bins` (status, bin_low, bin_high, n_series as shown, hidden) and `total` (the title's count in words) come
    already suppressed (disclosure/response_panels.change_bins): a hidden bar is not drawn but marked."""
    if bins.empty:
        return nothing(f"No series has an end-of-induction {instrument} score yet.")
    fig = go.Figure()
    for status, colour in (("remission", PALETTE[2]), ("response", PALETTE[0]), ("no response", "#9e9e9e")):
        rows = bins[bins.status == status]
        name = remission_term(instrument) if status == "remission" else status
        drawn = [None if hidden else int(n) for n, hidden in zip(rows.n_series, rows.hidden)]
        fig.add_trace(go.Bar(x=rows.bin_low + 0.05, y=drawn, width=0.095, name=name, marker_color=colour,
                             customdata=np.stack([rows.bin_low, rows.bin_high], axis=1),
                             hovertemplate="%{customdata[0]:.0%} to %{customdata[1]:.0%}: %{y} series<extra>"
                                           + name + "</extra>"))
    mark_suppressed(fig, sorted(set(np.round(bins.bin_low[bins.hidden] + 0.05, 2))), min_cell)
    fig.add_vline(x=response_fraction - 1, line_dash="dash", line_color=GREY,
                  annotation_text=f"response: {1 - response_fraction:.0%} fall",
                  annotation_font_color=GREY)
    fig = house_layout(fig, f"{instrument}: change from baseline at end of induction ({total})", "series",
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
    mark_suppressed(fig, hidden, min_cell)
    fig = house_layout(fig, f"{instrument}: severity at baseline and at end of induction", "series",
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
    mark_suppressed(fig, first_responses[first_responses.n_series.isna()].week, min_cell)
    # Named for its instrument, as every other chart of the page is (the first response is on that questionnaire).
    title = f"{instrument}: week of first response" if instrument else "Week of first response"
    fig = house_layout(fig, title, "series", height=340)
    week_axis(fig, first_responses.week)
    return fig


@drawn_once
def survival_curve(curves: pd.DataFrame, value: str, title: str, y_title: str, x_title: str,
                   what: str) -> go.Figure:
    """Kaplan-Meier step curves, one per group (rows: group_value, day, n_at_risk, `value`, median_text; as
    disclosure/suppress.survival_curve leaves them, truncated by suppression), with the number at risk under the
    plot at regular days and the median in each legend entry. `value`: 'survival' (falls from 1) or 'share_responded' (rises from 0)."""
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
        median_text = "median " + rows.median_text.iloc[0]
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


def series_scores(scores: pd.DataFrame, bands: pd.DataFrame, instrument: str, max_score: int,
                  expected: pd.DataFrame | None = None, response_at: float | None = None) -> go.Figure:
    """One series' scores by week (week 0 = baseline) over the instrument's severity bands, with the middle half
    of the scores of the clinic's closed series with a similar baseline (care.expected_range) and the score at
    which the series would count as responding."""
    rows = scores.sort_values("week")
    if rows.empty:
        return nothing(f"This series has no {instrument} score.")
    fig = go.Figure()
    # The bands and the response line are written as the shapes and labels add_hrect and add_hline would make, in
    # one step: those helpers re-validate the whole layout at each call (70 ms of a 75 ms figure, sample clinic).
    shapes, labels = [], []
    for i, band in enumerate(bands.itertuples()):
        low, high = (band.band_min - 0.5 if band.band_min else 0), band.band_max + 0.5
        shapes.append(dict(type="rect", xref="x domain", yref="y", x0=0, x1=1, y0=low, y1=high, layer="below",
                           fillcolor=BAND_TINTS[i % len(BAND_TINTS)], opacity=1, line=dict(width=0)))
        labels.append(dict(text=escape(band.band), xref="x domain", yref="y", x=1, y=(low + high) / 2,
                           xanchor="right", yanchor="middle", showarrow=False, font=dict(size=11, color=GREY)))
    weeks = list(rows.week)
    if expected is not None and not expected.empty:
        # Every week keeps its place: a week with too few similar series is a gap, never a line across it.
        expected = expected[expected.week <= max(weeks) + 2]
        expected = expected.set_index("week").reindex(range(int(expected.week.max()) + 1) if len(expected) else []
                                                      ).rename_axis("week").reset_index()
        for segment in runs_shown(expected, "median"):
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
        shapes.append(dict(type="line", xref="x domain", yref="y", x0=0, x1=1, y0=response_at, y1=response_at,
                           line=dict(color=GREY, dash="dash", width=1)))
        labels.append(dict(text=f"response at {response_at:g} or below", xref="x domain", yref="y", x=0,
                           y=response_at, xanchor="left", yanchor="bottom", showarrow=False,
                           font=dict(size=11, color=GREY)))
    if shapes:
        fig.update_layout(shapes=shapes, annotations=labels)
    fig.add_trace(go.Scatter(
        x=rows.week, y=rows.score, mode="lines+markers", name="this series", line=dict(color=PALETTE[0], width=3),
        marker=dict(size=9), customdata=rows[["band"]].fillna("").map(escape).values,
        hovertemplate="week %{x}: %{y} (%{customdata[0]})<extra></extra>"))
    fig = house_layout(fig, f"{instrument}: this series by week (week 0 = baseline)", f"{instrument} score")
    fig.update_yaxes(range=[0, max_score])
    week_axis(fig, weeks)
    return fig


def published_by_route(by_route: pd.DataFrame, references: pd.DataFrame, instrument: str,
                       min_cell: int | None = None) -> go.Figure:
    """Each route of the clinic that has a published result of its own route: the clinic's observed end-of-induction
    response and remission (cohort_comparison by route, as for_chart leaves it) beside the published figures for
    that route. Not weighted into one clinic-wide reference: an IV paper's figure is never set beside oral series.
    A route whose rate is hidden is marked "hidden" beside its papers."""
    references = references[references.instrument == instrument]
    routes = [r for r in by_route.group_value if r in set(references.route)]
    fig, legend, hidden = go.Figure(), set(), []
    term = remission_term(instrument)
    for measure, label, colour in (("response", "response", PALETTE[0]), ("remission", term, PALETTE[1])):
        for route in routes:
            papers = references[references.route == route]
            x = f"{route}: {label}"
            fig.add_trace(go.Scatter(
                x=[x] * len(papers), y=papers[f"{measure}_rate"], mode="markers", name="published",
                legendgroup="published", showlegend="published" not in legend,
                marker=dict(symbol="line-ew-open", size=34, color=GREY, line=dict(width=3)),
                customdata=[escape(f"{r.study} (n={r.n:,}), {r.reported}") for r in papers.itertuples()],
                hovertemplate="%{customdata}: %{y:.0%}<extra></extra>"))
            legend.add("published")
            row = by_route[by_route.group_value == route].iloc[0]
            value = row[f"{measure}_rate"]
            if value != value:
                hidden.append(x)
                continue
            fig.add_trace(go.Scatter(
                x=[x], y=[value], mode="markers", name=f"this clinic, observed: {label}", legendgroup=measure,
                showlegend=measure not in legend, marker=dict(size=14, color=colour),
                error_y=dict(type="data", symmetric=False, array=[row[f"{measure}_rate_high"] - value],
                             arrayminus=[value - row[f"{measure}_rate_low"]]),
                customdata=[int(row.n_scored)],
                hovertemplate=f"{escape(route)}, this clinic: %{{y:.0%}} of %{{customdata:,}} scored<extra></extra>"))
            legend.add(measure)
    if not {"response", "remission"} & legend:
        return nothing("No route of these series has both a published result and rates that can be shown.")
    mark_suppressed(fig, hidden, min_cell)
    categories = [f"{r}: {m}" for m in ("response", term) for r in routes]
    # Each category is named by its route alone, under a heading per measure above the plot: "intranasal: remission",
    # turned, took a phone's plot down to 60 px under the wrapped title and four legend rows (taller for them too).
    fig.update_xaxes(categoryorder="array", categoryarray=categories, tickmode="array", tickvals=categories,
                     ticktext=[escape(r) for _ in ("response", term) for r in routes])
    for k, measure in enumerate(("response", term)):
        fig.add_annotation(x=k * len(routes) + (len(routes) - 1) / 2, xref="x", y=1, yref="paper", yanchor="bottom",
                           text=escape(measure), showarrow=False, font=dict(color=GREY))
    if routes:
        fig.add_vline(x=len(routes) - 0.5, line=dict(color=GREY, dash="dot", width=1))
    return house_layout(fig, f"End of induction ({instrument}) by route: this clinic vs published results of the same "
                        "route", "share of series scored", x_title="", percent=True, height=520)


TALKING_THERAPIES_MEASURES = {"recovery_rate": "recovery", "reliable_improvement_rate": "reliable improvement",
                              "reliable_recovery_rate": "reliable recovery",
                              "reliable_deterioration_rate": "reliable deterioration",
                              "mcid_improvement_rate": "PHQ-9 fell 5+ (MCID)"}


def talking_therapies(row: pd.Series, standards, min_cell: int | None = None) -> go.Figure:
    """The NHS Talking Therapies measures of one group (a talking_therapies row as for_chart leaves it) among the
    cases who finished a course, with each national standard drawn over its measure (definitions.NATIONAL_STANDARDS:
    measure, value, label)."""
    labels = list(TALKING_THERAPIES_MEASURES.values())
    shown = {label: row[column] for column, label in TALKING_THERAPIES_MEASURES.items() if row[column] == row[column]}
    if not shown:
        return nothing("The NHS Talking Therapies measures are suppressed for this selection (too few cases).")
    fig = go.Figure(go.Bar(x=list(shown), y=list(shown.values()), marker_color=PALETTE[0], name="this clinic",
                           text=[f"{v:.0%}" for v in shown.values()], textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:" + percent_format(list(shown.values()))
                                         + "} of the cases who finished a course<extra></extra>"))
    low, high = row.get("recovery_rate_low"), row.get("recovery_rate_high")
    if "recovery" in shown and low == low and high == high:
        fig.data[0].error_y = dict(type="data", symmetric=False, thickness=1,
                                   array=[high - shown["recovery"] if k == "recovery" else 0 for k in shown],
                                   arrayminus=[shown["recovery"] - low if k == "recovery" else 0 for k in shown])
    for standard in standards:
        x = labels.index(TALKING_THERAPIES_MEASURES[standard["measure"]])
        fig.add_shape(type="line", x0=x - 0.45, x1=x + 0.45, y0=standard["value"], y1=standard["value"],
                      line=dict(color=PALETTE[3], width=3, dash="dash"))
        fig.add_trace(go.Scatter(x=[labels[x]], y=[standard["value"]], mode="markers", name=standard["label"],
                                 marker=dict(symbol="line-ew-open", size=30, color=PALETTE[3], line=dict(width=3)),
                                 hovertemplate=f"{standard['label']}<extra></extra>"))
    mark_suppressed(fig, [label for label in labels if label not in shown], min_cell)
    # Names on two lines ("reliable" over "improvement"), turned only where they would meet, and a taller chart: on
    # one line, turned, they took a phone's plot down to about 80 px.
    fig.update_xaxes(categoryorder="array", categoryarray=labels, tickmode="array", tickvals=labels,
                     ticktext=[two_lines(label, 10) for label in labels])
    fig = house_layout(fig, "PHQ-9 and GAD-7 together: NHS Talking Therapies measures, cases who finished a course",
                  "share of cases",
                  x_title="", percent=True, height=500)
    # A share runs to 100%; room above it only when a bar's label (or the recovery interval) reaches past 90%, and
    # no tick there (an axis to 110% reads as if a share could pass 100%).
    top = max([*shown.values(), *(s["value"] for s in standards), high if high == high and high is not None else 0])
    fig.update_yaxes(range=[0, 1.0 if top <= 0.9 else 1.1], tickmode="array", tickvals=[i / 5 for i in range(6)])
    return fig
