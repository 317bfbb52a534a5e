"""Small-cell suppression (statistical disclosure control) for anything shown beyond the care team. The
method, in full with a worked example, is docs/metrics.md, "Small cells"; in short:

1. Primary suppression (CMS cell-size policy): a count from 1 to min_cell - 1 reads HIDDEN, with every
   rate, interval and mean built on it. Zero is shown, but not as a rate's numerator whose denominator
   is hidden (0 of a hidden group is a 0% rate of a small one).
2. Rounding (NHS England / ONS practice): every other count is shown to the nearest ROUND_TO (5; 11 and 12
   read 15, never a number of the hidden range), so the
   difference of two shown counts (series minus evaluable, this quarter minus last) is never known to the
   person: a difference of 1-10 cannot be worked out by subtraction, and no large group is hidden to
   protect one. Rates, intervals and means are computed from the exact counts.
3. A rate whose numerator or complement (denominator minus numerator: the scored who did not respond) is
   from 1 to min_cell - 1 is hidden, as 1 - rate would give it; its counts stay shown (rounded).
4. Complementary suppression only where counts are exact (an internal view with a threshold): where rows
   add up to a total shown elsewhere (the groups of a funnel, the bands of a cross-table) and exactly one
   is hidden, the single smallest other is hidden too. Under rounding the total minus the shown parts
   gives a hidden cell only give or take the parts' rounding, never exactly (ONS: rounding instead of
   secondary suppression), so no large group is hidden for a small one.
5. Curves (Kaplan-Meier, cumulative incidence): the exact estimate at the end of each week while
   min_cell or more series are at risk, numbers at risk rounded (survival_curve).

An analyst's internal view (below the clinic's min_cell_size) uses Disclosure(min_cell, round_to=1): exact
counts. The rules per mart (which columns are counts, which rates are built on which) are declared once in
ketamine_outcomes/metrics/declarations.py.

Functions marked @remembered are pure: the dashboard keeps their results by a fingerprint of their
arguments (ketamine_outcomes/kept.py), so a repeated view does not suppress the same rows again."""

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from ketamine_outcomes.definitions import HIDDEN  # noqa: F401 (suppress.HIDDEN: the word it applies)
from ketamine_outcomes.kept import remembered
from ketamine_outcomes.metrics.declarations import MARTS

ROUND_TO = 5  # NHS England and ONS publish counts rounded to the nearest 5 to stop differencing
CURVE_STEP_DAYS = 7  # a curve is shown at the end of each week
# ... and sooner when the estimate has moved more than this since the last point shown, so the curve shown is
# never further than this from the estimate where it is shown (the bound is 5 percentage points).
CURVE_TOLERANCE = 0.04
# Other estimates a curve's mart may carry, drawn beside it at the same points.
BOUNDS = ("survival_if_lost",)
# Under rounded counts, what else is shown to fewer places than stored (docs/metrics.md, "Small cells", rule 6):
# a mean of whole-number scores to full precision is sum / n and gives n back (the fraction in lowest terms),
# as a Kaplan-Meier step 1 - d / n does. A mean or median to a tenth fits every n of 10 or more (a tenth is
# 1 / 10 of a point: some whole sum falls within it), and a curve or rate to whole percents moves at most half a
# point.
MEAN_DIGITS = 1
RATE_DIGITS = 2  # a share stored from 0 to 1: whole percents
# Declared "means" that are shares of a count (0 to 1), shown to whole percents as rates are.
SHARES = ("share_of_started",)


@dataclass(frozen=True)
class Disclosure:
    """What a view may show: counts from 1 to min_cell - 1 are hidden (0 or 1: suppression off) and the
    other counts are shown to the nearest round_to (1: exact, the analyst's internal view)."""
    min_cell: int
    round_to: int = ROUND_TO

    @property
    def on(self) -> bool:
        return self.min_cell > 1


def policy(rule: "Disclosure | int") -> Disclosure:
    """A Disclosure from a threshold alone (the meeting pack, a test): counts rounded whenever suppression is on."""
    if isinstance(rule, Disclosure):
        return rule
    return Disclosure(int(rule), ROUND_TO if int(rule) > 1 else 1)


# Per mart, as the older callers read it: its counts and each derived column with the counts it is built on.
RULES: dict[str, dict] = {name: {"counts": list(m.counts), "derived": m.derived(), "totals": list(m.totals)}
                          for name, m in MARTS.items()}



