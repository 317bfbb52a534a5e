"""Small-cell suppression for anything shown: counts from 1 to min_cell - 1 (CMS: 1-10) and every rate,
interval or mean built on them are hidden. Zero may be shown. The rules for each mart live here once, and so
does the one word a hidden cell reads, HIDDEN, whatever hid it.

Secondary suppression (docs/metrics.md, "Small cells"): a count that is the difference of two shown
counts (non-responders = scored - responders) is a cell too, so one of the two (the numerator) is hidden when
the difference is small; and in a chart whose cells add up to a total shown elsewhere (periods of a p-chart, groups
of a funnel), a single hidden cell would be that total minus the shown ones, so a second is hidden; in a
cross-table (severity transitions) the same holds for each row, each column and the whole.

Functions marked @remembered are pure: the dashboard keeps their results by a fingerprint of their
arguments (chart_cache.py), so a repeated view does not suppress the same rows again."""

import pandas as pd

from ketamine_outcomes.chart_cache import remembered

# For each mart: the count columns, and each derived column with the counts it is built on.
RULES: dict[str, dict] = {
    "weekly_outcomes": {
        "counts": ["n_scored", "n_paired", "responders", "remitters", "reliably_improved", "reliably_deteriorated"],
        "derived": {
            **{c: ["n_scored"] for c in ("mean_score", "median_score", "q1_score", "q3_score", "mean_ci_low",
                                          "mean_ci_high")},
            "mean_change": ["n_paired"],
            **{f"response_rate{s}": ["responders", "n_paired"] for s in ("", "_low", "_high")},
            **{f"remission_rate{s}": ["remitters", "n_paired"] for s in ("", "_low", "_high")},
            **{f"reliable_improvement_rate{s}": ["reliably_improved", "n_paired"] for s in ("", "_low", "_high")},
            **{f"reliable_deterioration_rate{s}": ["reliably_deteriorated", "n_paired"] for s in ("", "_low", "_high")},
        },
    },
    "weekly_outcomes_itt": {
        "counts": ["n_series", "n_observed", "n_carried", "n_imputed", "responders", "remitters"],
        "derived": {
            "mean_score": ["n_series"], "mean_change": ["n_series"],
            **{f"response_rate{s}": ["responders", "n_series"] for s in ("", "_low", "_high")},
            **{f"remission_rate{s}": ["remitters", "n_series"] for s in ("", "_low", "_high")},
        },
    },
    "cohort_comparison": {
        "counts": ["n_series", "n_evaluable", "n_scored", "responders", "remitters", "n_evaluable_no_baseline"],
        "derived": {
            **{f"response_rate{s}": ["responders", "n_scored"] for s in ("", "_low", "_high")},
            **{f"remission_rate{s}": ["remitters", "n_scored"] for s in ("", "_low", "_high")},
            **{f"itt_response_rate{s}": ["responders", "n_evaluable"] for s in ("", "_low", "_high")},
            **{f"itt_remission_rate{s}": ["remitters", "n_evaluable"] for s in ("", "_low", "_high")},
        },
    },
    "adverse_events": {
        "counts": ["n_sessions", "n_events"],
        "derived": {f"event_rate{s}": ["n_events", "n_sessions"] for s in ("", "_low", "_high")},
    },
    "adverse_event_incidence": {
        "counts": ["n_series", "n_with_event"],
        "derived": {f"incidence_rate{s}": ["n_with_event", "n_series"] for s in ("", "_low", "_high")},
    },
    "blood_pressure": {
        "counts": ["n_sessions", "n_measured", "n_high_peaks", "n_rise_measured", "n_rises", "n_pre_measured",
                   "n_pre_raised"],
        "derived": {"high_peak_rate": ["n_high_peaks", "n_measured"], "median_peak": ["n_measured"],
                    "max_peak": ["n_measured"],
                    **{f"rise_rate{s}": ["n_rises", "n_rise_measured"] for s in ("", "_low", "_high")},
                    **{f"pre_raised_rate{s}": ["n_pre_raised", "n_pre_measured"] for s in ("", "_low", "_high")}},
    },
    "item9_course": {
        "counts": ["n_series", "n_meeting"],
        "derived": {f"measure_rate{s}": ["n_meeting", "n_series"] for s in ("", "_low", "_high")},
        "totals": ["measure"],  # split by route or site, each measure's groups add up to its "all series" row
    },
    "dissociation": {
        "counts": ["n_sessions"],
        "derived": {c: ["n_sessions"] for c in ("mean_score", "mean_ci_low", "mean_ci_high")},
        "totals": ["session_number"],  # split by route, each session number's routes add up to its "all" row
    },
    "attrition": {"counts": ["n_series"], "derived": {"share_of_started": ["n_series"]}},
    # A cross-table: each baseline band (a row), each end band (a column: the end statuses' counts give some)
    # and the whole table (the series scored at end of induction) add up to a total shown elsewhere.
    "severity_transitions": {"counts": ["n_series"], "derived": {}, "totals": ["baseline_band", "end_band", None]},
    "series_counts": {"counts": ["n_series"], "derived": {}},
    "activity": {"counts": ["n_series", "n_active_series", "n_patients", "n_sessions"], "derived": {}},
    "maintenance": {
        "counts": ["n_series", "n_with_boosters", "n_boosters", "n_reinducted"],
        "derived": {"with_boosters_rate": ["n_with_boosters", "n_series"], "mean_boosters": ["n_series"],
                    # medians of booster days are built on the series with boosters
                    "median_days_to_first_booster": ["n_with_boosters"],
                    "median_days_between_boosters": ["n_with_boosters"],
                    "reinduction_rate": ["n_reinducted", "n_series"]},
    },
    "talking_therapies": {
        "counts": ["n_finished", "n_paired", "n_cases", "n_recovered", "n_reliably_improved", "n_reliably_recovered",
                   "n_reliably_deteriorated", "n_mcid_improved"],
        "derived": {"caseness_rate": ["n_cases", "n_paired"],
                    **{f"recovery_rate{s}": ["n_recovered", "n_cases"] for s in ("", "_low", "_high")},
                    "reliable_improvement_rate": ["n_reliably_improved", "n_cases"],
                    "reliable_recovery_rate": ["n_reliably_recovered", "n_cases"],
                    "reliable_deterioration_rate": ["n_reliably_deteriorated", "n_cases"],
                    "mcid_improvement_rate": ["n_mcid_improved", "n_cases"]},
    },
    "protocol_adherence": {
        "counts": ["n_series", "n_completed", "n_within_window"],
        "derived": {"completion_rate": ["n_completed", "n_series"],
                    **{f"adherence_rate{s}": ["n_within_window", "n_series"] for s in ("", "_low", "_high")}},
    },
}


