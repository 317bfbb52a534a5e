"""Case-mix adjusted comparison of sites and clinicians: a clinician who treats sicker patients looks worse on
raw response rates. A logistic model of end-of-induction response on what a site cannot choose about its
patients (baseline severity, route, indication, age band, sex) is fitted on every series scored; a group's
expected responders are the sum of its series' predicted probabilities (indirect standardisation), and its
observed / expected ratio is placed on a funnel around 1 (Spiegelhalter 2005). The group itself is not in the
model: the question is whether it does better or worse than its patients would predict.

statsmodels fits the model (a maintained maximum-likelihood fit that reports non-convergence and perfect
separation, which a hand-written Newton iteration would have to reinvent). When the data cannot support a
model (too few series or responders, nothing to compare, separation) the result says why in a sentence
instead of showing numbers that mean nothing."""

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ketamine_outcomes.metrics.quality import FUNNEL_Z

# The case mix, in the order a sentence names it.
CASE_MIX = {"baseline_score": "baseline severity", "route": "route", "indication": "indication",
            "age_band": "age band", "sex": "sex"}
CATEGORICAL = ("route", "indication", "age_band", "sex")
# At least this many of the rarer outcome (responders or non-responders) per model parameter, or the fitted
# probabilities are unstable. Peduzzi 1996 (J Clin Epidemiol 49(12):1373-9) asked for 10; Vittinghoff &
# McCulloch 2007 (Am J Epidemiol 165(6):710-8) found 5-9 acceptable in most settings. Between the two the
# comparison is shown with a caution.
EVENTS_PER_PARAMETER = 5
EVENTS_PER_PARAMETER_CAUTION = 10
# A level of a categorical term with fewer series than this is pooled with the other rare levels of that term:
# a handful of series gives its own coefficient no footing (and often all or none responded: separation).
MIN_LEVEL_SERIES = 10
RARE = "other (each under 10 series)"
# The dimensions compared after adjustment: route is in the model (each route's ratio would be 1 by
# construction), and so are indication, age band and sex.
ADJUSTED_DIMENSIONS = ("site", "clinician")


@dataclass(frozen=True)
class NoteCounts:
    """What a note about the model states, as numbers: a view that rounds counts (the Compare page, the pack)
    rounds these before the words are made (model_note), so no change of wording can leave a count exact."""
    kind: str  # "fitted" (what the model adjusted for) or "too few" (why there is no model)
    parameters: int
    n_series: int  # series the model was (or would have been) fitted on
    rarer: int  # the rarer outcome's series (responders or non-responders)
    rarer_name: str  # "responders" or "non-responders"
    used: tuple[str, ...] = ()  # the case mix in the model, as a sentence names it
    left_out: tuple[str, ...] = ()  # ... and that left out (one value only)


def exact_count(count: int) -> str:
    return f"{count:,}"


def model_note(counts: NoteCounts, count: Callable[[int], str] | None = None) -> str:
    """The note in words from its numbers. `count`: how a count reads where it is shown (suppress.count_text with
    the view's rule: hidden or rounded); None, exact. Under a `count` the rarer outcome per term is not given as a
    number (with the terms it gives the rarer count back), only as below the caution threshold."""
    text = count or exact_count
    if counts.kind == "too few":
        return (f"No adjusted comparison: too few series for a model of {counts.parameters} terms "
                f"({text(counts.rarer)} {counts.rarer_name}; at least "
                f"{EVENTS_PER_PARAMETER * max(counts.parameters, 1)} needed, {EVENTS_PER_PARAMETER} per term, "
                "Vittinghoff & McCulloch 2007). The raw funnel stands alone.")
    note = "Adjusted for " + ", ".join(counts.used) + (
        f" ({', '.join(counts.left_out)}: one value only here, so not in the model)" if counts.left_out else "")
    note += (f": a logistic model of {counts.parameters} terms fitted on {text(counts.n_series)} series scored at "
             "the end of induction.")
    if counts.rarer < EVENTS_PER_PARAMETER_CAUTION * counts.parameters:
        per_term = (f"fewer than {EVENTS_PER_PARAMETER_CAUTION} {counts.rarer_name} per term (" if count else
                    f"{counts.rarer / counts.parameters:.1f} {counts.rarer_name} per term (fewer than "
                    f"{EVENTS_PER_PARAMETER_CAUTION}, ")
        note += (f" With {per_term}Peduzzi 1996) the expected counts are less stable: read a group near a limit "
                 "with care.")
    return note


@dataclass(frozen=True)
class Adjusted:
    """The adjusted comparison: one row per group (empty when no model), and in words the model or why none."""

    groups: pd.DataFrame  # group, n, observed, expected, ratio, ratio limits, outside
    curves: pd.DataFrame  # expected, lower/upper limits at 95% and 99.8%, for the funnel's lines
    note: str  # what the model adjusted for; or why there is no model (then groups and curves are empty)
    n_series: int = 0
    overall_rate: float = math.nan
    counts: NoteCounts | None = None  # the numbers `note` states, when it states any (model_note)

    @property
    def fitted(self) -> bool:
        return not self.groups.empty


