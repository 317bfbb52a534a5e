"""The benchmark's baseline: the Overview's marts written the way an analyst would in pandas, from the
same definitions (docs/metrics.md), starting from in-memory frames of the stored tables.

It is deliberately plain (groupby, merge_asof, vectorised columns; no Python loops over rows), so the
ratio measures the design, not a strawman. tests/test_bench_baseline.py proves it gives the marts'
numbers on sample_data/.
"""

import numpy as np
import pandas as pd

from ketamine_outcomes.definitions import INSTRUMENTS, SETTINGS

GAP = SETTINGS["series_gap_days"].value
WINDOW = SETTINGS["baseline_window_days"].value
# Outcome instruments only (CADSS, a dissociation measure, has no response rule).
RESPONSE = {i.name: SETTINGS[f"response_fraction_{i.key}"].value for i in INSTRUMENTS.values()
            if f"response_fraction_{i.key}" in SETTINGS}
INDUCTION = {route: int(SETTINGS[f"induction_sessions_{route.lower()}"].value)
             for route in ("IV", "IM", "intranasal", "oral")}
END_DAYS = SETTINGS["end_of_induction_days"].value
QUIET = SETTINGS["dropout_quiet_days"].value
REINDUCTION_SESSIONS = SETTINGS["reinduction_min_sessions"].value
REINDUCTION_DAYS = SETTINGS["reinduction_window_days"].value