# For each mart: pairs of counts, one inside the other, whose difference is itself a count of people (scored
# series that did not respond). When the difference is small the first of the pair is hidden, since the two
# would give it: a numerator beside its denominator, or (cohort_comparison) one of two nested totals, series >
# evaluable > scored, whose differences are the "not reached" and "no score" statuses.
COMPLEMENTS: dict[str, list[tuple[str, str]]] = {
    "weekly_outcomes": [("responders", "n_paired"), ("remitters", "n_paired"), ("reliably_improved", "n_paired"),
                        ("reliably_deteriorated", "n_paired")],
    "weekly_outcomes_itt": [("responders", "n_series"), ("remitters", "n_series")],
    "cohort_comparison": [("responders", "n_scored"), ("remitters", "n_scored"),
                          # intention to treat: evaluable series not responding; every series not responding
                          ("responders", "n_evaluable"), ("remitters", "n_evaluable"),
                          ("responders", "n_series"), ("remitters", "n_series"),
                          # never n_series (the Durability curves' n shows it): the evaluable, with the ITT rates,
                          # or the scored, with the observed rates
                          ("n_evaluable", "n_series"), ("n_scored", "n_series"), ("n_evaluable", "n_scored")],
    "adverse_events": [("n_events", "n_sessions")],
    "adverse_event_incidence": [("n_with_event", "n_series")],
    "maintenance": [("n_with_boosters", "n_series"), ("n_reinducted", "n_series")],
    "protocol_adherence": [("n_completed", "n_series"), ("n_within_window", "n_series")],
    "talking_therapies": [("n_paired", "n_finished"), ("n_cases", "n_paired"), ("n_recovered", "n_cases"), ("n_reliably_improved", "n_cases"),
                          ("n_reliably_recovered", "n_cases"), ("n_reliably_deteriorated", "n_cases"),
                          ("n_mcid_improved", "n_cases")],
    "blood_pressure": [("n_high_peaks", "n_measured"), ("n_rises", "n_rise_measured"), ("n_pre_raised", "n_pre_measured")],
    "item9_course": [("n_meeting", "n_series")],
}


# The one word every hidden cell reads (a tile, a table, a chart's marker, the meeting pack): a small count and a
# count hidden to protect one read the same, so a reader cannot tell which of two hidden cells is the small one.
HIDDEN = "hidden"


