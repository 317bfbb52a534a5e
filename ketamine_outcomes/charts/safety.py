"""Safety figures: protocol adherence, adverse events, blood pressure and its flags, item 9 and
dissociation."""

import pandas as pd
import plotly.graph_objects as go

from ketamine_outcomes.kept import drawn_once
from ketamine_outcomes.definitions import adverse_event_label
from ketamine_outcomes.safe_text import plotly as escape
from ketamine_outcomes.charts.style import (
    GREY, PALETTE, house_layout, mark_hidden_bars, mark_suppressed, n_over_bars, percent_format, rate_bars, two_lines,
    nothing,
)


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
    mark_suppressed(fig, [escape(g) for g in frame[frame.adherence_rate.isna()].group_value], min_cell)
    fig = house_layout(fig, f"Induction protocol adherence by {by_label}", "share of series", x_title=by_label,
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
    groups = list(frame.groupby("group_value", sort=False))
    rate_format = percent_format(frame.event_rate)
    for i, (group, rows) in enumerate(groups):
        label = escape(group)
        fig.add_trace(go.Bar(x=rows.event, y=rows.event_rate, name=label, marker_color=PALETTE[i % len(PALETTE)],
                             offsetgroup=str(i),
                             error_y=dict(type="data", symmetric=False, array=rows.event_rate_high - rows.event_rate,
                                          arrayminus=rows.event_rate - rows.event_rate_low, thickness=1),
                             text=["0" if v == 0 else "" for v in rows.event_rate],
                             textposition="outside", textfont=dict(color=GREY, size=10), cliponaxis=False,
                             hovertemplate="%{x}: %{y:" + rate_format + "} of sessions<extra>" + label + "</extra>"))
    for i, (group, rows) in enumerate(groups):
        mark_hidden_bars(fig, rows.event[rows.event_rate.isna()], str(i), min_cell, "sessions or events")
    fig = house_layout(fig, f"Adverse events per completed session, by {by_label}", "share of sessions", x_title="",
                  percent=True, height=540)
    # A long name on two lines ("increased / blood pressure"), and a taller chart: on a 390 px phone the turned
    # names, the wrapped title and a legend row per group left the bars about 20 px high.
    events = list(dict.fromkeys(frame.event))
    fig.update_xaxes(tickmode="array", tickvals=events, ticktext=[two_lines(escape(e)) for e in events])
    fig.update_layout(barmode="group")
    return fig


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
    fig = house_layout(fig, "Adverse events by session number", "share of sessions", x_title="session number",
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
                           hovertemplate="%{x}: %{y:" + percent_format(shown.high_peak_rate)
                                         + "} of measured sessions, highest %{customdata} mmHg"
                                         "<extra></extra>"))
    mark_suppressed(fig, frame[frame.high_peak_rate.isna()].route, min_cell, "sessions")
    return house_layout(fig, f"Sessions with a systolic peak of {peak} mmHg or more", "share of measured sessions",
                   x_title="route", percent=True, height=360)


# The blood-pressure flags of a session and the item-9 measures, as a reader names them.
BP_FLAGS = {"rise": "rise after dosing", "pre_raised": "raised before dosing"}
ITEM9_MEASURES = {"item9_resolved": "item 9 resolved to 0", "item9_emergent": "item 9 emerged (from 0)",
                  "reliable_deterioration": "reliable deterioration (PHQ-9)"}


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
        rate_bars(fig, shown.route, shown[f"{flag}_rate"], shown[f"{flag}_rate_low"], shown[f"{flag}_rate_high"],
                   shown[n_column], names[flag], PALETTE[i], "sessions with both readings" if flag == "rise"
                   else "sessions with a pre-dose reading", offsetgroup=flag)
    n_over_bars(fig, list(frame.route))
    # After n_over_bars, which places each n by counting the rate bars. Each hidden rate in its own flag's slot.
    for flag in ("rise", "pre_raised"):
        mark_hidden_bars(fig, frame.route[frame[f"{flag}_rate"].isna()], flag, min_cell, "sessions")
    fig = house_layout(fig, "Blood pressure around the dose (Spravato label thresholds)", "share of measured sessions",
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
        rate_bars(fig, [ITEM9_MEASURES[m] for m in shown.measure], shown.measure_rate, shown.measure_rate_low,
                   shown.measure_rate_high, shown.n_series, escape(group), PALETTE[i % len(PALETTE)], "series",
                   offsetgroup=str(i))
    n_over_bars(fig, [ITEM9_MEASURES[m] for m in frame.measure.drop_duplicates()])
    # After n_over_bars (it counts the rate bars): each group's hidden measure in that group's own slot.
    for i, (group, rows) in enumerate(frame.groupby("group_value", sort=False)):
        mark_hidden_bars(fig, [ITEM9_MEASURES[m] for m in rows.measure[rows.measure_rate.isna()]], str(i), min_cell)
    fig = house_layout(fig, "Suicidality over the induction (PHQ-9 item 9)", "share of evaluable series", x_title="",
                  percent=True, height=480)
    fig.update_layout(barmode="group")
    # Each measure on two lines, turned only where they would meet, and a taller chart: on one line, turned, the
    # three names left a phone's plot about 90 px high.
    measures = [ITEM9_MEASURES[m] for m in frame.measure.drop_duplicates()]
    fig.update_xaxes(tickmode="array", tickvals=measures, ticktext=[two_lines(m, 14) for m in measures])
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
            # At most about six: twelve sessions' labels ran into one another on a phone ("n=120n=105"); every
            # session's n is in its hover.
            step = -(-len(rows) // 6)
            for k, (x, high, mean, n) in enumerate(zip(rows.session_number, rows.mean_ci_high, rows.mean_score,
                                                       rows.n_sessions)):
                if mean == mean and k % step == 0:
                    fig.add_annotation(x=x, y=high if high == high else mean, text=f"n={int(n):,}", showarrow=False,
                                       yanchor="bottom", font=dict(color=GREY, size=10))
    fig = house_layout(fig, "Dissociation (CADSS, 0-92) by session number", "mean CADSS", x_title="session number",
                  height=400)
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=1, tickformat="d")
    return fig
