"""Every chart the dashboard draws: pure functions from mart rows (already suppressed) to a Plotly
figure. No Streamlit here, so each can be tested and reused by a report."""

import pandas as pd
import plotly.graph_objects as go

from ketamine_outcomes import safe_text

PALETTE = ("#1f6f8b", "#e07a5f", "#3d405b", "#81b29a", "#f2cc8f", "#9c6644", "#6d597a", "#457b9d")
BAND_COLOURS = ("#eef6ee", "#f7f4e6", "#fbeedd", "#f9e0d4", "#f5d0cd")


def _layout(fig: go.Figure, title: str, y_title: str, x_title: str = "Week of treatment series",
            percent: bool = False, height: int = 420) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=60, b=50), template="plotly_white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title, tickformat=".0%" if percent else None, rangemode="tozero")
    return fig


def empty(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=16), x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig.update_layout(height=240, template="plotly_white")


def trajectory(lines: dict[str, pd.DataFrame], bands: pd.DataFrame, instrument: str, max_score: int,
               spaghetti: pd.DataFrame | None = None, itt: pd.DataFrame | None = None) -> go.Figure:
    """Mean score by week with a 95% CI band per line, n under each point, severity bands shaded."""
    fig = go.Figure()
    for i, band in enumerate(bands.itertuples()):
        fig.add_hrect(y0=band.band_min - 0.5 if band.band_min else 0, y1=band.band_max + 0.5,
                      fillcolor=BAND_COLOURS[i % len(BAND_COLOURS)], opacity=0.6, line_width=0, layer="below",
                      annotation_text=band.band, annotation_position="right", annotation_font_size=10)
    if spaghetti is not None and not spaghetti.empty:
        for series_id, rows in spaghetti.groupby("series_id", sort=False):
            fig.add_trace(go.Scatter(x=rows.week, y=rows.score, mode="lines", line=dict(color="#999", width=0.6),
                                     opacity=0.35, hoverinfo="skip", showlegend=False, name=str(series_id)))
    # Weeks hidden by small-cell suppression keep their row with a missing mean: the line breaks there
    # (no straight segment across them) and the gap is labelled.
    gaps: set = set()
    for i, (name, weekly) in enumerate(lines.items()):
        colour = PALETTE[i % len(PALETTE)]
        weekly = weekly.sort_values("week")
        if weekly.mean_score.isna().all():
            continue
        for segment in _runs_shown(weekly, "mean_score"):
            fig.add_trace(go.Scatter(
                x=list(segment.week) + list(segment.week[::-1]),
                y=list(segment.mean_ci_high) + list(segment.mean_ci_low[::-1]),
                fill="toself", fillcolor=colour, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                showlegend=False, name=f"{name} 95% CI"))
        fig.add_trace(go.Scatter(
            x=weekly.week, y=weekly.mean_score, mode="lines+markers+text", name=name, line=dict(color=colour, width=3),
            text=["" if pd.isna(m) or pd.isna(n) else f"n={int(n)}" for m, n in zip(weekly.mean_score, weekly.n_scored)],
            textposition="bottom center", textfont=dict(size=9, color=colour),
            hovertemplate="week %{x}: mean %{y:.1f}<br>%{text}<extra>" + name + "</extra>"))
        gaps |= _interior_gaps(weekly, "mean_score")
    if itt is not None and not itt.mean_score.isna().all():
        itt = itt.sort_values("week")
        fig.add_trace(go.Scatter(x=itt.week, y=itt.mean_score, mode="lines", name="intention to treat (limited LOCF, then BOCF)",
                                 line=dict(color="#3d405b", dash="dash", width=2)))
        gaps |= _interior_gaps(itt, "mean_score")
    _mark_gaps(fig, sorted(gaps))
    fig = _layout(fig, f"{instrument}: mean score by week (week 0 = baseline)", f"{instrument} score")
    fig.update_yaxes(range=[0, max_score])
    return fig


def rates_by_week(weekly: pd.DataFrame, itt: pd.DataFrame | None, instrument: str) -> go.Figure:
    """Response and remission rate by week with Wilson 95% intervals (observed; ITT dashed)."""
    fig = go.Figure()
    gaps: set = set()
    for column, label, colour in (("response_rate", "response", PALETTE[0]), ("remission_rate", "remission", PALETTE[1])):
        rows = weekly[weekly.week > 0].sort_values("week")
        gaps |= _interior_gaps(rows, column)
        if not rows[column].isna().all():
            fig.add_trace(go.Scatter(
                x=rows.week, y=rows[column], mode="lines+markers", name=f"{label} (observed)",
                line=dict(color=colour, width=3),
                error_y=dict(type="data", symmetric=False, array=rows[f"{column}_high"] - rows[column],
                             arrayminus=rows[column] - rows[f"{column}_low"], thickness=1),
                customdata=rows.n_paired, hovertemplate="week %{x}: %{y:.0%} of %{customdata} paired<extra></extra>"))
        if itt is not None:
            rows = itt[itt.week > 0].sort_values("week")
            gaps |= _interior_gaps(rows, column)
            if not rows[column].isna().all():
                fig.add_trace(go.Scatter(x=rows.week, y=rows[column], mode="lines", name=f"{label} (intention to treat, NRI)",
                                         line=dict(color=colour, dash="dash")))
    _mark_gaps(fig, sorted(gaps))
    return _layout(fig, f"{instrument}: response and remission by week", "share of series", percent=True)