def is_small(count, min_cell: int) -> bool:
    return min_cell > 1 and not pd.isna(count) and 0 < count < min_cell


@remembered
def for_chart(frame: pd.DataFrame, mart: str, min_cell: int, rows_add_up: bool | str = False) -> pd.DataFrame:
    """Numbers a chart may draw: suppressed counts and everything built on them become missing.
    `rows_add_up`: the rows (groups of one dimension) add up to a total shown elsewhere (see _with_complement);
    a column's name: the rows of each of its values do (week by week)."""
    rules = RULES[mart]
    out = frame.copy()
    if min_cell <= 1 or out.empty:
        return out
    small = _small_counts(frame, mart, min_cell, rows_add_up)
    for column, bases in rules["derived"].items():
        if column in out:
            hidden = pd.concat([small[b] for b in bases if b in small], axis=1).any(axis=1)
            out[column] = out[column].astype("float64").mask(hidden)
    for column, hidden in small.items():
        out[column] = out[column].astype("Float64").mask(hidden)
    return out


def _small_counts(frame: pd.DataFrame, mart: str, min_cell: int,
                  rows_add_up: bool | str = False) -> dict[str, pd.Series]:
    """For each count column, which rows hide it: the count is small, or the part of a small difference, or
    the count a total would give away (rows_add_up: the column's total; the mart's "totals": each row,
    column and whole of a cross-table)."""
    small = {c: frame[c].map(lambda v: is_small(v, min_cell)).astype(bool) for c in RULES[mart]["counts"] if c in frame}
    primary = dict(small)
    for part, whole in COMPLEMENTS.get(mart, []):
        if part in frame and whole in frame:
            difference = (frame[whole] - frame[part]).abs().map(lambda v: is_small(v, min_cell)).astype(bool)
            # A small (hidden) other count gives no difference away: 0 responders of hidden (small) series stays 0.
            small[part] = small[part] | (difference & ~primary[whole])
    totals = RULES[mart].get("totals", []) + ([None] if rows_add_up is True else [rows_add_up] if rows_add_up else [])
    if totals:
        small = {column: _with_totals(frame, column, hidden, totals) for column, hidden in small.items()}
    return small


def groups_together(frames: dict[str, pd.DataFrame], group: str = "group_value") -> pd.DataFrame:
    """One mart's frames, one per group of a split (a line per site), as one frame with the group in `group`:
    their rows add up, week by week, to the frame of every group shown elsewhere (the Overview's trajectory),
    so pass it to for_chart or a table with rows_add_up="week": a group's count that is the only one hidden
    that week takes the smallest other with it."""
    parts = [frame.assign(**{group: name}) for name, frame in frames.items()]
    together = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[group])
    return together[[group, *together.columns.drop(group)]]


def _with_totals(frame: pd.DataFrame, column: str, hidden: pd.Series, totals: list[str | None]) -> pd.Series:
    """_with_complement within every set of rows that adds up to a total shown elsewhere: the rows of each
    value of each column named in `totals` (None: the whole frame), again until no total gives a single hidden
    count (hiding a cell for its row can leave one alone in its column)."""
    hidden = hidden.copy()
    while True:
        before = hidden.copy()
        for by in totals:
            for rows in (frame.groupby(by, sort=False, dropna=False).groups.values() if by else [frame.index]):
                hidden.loc[rows] = _with_complement(frame.loc[rows, column], hidden.loc[rows])
        if hidden.equals(before):
            return hidden


def _with_complement(counts: pd.Series, hidden: pd.Series) -> pd.Series:
    """Rows that add up to a total shown elsewhere: when exactly one non-zero count is hidden, the total minus
    the shown ones would give it, so the smallest other non-zero count is hidden too (the least lost)."""
    drawn = (counts > 0).fillna(False).astype(bool)
    hidden = hidden.copy()
    if (hidden & drawn).sum() == 1 and (~hidden & drawn).any():
        hidden[counts.where(~hidden & drawn).idxmin()] = True
    return hidden


def histogram_bins(counts, min_cell: int) -> pd.Series:
    """Which bins of a histogram to hide: a count from 1 to min_cell - 1, and, as the bins add up to a total
    shown elsewhere (a status's count in a table), the smallest other bin when only one is hidden."""
    counts = pd.Series(counts)
    if min_cell <= 1:
        return pd.Series(False, index=counts.index)
    return _with_complement(counts, counts.map(lambda v: is_small(v, min_cell)).astype(bool))


@remembered
def suppressed(frame: pd.DataFrame, mart: str, min_cell: int, rows_add_up: bool | str = False) -> bool:
    """Whether any count of this frame is suppressed (to print the note under a chart)."""
    return min_cell > 1 and not frame.empty and any(
        s.any() for s in _small_counts(frame, mart, min_cell, rows_add_up).values())


