"""Quality-review statistics on mart output: p-charts with NHS "Making Data Count" special-cause rules,
and funnel-plot limits for comparing sites or clinicians without a league table (Spiegelhalter 2005)."""

import math

import pandas as pd


RUN_LENGTH = 7  # points in a row on one side of the mean, or steadily rising or falling
FUNNEL_Z = {"95%": 1.959964, "99.8%": 3.090232}


def p_chart(frame: pd.DataFrame, period: str, k: str, n: str, hidden: pd.Series | None = None,
            still_open: pd.Series | None = None, breaks=(), shown_n=None) -> pd.DataFrame:
    """One row per period with rate, centre line, 3-sigma limits and the special-cause rules it meets.

    Limits: p_bar +/- 3 sqrt(p_bar (1 - p_bar) / n_i), clipped to 0-1. Rules (NHS England, Making Data
    Count): a point outside the limits; 7 or more in a row on one side of the centre line; 7 in a row
    steadily rising or falling; 2 of 3 in a row beyond two-thirds of the way to a limit, on one side.
    Periods with n = 0 are left out.

    `hidden` (suppress.hidden_cells) marks periods that must not be drawn: they stay as rows so a chart
    can show the gap, with no k, n, rate, limits or signal, and the centre line and the runs are
    computed from the shown periods only, so nothing drawn depends on a hidden count.

    `still_open` (open_periods) marks periods still being scored: their rate is provisional (the series
    that finish early are in it, the rest not yet), so it keeps its rate but takes no part in the centre
    line, has no limits and meets no rule; column `still_open` says which.

    `breaks` (periods, chart_notes.breaks): a process change from which the centre line and the limits are
    computed again, as Making Data Count advises after a deliberate change; each stretch between breaks is a
    phase (column `phase`, 0 first) with its own centre, limits and rules (a run does not cross a break).

    `shown_n` (a function of n, suppress.rounded under rounding): the n the chart shows for a period. The limits
    are drawn at it (column `n_shown`), not at the exact n: a limit's width, 3 sqrt(p(1-p)/n), would give the
    exact n back and undo the rounding. The rate and the centre line stay the exact counts' (docs/metrics.md,
    "Small cells"). For n of 11 or more the limit moves by at most a few tenths of a percentage point.
    """
    hidden = pd.Series(False, index=frame.index) if hidden is None else hidden.reindex(frame.index, fill_value=False)
    still_open = pd.Series(False, index=frame.index) if still_open is None else \
        still_open.reindex(frame.index, fill_value=False)
    chart = frame[[period, k, n]].rename(columns={period: "period", k: "k", n: "n"}).assign(
        hidden=hidden.astype(bool), still_open=still_open.astype(bool) & ~hidden.astype(bool))
    chart = chart[chart.n > 0].sort_values("period").reset_index(drop=True)
    chart["n_shown"] = chart.n.map(shown_n) if shown_n else chart.n
    chart["phase"] = [sum(str(p) >= str(b) for b in breaks) for p in chart.period]
    closed = chart[~chart.hidden & ~chart.still_open]
    phases = [_p_chart(rows.drop(columns=["hidden", "still_open"]).reset_index(drop=True))
              for _, rows in closed.groupby("phase", sort=True)]
    shown = pd.concat(phases, ignore_index=True) if phases else _p_chart(
        closed.drop(columns=["hidden", "still_open"]).reset_index(drop=True))
    gaps = chart[chart.hidden][["period", "phase"]].assign(hidden=True)
    provisional = chart[chart.still_open][["period", "phase", "k", "n", "n_shown"]].assign(
        rate=lambda rows: rows.k / rows.n, still_open=True)
    columns = ["period", "k", "n", "n_shown", "rate", "centre", "lower", "upper", "inner_lower", "inner_upper", "signals",
               "phase"]
    parts = [part for part in (shown.assign(hidden=False), gaps, provisional.assign(hidden=False)) if not part.empty]
    merged = pd.concat(parts, ignore_index=True) if parts else shown.assign(hidden=False)
    merged = merged.reindex(columns=[*columns, "hidden", "still_open"]).sort_values("period").reset_index(drop=True)
    # Each phase's centre line runs under its hidden and still-open periods too (nothing there depends on them).
    centres = shown.groupby("phase").centre.first() if not shown.empty else pd.Series(dtype=float)
    merged["centre"] = merged.phase.map(centres).astype(float)
    merged["signals"] = merged.signals.astype(object).fillna("")
    merged["hidden"] = merged.hidden.astype(bool)
    merged["still_open"] = merged.still_open.astype(object).fillna(False).astype(bool)
    return merged


def open_periods(periods: pd.DataFrame) -> pd.Series:
    """Which periods (rows of cohort_comparison by start month or quarter) are still being scored: a series started
    in them is still within its end-of-induction window (the complement of closed_periods)."""
    return (periods.n_series > 0) & (periods.n_evaluable < periods.n_series)


def no_signal_sentence(chart: pd.DataFrame, grain: str) -> str:
    """What to say when no shown period of a p_chart meets a special-cause rule. "Common cause" is a finding
    about variation between periods: with fewer than two shown there is none to judge, not none found."""
    shown = int((~chart.hidden & ~chart.still_open & chart.rate.notna()).sum())
    if shown == 0:
        return f"No signal can be judged: no {grain} has enough series to show (small-cell suppression)."
    if shown == 1:
        return f"No signal can be judged: only one {grain} can be shown, and a p-chart compares several."
    return f"None: the variation from {grain} to {grain} is what chance alone would give (common cause)."