def end_of_induction(rates: pd.DataFrame, references: pd.DataFrame, instrument: str) -> go.Figure:
    """This clinic's end-of-induction response and remission with 95% CIs, beside the published range."""
    fig = go.Figure()
    for measure, colour in (("response", PALETTE[0]), ("remission", PALETTE[1])):
        ref = references[references.instrument == instrument][f"{measure}_rate"] if not references.empty else []
        if len(ref):
            fig.add_trace(go.Bar(x=[measure], y=[max(ref) - min(ref)], base=[min(ref)], marker_color="#cccccc",
                                 opacity=0.6, width=0.7, name="published range", showlegend=measure == "response",
                                 hovertext=", ".join(references[references.instrument == instrument].study),
                                 hovertemplate="published %{base:.0%} to %{y:.0%}<br>%{hovertext}<extra></extra>"))
        for kind, dash in (("", "observed"), ("itt_", "intention to treat")):
            value = rates[f"{kind}{measure}_rate"].iloc[0] if not rates.empty else None
            if value is None or value != value:
                continue
            fig.add_trace(go.Scatter(
                x=[measure], y=[value], mode="markers", name=dash, showlegend=measure == "response",
                marker=dict(size=16, color=colour, symbol="circle" if not kind else "diamond-open"),
                error_y=dict(type="data", symmetric=False, array=[rates[f"{kind}{measure}_rate_high"].iloc[0] - value],
                             arrayminus=[value - rates[f"{kind}{measure}_rate_low"].iloc[0]]),
                hovertemplate=f"{dash}: %{{y:.0%}}<extra></extra>"))
    fig = _layout(fig, f"End of induction ({instrument}): this clinic vs published real-world results",
                  "share of series", x_title="", percent=True, height=380)
    fig.update_layout(barmode="overlay")
    return fig


def attrition(frame: pd.DataFrame) -> go.Figure:
    sessions = frame[frame.stage == "session"].dropna(subset=["share_of_started"])
    fig = go.Figure(go.Bar(x=sessions.step, y=sessions.share_of_started, marker_color=PALETTE[0],
                           text=[f"{v:.0%}" for v in sessions.share_of_started], textposition="outside",
                           hovertemplate="session %{x}: %{y:.0%} of series<extra></extra>"))
    return _layout(fig, "Attrition: share of series reaching each completed session", "share of series started",
                   x_title="Completed session", percent=True, height=340)


def waterfall(summary: pd.DataFrame, instrument: str) -> go.Figure:
    """% change from baseline at end of induction, one bar per series, best to worst."""
    rows = summary.dropna(subset=["end_pct_change"]).sort_values("end_pct_change", ascending=False)
    colours = [PALETTE[1] if s == "remission" else PALETTE[0] if s == "response" else "#b0b0b0" for s in rows.end_status]
    fig = go.Figure(go.Bar(x=list(range(len(rows))), y=rows.end_pct_change, marker_color=colours,
                           customdata=rows.end_status, hovertemplate="%{y:.0%}: %{customdata}<extra></extra>"))
    fig.add_hline(y=-0.5, line_dash="dash", annotation_text="response threshold (-50%)")
    fig = _layout(fig, f"{instrument}: change from baseline at end of induction, per series", "change from baseline",
                  x_title="series, ordered by change", percent=True)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(rangemode="normal")
    return fig


def band_transitions(frame: pd.DataFrame, instrument: str) -> go.Figure:
    """Stacked bars: for each baseline severity band, the band at end of induction."""
    fig = go.Figure()
    order = frame.drop_duplicates("baseline_band").sort_values("baseline_band_min").baseline_band.tolist()
    ends = frame.drop_duplicates("end_band").sort_values("end_band_min")
    for i, end in enumerate(ends.end_band):
        rows = frame[frame.end_band == end]
        fig.add_trace(go.Bar(x=rows.baseline_band, y=rows.n_series, name=f"end: {end}",
                             marker_color=PALETTE[i % len(PALETTE)]))
    fig = _layout(fig, f"{instrument}: severity at baseline and at end of induction", "series",
                  x_title="severity at baseline")
    fig.update_layout(barmode="stack")
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    return fig


def time_to_response(first_responses: pd.DataFrame) -> go.Figure:
    """Series by the week they first met response (rows: week, n_series)."""
    counts = first_responses.dropna(subset=["n_series"])
    fig = go.Figure(go.Bar(x=counts.week, y=counts.n_series, marker_color=PALETTE[0],
                           hovertemplate="week %{x}: %{y} series first responded<extra></extra>"))
    return _layout(fig, "Week of first response", "series", height=320)