def hidden_cells(frame: pd.DataFrame, mart: str, min_cell: int, k: str, n: str) -> pd.Series:
    """Which rows (periods of a p-chart, groups of a funnel) a chart of k / n must not draw at all.

    A row is hidden when k or n is suppressed (including through a small difference). The rows add up
    to a total shown elsewhere, so when exactly one is hidden the smallest other one is hidden too:
    otherwise the total minus the shown rows would give it."""
    if min_cell <= 1 or frame.empty:
        return pd.Series(False, index=frame.index)
    small = _small_counts(frame, mart, min_cell)
    return _with_complement(frame[n], (small[k] | small[n]).astype(bool))


@remembered
def for_table(frame: pd.DataFrame, mart: str, min_cell: int, rows_add_up: bool | str = False) -> pd.DataFrame:
    """A table to show: hidden counts read HIDDEN, numbers built on them are blank, rates are percents."""
    shown = for_chart(frame, mart, min_cell, rows_add_up)
    small = _small_counts(frame, mart, min_cell, rows_add_up) if min_cell > 1 and not frame.empty else {}
    for column in RULES[mart]["counts"]:
        if column in shown:
            shown[column] = [
                HIDDEN if column in small and hide else ("" if pd.isna(v) else f"{int(v):,}")
                for v, hide in zip(shown[column], small.get(column, [False] * len(frame)))
            ]
    for column in shown.columns:
        if column.endswith(("_rate", "_rate_low", "_rate_high")) or column == "share_of_started":
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
    return shown


