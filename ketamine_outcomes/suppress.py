"""Small-cell suppression for anything shown: counts from 1 to min_cell - 1 (CMS: 1-10) and every rate,
interval or mean built on them are hidden. Zero may be shown. The rules for each mart live here once."""

import pandas as pd

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
        "counts": ["n_series", "n_evaluable", "n_scored", "responders", "remitters"],
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
    "blood_pressure": {
        "counts": ["n_sessions", "n_measured", "n_peaks_180"],
        "derived": {"peak_180_rate": ["n_peaks_180", "n_measured"], "median_peak": ["n_measured"],
                    "max_peak": ["n_measured"]},
    },
    "attrition": {"counts": ["n_series"], "derived": {"share_of_started": ["n_series"]}},
    "severity_transitions": {"counts": ["n_series"], "derived": {}},
    "series_counts": {"counts": ["n_series"], "derived": {}},
    "activity": {"counts": ["n_series", "n_active_series", "n_patients", "n_sessions"], "derived": {}},
}


def is_small(count, min_cell: int) -> bool:
    return min_cell > 1 and not pd.isna(count) and 0 < count < min_cell


def for_chart(frame: pd.DataFrame, mart: str, min_cell: int) -> pd.DataFrame:
    """Numbers a chart may draw: suppressed counts and everything built on them become missing."""
    rules = RULES[mart]
    out = frame.copy()
    if min_cell <= 1 or out.empty:
        return out
    small = {c: out[c].map(lambda v: is_small(v, min_cell)) for c in rules["counts"] if c in out}
    for column, bases in rules["derived"].items():
        if column in out:
            hidden = pd.concat([small[b] for b in bases if b in small], axis=1).any(axis=1)
            out[column] = out[column].astype("float64").mask(hidden)
    for column, hidden in small.items():
        out[column] = out[column].astype("Float64").mask(hidden)
    return out


def suppressed(frame: pd.DataFrame, mart: str, min_cell: int) -> bool:
    """Whether any count of this frame is suppressed (to print the note under a chart)."""
    return min_cell > 1 and any(
        frame[c].map(lambda v: is_small(v, min_cell)).any() for c in RULES[mart]["counts"] if c in frame)


def for_table(frame: pd.DataFrame, mart: str, min_cell: int) -> pd.DataFrame:
    """A table to show: suppressed counts read "<11", numbers built on them are blank, rates are percents."""
    shown = for_chart(frame, mart, min_cell)
    for column in RULES[mart]["counts"]:
        if column in shown:
            shown[column] = [
                f"<{min_cell}" if is_small(original, min_cell) else ("" if pd.isna(v) else f"{int(v):,}")
                for original, v in zip(frame[column], shown[column])
            ]
    for column in shown.columns:
        if column.endswith(("_rate", "_rate_low", "_rate_high")) or column == "share_of_started":
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
    return shown


def count_text(count: int, min_cell: int) -> str:
    return f"<{min_cell}" if is_small(count, min_cell) else ("" if pd.isna(count) else f"{int(count):,}")