def adverse_events(frame: pd.DataFrame, by_label: str) -> go.Figure:
    fig = go.Figure()
    for i, (group, rows) in enumerate(frame.groupby("group_value", sort=False)):
        fig.add_trace(go.Bar(x=rows.event, y=rows.event_rate, name=str(group), marker_color=PALETTE[i % len(PALETTE)],
                             error_y=dict(type="data", symmetric=False, array=rows.event_rate_high - rows.event_rate,
                                          arrayminus=rows.event_rate - rows.event_rate_low, thickness=1),
                             hovertemplate="%{x}: %{y:.1%} of sessions<extra>" + str(group) + "</extra>"))
    fig = _layout(fig, f"Adverse events per completed session, by {by_label}", "share of sessions", x_title="",
                  percent=True)
    fig.update_layout(barmode="group")
    return fig


def adverse_events_by_session(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for i, (event, rows) in enumerate(frame.groupby("event")):
        rows = rows.sort_values("group_order")
        fig.add_trace(go.Scatter(x=rows.group_value, y=rows.event_rate, mode="lines+markers", name=event,
                                 line=dict(color=PALETTE[i % len(PALETTE)])))
    return _layout(fig, "Adverse events by session number", "share of sessions", x_title="session number",
                   percent=True)


def blood_pressure(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Bar(x=frame.route, y=frame.peak_180_rate, marker_color=PALETTE[1],
                           customdata=frame.max_peak,
                           hovertemplate="%{x}: %{y:.1%} of measured sessions, highest %{customdata} mmHg<extra></extra>"))
    return _layout(fig, "Sessions with a systolic peak of 180 mmHg or more", "share of measured sessions",
                   x_title="route", percent=True, height=340)


def funnel(units: pd.DataFrame, curves: pd.DataFrame, label: str) -> go.Figure:
    """Rate against n with 95% and 99.8% limits around the overall rate (Spiegelhalter 2005)."""
    fig = go.Figure()
    if not curves.empty:
        for level, dash in (("99.8%", "dot"), ("95%", "dash")):
            for side in ("lower", "upper"):
                fig.add_trace(go.Scatter(x=curves.n, y=curves[f"{side}_{level}"], mode="lines",
                                         line=dict(color="#777", dash=dash, width=1), name=f"{level} limits",
                                         showlegend=side == "upper", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=curves.n, y=curves.centre, mode="lines", line=dict(color="#333"),
                                 name="overall rate", hoverinfo="skip"))
    colours = [PALETTE[1] if o.startswith(("above", "below")) else PALETTE[0] for o in units.outside]
    fig.add_trace(go.Scatter(x=units.n, y=units.rate, mode="markers+text", text=[safe_text.plotly(g) for g in units.group],
                             textposition="top center",
                             marker=dict(size=12, color=colours), name=label,
                             customdata=units.outside,
                             hovertemplate="%{text}: %{y:.0%} of %{x}<br>%{customdata}<extra></extra>"))
    return _layout(fig, f"Funnel plot: end-of-induction response by {label}", "response rate",
                   x_title="series scored at end of induction (n)", percent=True)


def p_chart(chart: pd.DataFrame, title: str, period: str = "month") -> go.Figure:
    """Monthly rate with centre line, 3-sigma limits, and special-cause points flagged."""
    fig = go.Figure()
    if chart.empty:
        return empty("No months with evaluable series")
    fig.add_trace(go.Scatter(x=chart.period, y=chart.upper, mode="lines", line=dict(color="#777", dash="dash"),
                             name="control limits", line_shape="hv"))
    fig.add_trace(go.Scatter(x=chart.period, y=chart.lower, mode="lines", line=dict(color="#777", dash="dash"),
                             showlegend=False, line_shape="hv"))
    fig.add_trace(go.Scatter(x=chart.period, y=chart.centre, mode="lines", line=dict(color="#333"), name="mean"))
    special = chart.signals != ""
    fig.add_trace(go.Scatter(x=chart.period, y=chart.rate, mode="lines+markers", name="rate",
                             line=dict(color=PALETTE[0]),
                             marker=dict(size=10, color=[PALETTE[1] if s else PALETTE[0] for s in special]),
                             customdata=chart[["n", "signals"]].values,
                             hovertemplate="%{x}: %{y:.0%} of %{customdata[0]}<br>%{customdata[1]}<extra></extra>"))
    _mark_gaps(fig, chart.period[chart.hidden] if "hidden" in chart else [])
    fig = _layout(fig, title, "response rate", x_title=f"{period} the series started", percent=True)
    fig.update_xaxes(type="category")
    return fig


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


def _mark_gaps(fig: go.Figure, xs) -> None:
    """Label the places where a point is hidden by small-cell suppression (lines break there: the
    traces carry a missing value and Plotly does not connect across it)."""
    for x in xs:
        fig.add_annotation(x=x, y=0, yref="paper", yanchor="bottom", text="hidden", showarrow=False,
                           font=dict(color="#777"), textangle=-90)