@remembered
def attrition(frame: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The attrition mart as a chart may draw it. Each share is out of every series in the cohort (a count the
    Overview shows), so two sessions shown side by side give the series that stopped between them: a session is
    hidden too when the fall from the last session shown (from every series, for the first) is from 1 to
    min_cell - 1. The falls between the sessions shown are then none or at least min_cell."""
    shown = for_chart(frame, "attrition", min_cell)
    known = frame[frame.share_of_started > 0]
    if min_cell <= 1 or known.empty:
        return shown
    last = round(known.n_series.iloc[0] / known.share_of_started.iloc[0])  # every series in the cohort
    for i in frame[frame.stage == "session"].sort_values("step").index:
        if pd.isna(shown.share_of_started[i]) or is_small(last - frame.n_series[i], min_cell):
            shown.loc[i, "n_series"], shown.loc[i, "share_of_started"] = pd.NA, float("nan")
        else:
            last = frame.n_series[i]
    return shown


@remembered
def survival_curve(curve: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """A Kaplan-Meier curve (sustained_response, time_to_response) as it may be shown (docs/metrics.md, "Small
    cells", Kaplan-Meier curves). Each step of a curve with its number at risk gives its events (survival falls
    by events / at risk), and two numbers at risk give the series that left between them (events + censored).
    So events are delayed to a later day until a step holds at least min_cell (round_km, OpenSAFELY), the
    series censored between two shown days are none or at least min_cell, and a curve stops before fewer than
    min_cell would be left at risk after a step; the estimate is recomputed on those days. A group of fewer
    than min_cell series goes whole, and, as the groups add up to the "all series" curve, so does the smallest
    other group when only one goes (survival_groups). A group with no step left past day 0 goes too. The
    median is the recomputed curve's; one the full curve reaches past the shown one is hidden (median_hidden),
    as "not reached" would be untrue."""
    if min_cell <= 1 or curve.empty:
        return curve.assign(median_hidden=False)
    value = "survival" if "survival" in curve else "share_responded"
    hidden = _survival_hidden_groups(curve, min_cell)
    groups = [_coarse_steps(rows.sort_values("day"), min_cell, value)
              for group, rows in curve.groupby("group_value", sort=False) if not hidden[group]]
    groups = [rows for rows in groups if not rows.empty and rows.day.max() > 0]
    if not groups:
        return curve.iloc[0:0].assign(median_hidden=pd.Series(dtype=bool))
    return pd.concat(groups, ignore_index=True)


def _coarse_steps(rows: pd.DataFrame, min_cell: int, value: str) -> pd.DataFrame:
    """One group's curve with each shown day closing a run of days whose events and censored are each none or
    at least min_cell, leaving none or at least min_cell at risk; the days after the last such run are cut."""
    # time_to_response has dropouts as a competing event (n_dropped): the share responded is then the
    # Aalen-Johansen cumulative incidence, which is 1 - Kaplan-Meier when there are none.
    competing = "n_dropped" in rows
    bound = "survival_if_lost" in rows  # sustained_response: every censored series counted as lost (lower bound)
    steps, survival, incidence, if_lost = [], 1.0, 0.0, 1.0
    at_risk = events = dropped = censored = 0
    for row in rows.itertuples():
        if not events and not dropped and not censored:
            at_risk = row.n_at_risk  # the series at risk on the first day of this run
            if at_risk < min_cell:
                break
        events, censored = events + row.n_events, censored + row.n_censored
        dropped += row.n_dropped if competing else 0
        left = at_risk - events - dropped - censored
        if all(v == 0 or v >= min_cell for v in (events, dropped, censored, left)):
            incidence += survival * events / at_risk
            survival *= 1 - (events + dropped) / at_risk
            if_lost *= 1 - (events + censored) / at_risk
            step = {"day": row.day, "n_at_risk": at_risk, "n_events": events, "n_censored": censored,
                    value: survival if value == "survival" else incidence}
            step = {**step, "n_dropped": dropped} if competing else step
            steps.append({**step, "survival_if_lost": if_lost} if bound else step)
            events = dropped = censored = 0
    shown = pd.DataFrame(steps, columns=["day", "n_at_risk", "n_events", "n_censored", value,
                                         *(["n_dropped"] if competing else []),
                                         *(["survival_if_lost"] if bound else [])])
    half = shown.day[shown[value] <= 0.5] if value == "survival" else shown.day[shown[value] >= 0.5]
    median = half.iloc[0] if len(half) else None
    # A merged step hides on which of its days the curve crossed half: the median is somewhere after the step
    # before it (median_from), up to its day.
    before = shown.day[shown.day < median] if median is not None else shown.day.iloc[0:0]
    median_from = before.iloc[-1] if len(before) else 0
    reached = not pd.isna(rows.median_days.iloc[0])  # the full curve reaches half: past the shown one, if not here
    return shown.assign(group_value=rows.group_value.iloc[0], median_days=median, median_from=median_from,
                        median_hidden=median is None and reached)[[*rows.columns.intersection(
                            ["group_value", "day", "n_at_risk", "n_events", "n_dropped", "n_censored", value,
                             "survival_if_lost", "median_days"]),
                            "median_from", "median_hidden"]]


def median_text(rows: pd.DataFrame) -> str:
    """A curve's median in words: a day, or the days of the merged step it falls in ("12-149 days"), or past
    the shown curve, or not reached."""
    median = rows.median_days.iloc[0]
    if pd.isna(median):
        return "past the shown curve" if "median_hidden" in rows and rows.median_hidden.iloc[0] else "not reached"
    first = int(rows.median_from.iloc[0]) + 1 if "median_from" in rows else int(median)
    return f"{int(median)} days" if first >= int(median) else f"{first}-{int(median)} days"


def _survival_hidden_groups(curve: pd.DataFrame, min_cell: int) -> pd.Series:
    """Groups of a Kaplan-Meier split whose n (series at risk on the first day) is small, and, as the groups add
    up to the "all series" curve's n, the smallest other one when only one is."""
    n = curve.sort_values("day").groupby("group_value", sort=False).n_at_risk.first()
    return _with_complement(n, n.map(lambda v: is_small(v, min_cell)).astype(bool))


def survival_groups(curve: pd.DataFrame, min_cell: int) -> dict[str, str]:
    """Each group's n as shown beside its curve: HIDDEN (small, or to protect a small one) or the count."""
    n = curve.sort_values("day").groupby("group_value", sort=False).n_at_risk.first()
    hidden = _survival_hidden_groups(curve, min_cell) if min_cell > 1 else n.map(lambda v: False)
    return {group: HIDDEN if hidden[group] else count_text(count, min_cell)
            for group, count in n.items()}


def followed_up_text(curve: pd.DataFrame, group: str, min_cell: int) -> str:
    """'X of Y responders have a later score' for a sustained_response group, each count hidden when small, and
    both when the responders with no later score (their difference) are few."""
    row = curve[curve.group_value == group].iloc[0]
    followed, responders = int(row.n_followed_up), int(row.n_responders)
    if min_cell > 1 and is_small(responders - followed, min_cell):
        return f"{HIDDEN} of {count_text(responders, min_cell)} responders have a later score"
    return f"{count_text(followed, min_cell)} of {count_text(responders, min_cell)} responders have a later score"


def count_text(count: int, min_cell: int) -> str:
    return HIDDEN if is_small(count, min_cell) else ("" if pd.isna(count) else f"{int(count):,}")