def is_small(count, min_cell: "Disclosure | int") -> bool:
    threshold = policy(min_cell).min_cell
    return threshold > 1 and not pd.isna(count) and 0 < count < threshold


def rounded(count, rule: "Disclosure | int"):
    """A count as shown: to the nearest round_to (halves up), 0 stays 0; missing stays missing. A count of
    min_cell or more never reads as a number in the hidden range (11 and 12 read 15, not 10)."""
    rule = policy(rule)
    base = rule.round_to
    if pd.isna(count) or base <= 1:
        return count
    nearest = (int(count) + base // 2) // base * base
    lowest = -(-rule.min_cell // base) * base  # the first multiple of round_to at or above min_cell
    return max(nearest, lowest) if rule.on and count >= rule.min_cell else nearest


def _rounded_column(values: pd.Series, rule: Disclosure) -> pd.Series:
    return values.map(lambda v: rounded(v, rule)).astype("Float64")


@remembered
def for_chart(frame: pd.DataFrame, mart: str, min_cell: "Disclosure | int",
              rows_add_up: bool | str = False) -> pd.DataFrame:
    """Numbers a chart may draw: hidden counts and everything built on them missing, other counts rounded,
    rates hidden where their numerator or complement is small. `rows_add_up`: the rows (groups of one
    dimension) add up to a total shown elsewhere; a column's name: the rows of each of its values do."""
    rule = policy(min_cell)
    out = frame.copy()
    if not rule.on or out.empty:
        return out
    hidden = _hidden(frame, mart, rule, rows_add_up)
    for column, mask in hidden.items():
        if column in MARTS[mart].counts:
            out[column] = _rounded_column(frame[column], rule).mask(mask)
        else:
            out[column] = out[column].astype("float64").mask(mask)
    if rule.round_to > 1:
        # A rate to full precision beside its rounded n gives the exact count back (42/90 is 0.4666..., and of
        # the n 88-92 only 90 makes it a whole number of responders): drawn, as in a table, to whole percents.
        for column in _rate_columns(out, mart):
            out[column] = out[column].astype("float64").round(RATE_DIGITS)
        for column in MARTS[mart].means:
            if column in out:
                out[column] = out[column].astype("float64").round(RATE_DIGITS if column in SHARES else MEAN_DIGITS)
    return out


def _rate_columns(frame: pd.DataFrame, mart: str) -> list[str]:
    """A mart's declared rates and their interval bounds present in `frame`."""
    rates = MARTS[mart].rates
    return [c for c in frame.columns if c.removesuffix("_low").removesuffix("_high") in rates]


def _hidden(frame: pd.DataFrame, mart: str, rule: Disclosure, rows_add_up: bool | str = False) -> dict[str, pd.Series]:
    """For each count and derived column present, which rows it is hidden in."""
    declared = MARTS[mart]
    counts = _hidden_counts(frame, mart, rule, rows_add_up)
    out = dict(counts)
    for column, bases in declared.derived().items():
        if column not in frame:
            continue
        mask = pd.Series(False, index=frame.index)
        for base in bases:
            if base in counts:
                mask |= counts[base]
        rate = column.removesuffix("_low").removesuffix("_high")
        if rate in declared.rates:
            numerator, denominator = declared.rates[rate]
            if numerator in frame and denominator in frame:
                complement = frame[denominator] - frame[numerator]
                mask |= complement.map(lambda v: is_small(v, rule)).astype(bool)
        out[column] = mask
    if rule.on and rule.round_to > 1:
        out = _with_recoverable_complements(frame, mart, rule, out)
    return out


def _with_recoverable_complements(frame: pd.DataFrame, mart: str, rule: Disclosure,
                                  hidden: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Rule 3b (docs/metrics.md, "Small cells"): a rate hidden because its complement is small (the scored who
    did not respond) is not worked out from the rest of its row. Shown to whole percents beside rounded counts,
    another rate on the same numerator (the intention-to-treat rate: responders of the evaluable) or on the
    same denominator can narrow the counts until the complement is known to be from 1 to min_cell - 1. So in
    such a row, while the figures shown pin the complement within 1 to min_cell - 1, or tell more of it than the
    rounded counts alone, the next of these is withheld too: the other rates on its numerator, the other
    rates on its denominator, the numerator (with every rate built on it), the denominator. The check
    enumerates every set of whole counts the figures shown fit (_complements); a large group usually keeps
    everything, as its rates do not narrow its rounded counts."""
    declared = MARTS[mart]
    rates = {r: nd for r, nd in declared.rates.items() if r in frame and nd[0] in frame and nd[1] in frame}
    if not rates:
        return hidden
    out = {column: mask.copy() for column, mask in hidden.items()}
    for i in frame.index:
        for rate, (num, den) in rates.items():
            # A hidden numerator or denominator already leaves the complement open (its rates go with it).
            if (not (out[rate][i] and is_small(frame.at[i, den] - frame.at[i, num], rule))
                    or out[num][i] or out[den][i]):
                continue
            candidates = ([r for r, (n, d) in rates.items() if r != rate and n == num]
                          + [r for r, (n, d) in rates.items() if r != rate and d == den and n != num]
                          + [num, den])
            out = _least_withheld(frame.loc[i], declared, rule, out, i, num, den, candidates)
    return out


def _least_withheld(row: pd.Series, declared, rule: Disclosure, hidden: dict[str, pd.Series], i, num: str,
                    den: str, candidates: list[str]) -> dict[str, pd.Series]:
    """`hidden` with the fewest candidates of row i withheld that leave den - num untold (a count takes its rates
    with it): of those, the one losing the fewest figures; on a tie, the one whose candidates come first."""
    if not _complement_told(row, declared, rule, hidden, i, num, den):
        return hidden
    best = None
    for size in range(1, len(candidates) + 1):
        for chosen in combinations(candidates, size):
            trial = {column: mask.copy() for column, mask in hidden.items()}
            for cell in chosen:
                _withhold(trial, declared, cell, i)
            if _complement_told(row, declared, rule, trial, i, num, den):
                continue
            # A rate and its interval are one figure lost (a table without the interval loses the same).
            lost = len({c.removesuffix("_low").removesuffix("_high") for c in trial
                        if bool(trial[c][i]) and not bool(hidden[c][i])})
            if best is None or lost < best[0]:
                best = (lost, trial)
        if best:  # more candidates withheld never lose fewer figures than the fewest that do
            return best[1]
    return hidden


def _withhold(hidden: dict[str, pd.Series], declared, cell: str, i) -> None:
    """Hide `cell` in row i: a rate with its interval, or a count with every rate and mean built on it."""
    built_on = [column for column, bases in declared.derived().items() if cell in bases]
    for column in [cell, *built_on] + [f"{cell}{end}" for end in ("_low", "_high")]:
        if column in hidden:
            hidden[column].loc[i] = True


def _complement_told(row: pd.Series, declared, rule: Disclosure, hidden: dict[str, pd.Series], i,
                     num: str, den: str) -> bool:
    """Whether the figures shown in `row` tell the complement den - num: pin it within 1 to min_cell - 1, or
    narrow it more than the shown counts alone do. A hidden numerator or denominator leaves it open: every rate
    built on a hidden count is hidden with it, so nothing bounds that count but its wholes."""
    if hidden[num][i] or hidden[den][i]:
        return False
    with_rates = _complements(row, declared, rule, hidden, i, num, den, rates=True)
    counts_only = _complements(row, declared, rule, hidden, i, num, den, rates=False)
    return _pinned(with_rates, rule) or not np.array_equal(with_rates, counts_only)


def _pinned(complements: np.ndarray, rule: Disclosure) -> bool:
    """Whether every value a complement may take is a small count, 1 to min_cell - 1."""
    return bool(complements.size and complements.min() >= 1 and complements.max() < rule.min_cell)


def count_candidates(shown, hidden: bool, rule: Disclosure, upper: int) -> np.ndarray:
    """The whole counts a count as shown may stand for: any from 0 to `upper` when it reads hidden (small, or
    withheld to protect another), else every count that rounds to the value shown."""
    if hidden:
        return np.arange(0, upper + 1)
    exact = int(shown)
    shown_value = rounded(exact, rule)
    low = max(0, shown_value - rule.round_to - rule.min_cell)
    values = np.arange(low, shown_value + rule.round_to + 1)
    return values[[rounded(int(v), rule) == shown_value for v in values]]


def _complements(row: pd.Series, declared, rule: Disclosure, hidden: dict[str, pd.Series], i, num: str, den: str,
                 rates: bool) -> np.ndarray:
    """Every value of den - num that some set of whole counts fits: each count as shown (count_candidates),
    each part no more than its whole, and (`rates`) each rate and interval bound shown as it is drawn, to whole
    percents."""
    # Another count read hidden is in no rate shown (its rates are hidden with it) and tells nothing here.
    linked = [c for c in declared.counts if c in row.index and not pd.isna(row[c])
              and (c in (num, den) or not hidden[c][i] and any(c in pair for pair in declared.part_of()))]
    shown = {c: count_candidates(row[c], False, rule, 0) for c in linked if not hidden[c][i]}
    upper = int(max((v.max() for v in shown.values() if v.size), default=0))
    values = {c: shown[c] if c in shown else count_candidates(row[c], True, rule, upper) for c in linked}
    grids = dict(zip(linked, np.meshgrid(*values.values(), indexing="ij", sparse=True)))
    fits = np.ones([len(v) for v in values.values()], dtype=bool)
    for part, whole in declared.part_of():
        if part in grids and whole in grids:
            fits &= grids[part] <= grids[whole]
    if rates:
        for rate, (k, n) in declared.rates.items():
            if k not in grids or n not in grids:
                continue
            for column, estimate in ((rate, _share), (f"{rate}_low", _wilson_low), (f"{rate}_high", _wilson_high)):
                if column in hidden and not hidden[column][i] and not pd.isna(row[column]):
                    with np.errstate(divide="ignore", invalid="ignore"):
                        drawn = np.round(float(row[column]), RATE_DIGITS)
                        fits &= (grids[n] > 0) & (np.abs(estimate(grids[k], grids[n]) - drawn) <= 0.5 / 10 ** RATE_DIGITS + 1e-9)
    complement = np.broadcast_to(grids[den] - grids[num], fits.shape)
    return np.unique(complement[fits])


def _share(k, n):
    return k / n


def _wilson_low(k, n, z: float = 1.96):
    p = k / n
    return (p + z * z / (2 * n) - z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def _wilson_high(k, n, z: float = 1.96):
    p = k / n
    return (p + z * z / (2 * n) + z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def _hidden_counts(frame: pd.DataFrame, mart: str, rule: Disclosure,
                   rows_add_up: bool | str = False) -> dict[str, pd.Series]:
    """For each count column, which rows hide it: the count is small (primary), or it is the single smallest
    other of rows that add up to a total shown elsewhere when one of them is small (complementary)."""
    small = {c: frame[c].map(lambda v: is_small(v, rule)).astype(bool) for c in MARTS[mart].counts if c in frame}
    totals = list(MARTS[mart].totals) + ([None] if rows_add_up is True else [rows_add_up] if rows_add_up else [])
    if totals and rule.round_to <= 1:
        small = {column: _with_totals(frame, column, hidden, totals) for column, hidden in small.items()}
    return _with_zeros_of_hidden_wholes(frame, small, mart)


def _with_zeros_of_hidden_wholes(frame: pd.DataFrame, hidden: dict[str, pd.Series],
                                       mart: str) -> dict[str, pd.Series]:
    """A rate's numerator of 0 is hidden wherever its denominator is, and a declared part of 0 wherever its whole
    is: 0 responders beside a hidden number paired says that none of a group of 1 to min_cell - 1 responded (a 0%
    rate of a small group); 0 paired beside a hidden number scored, that none of them had a baseline. A count of
    1 or more under a small one is small itself; one under a count hidden only to protect another row's (exact
    counts) is not, and stays, as no small group is told of. A hidden 0 is no part of a total's complementary
    suppression (only counts above 0 are), so hiding it asks for no other cell. Again until nothing changes: 0
    responders of 0 paired of a hidden number scored."""
    pairs = MARTS[mart].part_of()
    out = dict(hidden)
    while True:
        before = {column: mask.copy() for column, mask in out.items()}
        for part, whole in pairs:
            if part in out and whole in out:
                out[part] = out[part] | (out[whole] & frame[part].eq(0).fillna(False).astype(bool))
        if all(out[column].equals(before[column]) for column in out):
            return out


def _small_counts(frame: pd.DataFrame, mart: str, min_cell: "Disclosure | int",
                  rows_add_up: bool | str = False) -> dict[str, pd.Series]:
    return _hidden_counts(frame, mart, policy(min_cell), rows_add_up)


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
    the shown ones would give it (give or take the rounding), so the smallest other non-zero count is hidden
    too (the least lost)."""
    drawn = (counts > 0).fillna(False).astype(bool)
    hidden = hidden.copy()
    if (hidden & drawn).sum() == 1 and (~hidden & drawn).any():
        hidden[counts.where(~hidden & drawn).idxmin()] = True
    return hidden


def histogram_bins(counts, min_cell: "Disclosure | int") -> pd.Series:
    """Which bins of a histogram to hide: a count from 1 to min_cell - 1, and, as the bins add up to a total
    shown elsewhere (a status's count in a table), with exact counts the smallest other bin when only one is."""
    counts, rule = pd.Series(counts), policy(min_cell)
    if not rule.on:
        return pd.Series(False, index=counts.index)
    small = counts.map(lambda v: is_small(v, rule)).astype(bool)
    return _with_complement(counts, small) if rule.round_to <= 1 else small


@remembered
def suppressed(frame: pd.DataFrame, mart: str, min_cell: "Disclosure | int", rows_add_up: bool | str = False) -> bool:
    """Whether any count or rate of this frame is hidden (to print the note under a chart)."""
    rule = policy(min_cell)
    return rule.on and not frame.empty and any(
        (s & frame[c].notna()).any() for c, s in _hidden(frame, mart, rule, rows_add_up).items())


def hidden_cells(frame: pd.DataFrame, mart: str, min_cell: "Disclosure | int", k: str, n: str) -> pd.Series:
    """Which rows (periods of a p-chart, groups of a funnel) a chart of k / n must not draw at all: k or n
    is small, or the complement n - k is; and, as the rows add up to a total shown elsewhere, the smallest
    other row when exactly one is hidden."""
    rule = policy(min_cell)
    if not rule.on or frame.empty:
        return pd.Series(False, index=frame.index)
    small = _hidden_counts(frame, mart, rule)
    complement = (frame[n] - frame[k]).map(lambda v: is_small(v, rule)).astype(bool)
    hidden = (small[k] | small[n] | complement).astype(bool)
    return _with_complement(frame[n], hidden) if rule.round_to <= 1 else hidden


@remembered
def for_table(frame: pd.DataFrame, mart: str, min_cell: "Disclosure | int",
              rows_add_up: bool | str = False) -> pd.DataFrame:
    """A table as text (the meeting pack): hidden counts read HIDDEN, and so does every rate withheld because it
    is built on one (a blank beside a hidden count reads as a rate left out, not one withheld); a rate of nothing
    measured stays blank. Other counts are rounded, rates are whole percents (with rounded counts a tenth of a
    percent would give the exact count back)."""
    rule = policy(min_cell)
    shown = for_chart(frame, mart, rule, rows_add_up)
    # Counts withheld to protect another figure of their row (rule 3b) read hidden too, not blank.
    small = _hidden(frame, mart, rule, rows_add_up) if rule.on and not frame.empty else {}
    for column in MARTS[mart].counts:
        if column in shown:
            shown[column] = [
                HIDDEN if column in small and hide else ("" if pd.isna(v) else f"{int(v):,}")
                for v, hide in zip(shown[column], small.get(column, [False] * len(frame)))
            ]
    for column in shown.columns:
        if column.endswith(("_rate", "_rate_low", "_rate_high")) or column == "share_of_started":
            exact = frame[column] if column in frame else pd.Series(float("nan"), index=frame.index)
            shown[column] = [("" if pd.isna(known) else HIDDEN) if pd.isna(v) else rate_text(v, rule)
                             for v, known in zip(shown[column], exact)]
    return shown


def rate_text(value: float, min_cell: "Disclosure | int") -> str:
    """A rate in words: whole percents under rounding, tenths in an unsuppressed or internal view."""
    return f"{value:.0%}" if policy(min_cell).round_to > 1 else f"{value:.1%}"


@remembered
def attrition(frame: pd.DataFrame, min_cell: "Disclosure | int") -> pd.DataFrame:
    """The attrition mart as a chart may draw it. Each share is out of every series in the cohort (a count the
    Overview shows), so two sessions shown side by side give the series that stopped between them: a session is
    hidden too when the fall from the last session shown (from every series, for the first) is from 1 to
    min_cell - 1. The falls between the sessions shown are then none or at least min_cell."""
    rule = policy(min_cell)
    shown = for_chart(frame, "attrition", rule)
    known = frame[frame.share_of_started > 0]
    if not rule.on or known.empty:
        return shown
    last = round(known.n_series.iloc[0] / known.share_of_started.iloc[0])  # every series in the cohort
    for i in frame[frame.stage == "session"].sort_values("step").index:
        if pd.isna(shown.share_of_started[i]) or is_small(last - frame.n_series[i], rule):
            shown.loc[i, "n_series"], shown.loc[i, "share_of_started"] = pd.NA, float("nan")
        else:
            last = frame.n_series[i]
    return shown


@remembered
def survival_curve(curve: pd.DataFrame, min_cell: "Disclosure | int", step: int = CURVE_STEP_DAYS) -> pd.DataFrame:
    """A Kaplan-Meier or cumulative-incidence curve (sustained_response, time_to_response: one row per group
    and day with n_at_risk and the estimate) as it may be shown (docs/metrics.md, "Small cells", Curves): the
    exact estimate at day 0, at the end of every week, on any day it has moved more than CURVE_TOLERANCE since
    the last point shown, and on the last day with min_cell or more series at risk, never after it; numbers at
    risk rounded. Drawn day by day, each day's fall with its exact number at risk gives that day's events; a
    week's step holds a week of events and censored series, and the rounded number at risk leaves them
    approximate. Nothing is delayed or merged, so the curve stays within CURVE_TOLERANCE of the estimate
    wherever it is drawn and never stays flat where events happened. A group of fewer than min_cell series
    goes whole (and, with exact counts, the smallest other group when only one goes, as the groups add up to
    the "all series" curve). The median is the day the shown curve crosses half, as the days since the point
    before it ("29-35 days"); one the full curve reaches past the shown one is "past the shown curve"."""
    rule = policy(min_cell)
    if not rule.on or curve.empty:
        return _with_median_text(curve.assign(median_hidden=False))
    value = "survival" if "survival" in curve else "share_responded"
    hidden = _survival_hidden_groups(curve, rule)
    groups = [_weekly(rows.sort_values("day"), rule, value, step)
              for group, rows in curve.groupby("group_value", sort=False) if not hidden[group]]
    groups = [rows for rows in groups if not rows.empty and rows.day.max() > 0]
    if not groups:
        return pd.DataFrame(columns=["group_value", "day", "n_at_risk", value, "median_days", "median_from",
                                     "median_hidden", "median_text"])
    return _with_median_text(pd.concat(groups, ignore_index=True))


def _with_median_text(curve: pd.DataFrame) -> pd.DataFrame:
    """The curve with each group's median in words (median_text) beside it, for the chart's legend: a chart only
    draws what it is given (charts/ does not import disclosure/)."""
    if curve.empty:
        return curve.assign(median_text=pd.Series(dtype="object"))
    words = {group: median_text(rows) for group, rows in curve.groupby("group_value", sort=False)}
    return curve.assign(median_text=curve.group_value.map(words))


def at_risk_on(rows: pd.DataFrame, day: int) -> int:
    """Series at risk at `day`: followed to that day or later (the first row on or after it); 0 past the end."""
    later = rows[rows.day >= day]
    return int(later.n_at_risk.iloc[0]) if len(later) else 0


def estimate_on(rows: pd.DataFrame, day: int, value: str) -> float:
    """The curve's value at `day`: its last step on or before it (1 or 0 before the first)."""
    earlier = rows[rows.day <= day]
    return float(earlier[value].iloc[-1]) if len(earlier) else (0.0 if value == "share_responded" else 1.0)


def _weekly(rows: pd.DataFrame, rule: Disclosure, value: str, step: int) -> pd.DataFrame:
    """One group's curve: day 0, the end of every `step` days, any day on which the estimate has moved more
    than CURVE_TOLERANCE since the last point shown, and the last day with min_cell or more at risk; no day
    after that."""
    last = rows[rows.n_at_risk >= rule.min_cell].day.max()  # at risk only falls: the last such row's day
    points = []
    if not pd.isna(last):
        days = sorted({0, *range(step, int(last) + 1, step), *rows.day[rows.day <= last].astype(int)})
        for day in days:
            estimate = estimate_on(rows, day, value)
            if day == 0 or day % step == 0 or day == last or abs(estimate - points[-1][value]) > CURVE_TOLERANCE:
                point = {"day": day, "n_at_risk": rounded(at_risk_on(rows, day), rule), value: estimate}
                # sustained_response's lower bound (every censored series counted as lost) is drawn beside it
                points.append({**point, **{bound: estimate_on(rows, day, bound) for bound in BOUNDS if bound in rows}})
    bounds = [bound for bound in BOUNDS if bound in rows]
    shown = pd.DataFrame(points, columns=["day", "n_at_risk", value, *bounds])
    if rule.round_to > 1:
        # Each estimate to whole percents (chosen above on the exact one, so a point is never added or left out by
        # the rounding): with the rounded number at risk, an exact step 1 - d / n would give n and d back.
        shown[[value, *bounds]] = shown[[value, *bounds]].astype("float64").round(RATE_DIGITS)
    half = shown.day[shown[value] <= 0.5] if value == "survival" else shown.day[shown[value] >= 0.5]
    median = int(half.iloc[0]) if len(half) else None
    before = shown.day[shown.day < median] if median is not None else shown.day.iloc[0:0]
    reached = "median_days" in rows and not pd.isna(rows.median_days.iloc[0])
    return shown.assign(group_value=rows.group_value.iloc[0], median_days=median,
                        median_from=int(before.iloc[-1]) if len(before) else 0,
                        median_hidden=median is None and reached)[
        ["group_value", "day", "n_at_risk", value, *bounds, "median_days", "median_from", "median_hidden"]]


def median_text(rows: pd.DataFrame) -> str:
    """A curve's median in words: the week it falls in ("29-35 days"), or past the shown curve, or not reached."""
    median = rows.median_days.iloc[0]
    if pd.isna(median):
        return "past the shown curve" if "median_hidden" in rows and rows.median_hidden.iloc[0] else "not reached"
    first = int(rows.median_from.iloc[0]) + 1 if "median_from" in rows else int(median)
    return f"{int(median)} days" if first >= int(median) else f"{first}-{int(median)} days"


def _survival_hidden_groups(curve: pd.DataFrame, rule: Disclosure) -> pd.Series:
    """Groups of a curve's split whose n (series at risk on the first day) is small, and, as the groups add
    up to the "all series" curve's n, with exact counts the smallest other one when only one is."""
    n = curve.sort_values("day").groupby("group_value", sort=False).n_at_risk.first()
    small = n.map(lambda v: is_small(v, rule)).astype(bool)
    return _with_complement(n, small) if rule.round_to <= 1 else small


def survival_groups(curve: pd.DataFrame, min_cell: "Disclosure | int") -> dict[str, str]:
    """Each group's n as shown beside its curve: HIDDEN (small, or to protect a small one) or the rounded count."""
    rule = policy(min_cell)
    n = curve.sort_values("day").groupby("group_value", sort=False).n_at_risk.first()
    hidden = _survival_hidden_groups(curve, rule) if rule.on else n.map(lambda v: False)
    return {group: HIDDEN if hidden[group] else count_text(count, rule) for group, count in n.items()}


def followed_up_text(curve: pd.DataFrame, group: str, min_cell: "Disclosure | int") -> str:
    """'X of Y responders have a later score' for a sustained_response group: each count hidden when small or
    rounded, and the followed-up hidden when the responders with no later score (their difference) are few."""
    row = curve[curve.group_value == group].iloc[0]
    followed, responders = int(row.n_followed_up), int(row.n_responders)
    if policy(min_cell).on and is_small(responders - followed, min_cell):
        return f"{HIDDEN} of {count_text(responders, min_cell)} responders have a later score"
    return f"{count_text(followed, min_cell)} of {count_text(responders, min_cell)} responders have a later score"


def count_text(count, min_cell: "Disclosure | int") -> str:
    """A count in words as shown: HIDDEN when small, else rounded (exact in an internal or unsuppressed view)."""
    rule = policy(min_cell)
    if is_small(count, rule):
        return HIDDEN
    return "" if pd.isna(count) else f"{int(rounded(count, rule) if rule.on else count):,}"