def _p_chart(chart: pd.DataFrame) -> pd.DataFrame:
    if chart.empty:
        return chart.assign(rate=[], centre=[], lower=[], upper=[], inner_lower=[], inner_upper=[], signals=[])
    p_bar = chart.k.sum() / chart.n.sum()
    sigma = (p_bar * (1 - p_bar) / (chart.n_shown if "n_shown" in chart else chart.n)).pow(0.5)
    chart["rate"] = chart.k / chart.n
    chart["centre"] = p_bar
    chart["upper"] = (p_bar + 3 * sigma).clip(upper=1)
    chart["lower"] = (p_bar - 3 * sigma).clip(lower=0)
    chart["inner_upper"] = p_bar + 2 * sigma
    chart["inner_lower"] = p_bar - 2 * sigma
    signals: list[list[str]] = [[] for _ in range(len(chart))]

    def mark(indices, rule):
        for i in indices:
            if rule not in signals[i]:
                signals[i].append(rule)

    rates = chart.rate.tolist()
    for i, row in chart.iterrows():
        if row.rate > row.upper or row.rate < row.lower:
            mark([i], "outside limits")
    side = [0 if r == p_bar else (1 if r > p_bar else -1) for r in rates]
    _runs(side, lambda a, b: a == b != 0, RUN_LENGTH, lambda run: mark(run, "run of 7 on one side"))
    steps = [0] + [(1 if b > a else -1 if b < a else 0) for a, b in zip(rates, rates[1:])]
    # 7 points steadily rising = 6 rises in a row.
    _runs(steps, lambda a, b: a == b != 0, RUN_LENGTH - 1,
          lambda run: mark([run[0] - 1, *run], "trend of 7"))
    for start in range(len(chart) - 2):
        window = range(start, start + 3)
        for beyond in (lambda i: rates[i] > chart.inner_upper[i], lambda i: rates[i] < chart.inner_lower[i]):
            hits = [i for i in window if beyond(i)]
            if len(hits) >= 2:
                mark(hits, "2 of 3 near a limit")
    chart["signals"] = [", ".join(s) for s in signals]
    return chart


def _runs(values, same, length, on_run) -> None:
    """Call on_run(indices) for every maximal run of at least `length` values where same(prev, next)."""
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or not same(values[i - 1], values[i]):
            if i - start >= length and values[start] != 0:
                on_run(list(range(start, i)))
            start = i


def funnel(frame: pd.DataFrame, group: str, k: str, n: str, points: int = 100,
           hidden: pd.Series | None = None, shown_n=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Units with their rate and which limits they fall outside, and the limit curves over n.

    Limits around the overall rate p: p +/- z sqrt(p (1 - p) / n) for 95% and 99.8%, clipped to 0-1
    (the normal approximation to Spiegelhalter's binomial limits). Units marked `hidden`
    (suppress.hidden_cells) are left out, and p is the rate of the units shown, so neither a point nor
    a line depends on a hidden count.

    `shown_n` (a function of n, suppress.rounded under rounding): the n the funnel shows for a unit (column
    `n_shown`). A point is placed at it and judged against the limits at it, as a reader of the chart sees it:
    the exact n, as the x position or through the limits' width at the point, would undo the rounding.
    """
    units = frame[[group, k, n]].rename(columns={group: "group", k: "k", n: "n"})
    if hidden is not None:
        units = units[~hidden.reindex(frame.index, fill_value=False).astype(bool)]
    units = units[units.n > 0].reset_index(drop=True)
    if units.empty:
        return units.assign(rate=[], n_shown=[], outside=[]), pd.DataFrame(columns=["n", "centre"])
    p = units.k.sum() / units.n.sum()
    units["rate"] = units.k / units.n
    units["n_shown"] = units.n.map(shown_n) if shown_n else units.n

    def limits(n_values):
        return {f"{side}_{name}": [min(1, max(0, p + sign * z * math.sqrt(p * (1 - p) / m))) for m in n_values]
                for name, z in FUNNEL_Z.items() for side, sign in (("lower", -1), ("upper", 1))}

    unit_limits = pd.DataFrame(limits(units.n_shown))
    units["outside"] = [
        "above 99.8%" if r > unit_limits.at[i, "upper_99.8%"] else
        "below 99.8%" if r < unit_limits.at[i, "lower_99.8%"] else
        "above 95%" if r > unit_limits.at[i, "upper_95%"] else
        "below 95%" if r < unit_limits.at[i, "lower_95%"] else ""
        for i, r in enumerate(units.rate)
    ]
    top = max(int(units.n_shown.max() * 1.1), 10)
    grid = sorted({max(1, round(top * i / points)) for i in range(points + 1)})
    curves = pd.DataFrame({"n": grid, "centre": p, **limits(grid)})
    return units, curves



def closed_periods(periods: pd.DataFrame, period: str = "group_value") -> list[str]:
    """Periods whose end-of-induction window has closed: every series started in them is evaluable
    (scored or past the end of its window, relative to the data's last day, or dropped out). A period
    still in progress would show an end-of-induction rate on the few series that finished early."""
    closed = periods[(periods.n_series > 0) & (periods.n_evaluable == periods.n_series)]
    return sorted(closed[period])