def _empty(note: str, n_series: int = 0, counts: NoteCounts | None = None) -> Adjusted:
    columns = ["group", "n", "observed", "expected", "ratio", "variance", "lower_95%", "upper_95%",
               "lower_99.8%", "upper_99.8%", "outside"]
    return Adjusted(pd.DataFrame(columns=columns), pd.DataFrame(columns=["expected"]), note, n_series, counts=counts)


def only(adjusted: Adjusted, groups) -> Adjusted:
    """The comparison with only these groups (those the raw funnel shows under small-cell suppression): a hidden
    group's responders would follow from its ratio and expected count."""
    kept = adjusted.groups[adjusted.groups.group.isin(set(groups))].reset_index(drop=True)
    note, counts = adjusted.note, adjusted.counts
    if adjusted.fitted and kept.empty:  # a model, but no group to show: say so, not what it adjusted for
        note, counts = "No adjusted comparison can be shown: every group is hidden (small-cell suppression).", None
    return Adjusted(kept, adjusted.curves, note, adjusted.n_series, adjusted.overall_rate, counts)


def design(series: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The model's design matrix: an intercept, baseline score, and one indicator per level of each categorical
    term but its most frequent (the reference; ties broken by name, so the same data gives the same model). A term
    with a single level says nothing and is left out. Returns (matrix, the terms left out)."""
    columns = {"const": np.ones(len(series)), "baseline_score": series.baseline_score.astype(float).to_numpy()}
    left_out = []
    if series.baseline_score.nunique() < 2:
        del columns["baseline_score"]
        left_out.append("baseline_score")
    for term in CATEGORICAL:
        counts = series[term].value_counts()
        if len(counts) < 2:
            left_out.append(term)
            continue
        reference = sorted(counts[counts == counts.max()].index)[0]
        for level in sorted(counts.index):
            if level != reference:
                columns[f"{term}={level}"] = (series[term] == level).astype(float).to_numpy()
    return pd.DataFrame(columns, index=series.index), left_out


def pooled(series: pd.DataFrame) -> pd.DataFrame:
    """The series with each categorical term's rare levels (fewer than MIN_LEVEL_SERIES series) pooled as RARE;
    when the pooled levels are still fewer than that, they join the term's most frequent level instead, and take
    no coefficient of their own (three series of one sex, all responding, would otherwise separate the model)."""
    series = series.copy()
    for term in CATEGORICAL:
        counts = series[term].value_counts()
        rare = counts.index[counts < MIN_LEVEL_SERIES]
        if len(rare) == 0 or len(rare) == len(counts):
            continue
        common = sorted(counts[counts == counts.max()].index)[0]
        series[term] = series[term].where(~series[term].isin(rare),
                                          RARE if counts[rare].sum() >= MIN_LEVEL_SERIES else common)
    return series


def separated_levels(series: pd.DataFrame) -> list[str]:
    """Levels of a categorical term in which every series responded, or none did: the model's estimate for them
    is infinite (perfect separation), so its expected counts mean nothing."""
    found = []
    for term in CATEGORICAL:
        if series[term].nunique() < 2:
            continue
        rates = series.groupby(term).is_response.mean()
        found += [f"{CASE_MIX[term]} {level} ({'all' if rate == 1 else 'none'} responded)"
                  for level, rate in rates.items() if rate in (0, 1)]
    return found


def adjusted_comparison(series: pd.DataFrame, points: int = 100) -> Adjusted:
    """Observed and expected responders per group from a logistic model of response on the case mix.

    `series`: the casemix_series mart (one row per series scored at the end of induction: group_value,
    is_response, baseline_score, route, indication, age_band, sex).

    Each group's expected responders E = sum of its series' fitted probabilities; the ratio O / E; under the
    hypothesis that the group does as its patients predict, O has variance about E (1 - p), p the overall
    response rate, so the limits are 1 +/- z sqrt(E (1 - p)) / E for 95% and 99.8% (the normal approximation
    to the binomial, as the raw funnel; quality.funnel). The same formula draws the funnel's lines and decides
    which groups fall outside them, so the picture and the words agree.
    """
    series = pooled(series.dropna(subset=["is_response", "baseline_score"]))
    n = len(series)
    if series.group_value.nunique() < 2:
        return _empty("No adjusted comparison: fewer than two groups have series scored at the end of induction, "
                      "so there is nothing to compare.", n)
    responders = int(series.is_response.sum())
    rarer = min(responders, n - responders)
    if rarer == 0:
        return _empty(f"No adjusted comparison: {'every' if responders else 'no'} series scored at the end of "
                      "induction responded, so there is no variation for a model to explain.", n)
    matrix, left_out = design(series)
    parameters = matrix.shape[1] - 1
    rarer_name = "responders" if rarer == responders else "non-responders"
    if rarer < EVENTS_PER_PARAMETER * max(parameters, 1):
        counts = NoteCounts("too few", parameters, n, rarer, rarer_name)
        return _empty(model_note(counts), n, counts)
    separated = separated_levels(series)
    if separated:
        return _empty("No adjusted comparison: in some groups of patients everyone or no one responded ("
                      + "; ".join(separated) + "), so a model cannot estimate their chance of response "
                      "(perfect separation). Wider filters may give it enough series.", n)
    fitted = _fit(series.is_response.astype(float).to_numpy(), matrix)
    if fitted is None:
        return _empty("No adjusted comparison: the model of response on the case mix did not converge (perfect "
                      "or near-perfect separation), so its expected counts would mean nothing.", n)
    p = responders / n
    groups = (series.assign(expected=fitted).groupby("group_value", sort=True)
              .agg(n=("is_response", "size"), observed=("is_response", "sum"), expected=("expected", "sum"))
              .reset_index().rename(columns={"group_value": "group"}))
    groups["observed"] = groups.observed.astype(int)
    groups["ratio"] = groups.observed / groups.expected
    groups["variance"] = groups.expected * (1 - p)
    for name, lower, upper in _limits(groups.expected, p):
        groups[f"lower_{name}"], groups[f"upper_{name}"] = lower, upper
    groups["outside"] = [_outside(row) for row in groups.to_dict("records")]
    top = max(float(groups.expected.max()) * 1.1, 5.0)
    grid = pd.Series(sorted({max(0.5, top * i / points) for i in range(points + 1)}))
    curves = pd.DataFrame({"expected": grid, "centre": 1.0})
    for name, lower, upper in _limits(grid, p):
        curves[f"lower_{name}"], curves[f"upper_{name}"] = lower, upper
    counts = NoteCounts("fitted", parameters, n, rarer, rarer_name,
                        used=tuple(CASE_MIX[t] for t in CASE_MIX if t not in left_out),
                        left_out=tuple(CASE_MIX[t] for t in left_out))
    return Adjusted(groups, curves, model_note(counts), n, p, counts)


def _fit(outcome: np.ndarray, matrix: pd.DataFrame) -> np.ndarray | None:
    """Fitted probabilities of response, or None when the fit did not converge or met separation."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            result = sm.Logit(outcome, matrix.to_numpy()).fit(disp=0, maxiter=100)
        except (PerfectSeparationError, PerfectSeparationWarning, ConvergenceWarning, np.linalg.LinAlgError):
            return None
    if not result.mle_retvals.get("converged", False):
        return None
    return np.asarray(result.predict(matrix.to_numpy()))


def _limits(expected: pd.Series, p: float):
    """(level, lower, upper) ratio limits around 1 for each expected count."""
    spread = np.sqrt(expected * (1 - p)) / expected
    for name, z in FUNNEL_Z.items():
        yield name, (1 - z * spread).clip(lower=0), 1 + z * spread


def _outside(row: dict) -> str:
    """Which limit a group's ratio falls outside, as the raw funnel says it ("above 99.8%"), or ""."""
    for name in ("99.8%", "95%"):
        if row["ratio"] > row[f"upper_{name}"]:
            return f"above {name}"
        if row["ratio"] < row[f"lower_{name}"]:
            return f"below {name}"
    return ""


def in_words(adjusted: Adjusted, label: str, raw: pd.DataFrame | None = None) -> str:
    """Which groups differ from what their case mix predicts, in a sentence; beside it, a group the raw funnel
    (quality.funnel's units) put outside its limits that adjustment brings inside, or the reverse."""
    if not adjusted.fitted:
        return adjusted.note
    groups = adjusted.groups
    outside = groups[groups.outside != ""]
    if outside.empty:
        found = f"After adjustment no {label} differs from what its patients predict by more than chance."
    else:
        found = "After adjustment, " + "; ".join(
            f"{row.group} is {row.outside.replace('above', 'above the').replace('below', 'below the')} limit "
            f"({row.observed} responders where {row.expected:.1f} were expected, ratio {row.ratio:.2f})"
            for row in outside.itertuples()) + ("; every other " + label + " is within the limits." if
                                                len(outside) < len(groups) else ".")
    if raw is None or raw.empty:
        return found
    was = dict(zip(raw.group, raw.outside))
    now = dict(zip(groups.group, groups.outside))
    inside_now = [g for g in now if was.get(g) and not now[g]]
    outside_now = [g for g in now if now[g] and g in was and not was[g]]
    changes = []
    if inside_now:
        changes.append(f"{', '.join(inside_now)} {'is' if len(inside_now) == 1 else 'are'} outside the raw funnel's "
                       "limits but within them once case mix is taken into account")
    if outside_now:
        changes.append(f"{', '.join(outside_now)} {'is' if len(outside_now) == 1 else 'are'} within the raw "
                       "funnel's limits but outside them after adjustment")
    return found + (" " + "; ".join(changes) + "." if changes else "")