def intermediate(sessions: pd.DataFrame, assessments: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Series, placed assessments, baselines and weekly scores (the int_* tables)."""
    done = sessions[sessions.status == "completed"].sort_values(["patient_id", "session_day", "session_id"])
    done = done.reset_index(drop=True)
    previous = done.groupby("patient_id").session_day.shift()
    after_gap = (done.session_day - previous) > GAP
    # A gap starts a series only for a re-induction: enough sessions within the window from the first after
    # it (counted on one sorted key per patient and day), or an outcome questionnaire before it.
    key = done.patient_id.astype("category").cat.codes.astype("int64") * 10_000_000 + done.session_day
    in_window = np.searchsorted(key.values, (key + REINDUCTION_DAYS).values, side="right") - np.arange(len(done))
    gapped = done[after_gap].assign(previous_day=previous[after_gap])
    outcome = assessments[assessments.instrument.isin(list(RESPONSE))][["patient_id", "assessment_day"]]
    scored = gapped.merge(outcome, on="patient_id")
    scored = scored[(scored.assessment_day > scored.previous_day)
                    & scored.assessment_day.between(scored.session_day - WINDOW, scored.session_day - 1)]
    new_baseline = done.session_id.isin(scored.session_id) & after_gap
    starts = previous.isna() | (after_gap & ((in_window >= REINDUCTION_SESSIONS) | new_baseline))
    done = done.assign(series_number=starts.astype(int).groupby(done.patient_id).cumsum())
    done["session_number"] = done.groupby(["patient_id", "series_number"]).cumcount() + 1
    # The first run: before any gap within the series (a late booster's sessions are not the induction's).
    done["is_first_run"] = (after_gap & ~starts).astype(int).groupby(
        [done.patient_id, done.series_number]).cumsum() == 0
    grouped = done.groupby(["patient_id", "series_number"])
    series = grouped.agg(start_day=("session_day", "min"), last_session_day=("session_day", "max"),
                         sessions_completed=("session_day", "size")).reset_index()
    run = done[done.is_first_run].groupby(["patient_id", "series_number"]).agg(
        first_run_sessions=("session_day", "size"), first_run_last_day=("session_day", "max")).reset_index()
    series = series.merge(run, on=["patient_id", "series_number"])
    # The series' route: its most frequent (ties: earliest) among its sessions; it sets the induction length.
    route_counts = done.groupby(["patient_id", "series_number", "route"]).agg(
        n=("session_day", "size"), first=("session_day", "min")).reset_index()
    route = route_counts.sort_values(["n", "first"], ascending=[False, True]).drop_duplicates(
        ["patient_id", "series_number"])[["patient_id", "series_number", "route"]]
    series = series.merge(route, on=["patient_id", "series_number"])
    series["induction_sessions"] = series.route.map(INDUCTION).fillna(INDUCTION["IV"]).astype(int)
    done = done.merge(series[["patient_id", "series_number", "induction_sessions"]], on=["patient_id", "series_number"])
    induction = done[done.is_first_run & (done.session_number == done.induction_sessions)][
        ["patient_id", "series_number", "session_day"]]
    series = series.merge(induction.rename(columns={"session_day": "induction_day"}), how="left",
                          on=["patient_id", "series_number"])
    last_day = max(sessions.session_day.max(), assessments.assessment_day.max())
    series["data_last_day"] = last_day
    series["series_id"] = series.patient_id + "#" + series.series_number.astype(str)
    series["is_dropped_out"] = ((series.first_run_sessions < series.induction_sessions)
                                & (series.first_run_last_day < last_day - QUIET))

    windows = series.assign(window_start=series.start_day - WINDOW).sort_values("window_start")
    placed = pd.merge_asof(assessments.sort_values("assessment_day"), windows, left_on="assessment_day",
                           right_on="window_start", by="patient_id", direction="backward").dropna(subset=["series_id"])
    placed["series_day"] = placed.assessment_day - placed.start_day
    placed["week"] = np.where(placed.series_day <= 0, 0, np.ceil(placed.series_day / 7)).astype(int)

    in_window = placed[placed.series_day.between(-WINDOW, 0)].sort_values("assessment_day")
    baselines = in_window.groupby(["series_id", "instrument"]).tail(1)[["series_id", "instrument", "score"]]
    baselines = baselines.rename(columns={"score": "baseline_score"})

    follow = placed[placed.week >= 1].sort_values("assessment_day")
    weekly = follow.groupby(["series_id", "instrument", "week"]).tail(1)[["series_id", "instrument", "week", "score",
                                                                          "assessment_day"]]
    weekly = weekly.merge(baselines, how="left", on=["series_id", "instrument"])
    remission = weekly.instrument.map({i.name: i.remission_max for i in INSTRUMENTS.values()})
    weekly["is_paired"] = weekly.baseline_score.notna()
    weekly["change"] = weekly.score - weekly.baseline_score
    weekly["is_response"] = (weekly.baseline_score > 0) & (weekly.score <= weekly.instrument.map(RESPONSE) * weekly.baseline_score)
    weekly["is_remission"] = weekly.score <= remission
    return {"series": series, "placed": placed, "baselines": baselines, "weekly": weekly,
            "completed": done}


def weekly_outcomes(parts: dict, instrument: str) -> pd.DataFrame:
    baselines = parts["baselines"][parts["baselines"].instrument == instrument]
    week0 = pd.DataFrame({"week": [0], "n_scored": [len(baselines)], "mean_score": [baselines.baseline_score.mean()]})
    weekly = parts["weekly"][parts["weekly"].instrument == instrument]
    paired = weekly[weekly.is_paired]
    follow = weekly.groupby("week").agg(n_scored=("score", "size"), mean_score=("score", "mean")).join(
        paired.groupby("week").agg(n_paired=("score", "size"), mean_change=("change", "mean"),
                                   responders=("is_response", "sum"), remitters=("is_remission", "sum"))
    ).reset_index()
    # A week whose scores are all unpaired has no paired rows to join: its counts are 0, as in the mart.
    follow = follow.fillna({"n_paired": 0, "responders": 0, "remitters": 0})
    return pd.concat([week0, follow], ignore_index=True)


def end_of_induction(parts: dict, instrument: str) -> pd.DataFrame:
    series = parts["series"]
    baselines = parts["baselines"][parts["baselines"].instrument == instrument]
    placed = parts["placed"][parts["placed"].instrument == instrument]
    window = placed.merge(series[["series_id", "induction_day"]], on="series_id", suffixes=("", "_s"))
    window = window[window.assessment_day.between(window.induction_day_s, window.induction_day_s + END_DAYS)]
    ends = window.sort_values("assessment_day").groupby("series_id").tail(1)[["series_id", "score"]]
    rows = baselines.merge(series, on="series_id").merge(ends.rename(columns={"score": "end_score"}), how="left",
                                                         on="series_id")
    remission = INSTRUMENTS[instrument].remission_max
    rows["is_evaluable"] = rows.is_dropped_out | (rows.induction_day + END_DAYS <= rows.data_last_day)
    rows["is_response"] = (rows.baseline_score > 0) & (rows.end_score <= RESPONSE[instrument] * rows.baseline_score)
    rows["is_remission"] = rows.end_score <= remission
    evaluable = rows[rows.is_evaluable]
    return pd.DataFrame({
        "n_series": [len(rows)], "n_evaluable": [len(evaluable)], "n_scored": [evaluable.end_score.notna().sum()],
        "responders": [evaluable.is_response.sum()], "remitters": [evaluable.is_remission.sum()],
    })


def attrition_sessions(parts: dict) -> pd.DataFrame:
    completed = parts["series"].sessions_completed
    steps = np.arange(1, completed.max() + 1)
    return pd.DataFrame({"step": steps, "n_series": [(completed >= s).sum() for s in steps]})


def activity(parts: dict) -> pd.DataFrame:
    series = parts["series"]
    return pd.DataFrame({
        "n_series": [len(series)],
        "n_active_series": [(series.last_session_day >= series.data_last_day - QUIET).sum()],
        "n_patients": [series.patient_id.nunique()],
        "n_sessions": [len(parts["completed"])],
    })


def overview(sessions: pd.DataFrame, assessments: pd.DataFrame, instrument: str = "PHQ-9") -> dict[str, pd.DataFrame]:
    """Everything the Overview page needs, from the stored tables."""
    parts = intermediate(sessions, assessments)
    return {"weekly_outcomes": weekly_outcomes(parts, instrument), "end_of_induction": end_of_induction(parts, instrument),
            "attrition": attrition_sessions(parts), "activity": activity(parts)}
