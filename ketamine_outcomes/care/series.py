"""Measurement-based care: one treatment series seen whole (its sessions, scores, the range the clinic's
similar closed series went through, and why each definition classified it as it did), and the "not on
track" signal with its calibration on the clinic's closed series.

Every classification shown for a series is read from the marts the population pages use (series_summary,
maintenance, sustained_response) asked about that one series (Cohort.series_ids), never worked out again
here: the series view cannot disagree with the charts. The queries in queries/care/ read one series' rows
(parameterised by its id)."""

from dataclasses import dataclass

import duckdb
import pandas as pd

from ketamine_outcomes.care.relations import registered
from ketamine_outcomes.definitions import OUTCOME_INSTRUMENTS
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.metrics.marts import Cohort
from ketamine_outcomes.store import database

NOT_FOUND = "no series has that id"


def series(con: duckdb.DuckDBPyConnection, series_id: str) -> pd.Series | None:
    """The series' row of int_treatment_series, or None when no series has that id."""
    frame = database.query(con, "care/series", {"series_id": series_id})
    return None if frame.empty else frame.iloc[0]


def sessions(con, series_id: str) -> pd.DataFrame:
    return database.query(con, "care/series_sessions", {"series_id": series_id})


def scores(con, series_id: str) -> pd.DataFrame:
    return database.query(con, "care/series_scores", {"series_id": series_id})


def patient_series(con, series_id: str) -> pd.DataFrame:
    return database.query(con, "care/patient_series", {"series_id": series_id})


def find(con, text: str) -> pd.DataFrame:
    """Series whose id or patient id is `text` or starts with it (at most 20, exact matches first)."""
    text = (text or "").strip()
    if not text:
        return pd.DataFrame(columns=["series_id", "patient_id", "series_number", "start_date", "route"])
    return database.query(con, "care/find_series", {"text": text})


def expected_range_counts(con, instrument: str) -> pd.DataFrame:
    """The closed series' scores on `instrument` counted by baseline, week and score: what every series' expected
    range is drawn from, read once per data version (the page keeps it)."""
    return database.query(con, "care/expected_range_counts", {"instrument": instrument})


def expected_range(con, series_id: str, instrument: str, baseline_score: float,
                   counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Week by week, the middle half of the scores of the clinic's closed series whose baseline was similar, the
    series itself left out. `counts`: expected_range_counts(con, instrument), when already read."""
    if counts is None:
        counts = expected_range_counts(con, instrument)
    with registered(con, expected_range_counts=counts):
        return database.query(con, "care/expected_range", {"series_id": series_id, "instrument": instrument,
                                                           "baseline_score": baseline_score})


@dataclass(frozen=True)
class Classification:
    """What the population marts say about one series on one instrument: its series_summary row, its
    maintenance row (None when it did not complete its induction: boosters are counted after it) and its
    sustained-response rows (empty unless it responded at the end of induction)."""

    instrument: str
    summary: pd.Series
    maintenance: pd.Series | None
    sustained: pd.DataFrame


def maintenance(con, series_id: str) -> pd.Series | None:
    """The series' row of the maintenance mart (boosters, re-induction), asked for it alone; None when it did not
    complete its induction (the mart counts boosters after it). The same for every instrument."""
    rows = marts.maintenance(con, "all", Cohort(series_ids=(series_id,)))
    return None if rows.empty else rows.iloc[0]


UNREAD = "unread"


def classification(con, series_id: str, instrument: str, boosters: pd.Series | None | str = UNREAD
                   ) -> Classification | None:
    """The series as series_summary, maintenance and sustained_response classify it, each asked for this
    series alone; None when the series has no row (no such id). `boosters`: its maintenance row, when already
    read (care.maintenance)."""
    one = Cohort(series_ids=(series_id,))
    summary = marts.series_summary(con, instrument, one)
    if summary.empty:
        return None
    sustained = marts.sustained_response(con, instrument, "all", one)
    if isinstance(boosters, str):
        boosters = maintenance(con, series_id)
    return Classification(instrument, summary.iloc[0], boosters, sustained)


def instruments_of(scored: pd.DataFrame) -> list[str]:
    """The outcome instruments the series was scored on, in the product's order."""
    present = set(scored.instrument)
    return [name for name in OUTCOME_INSTRUMENTS if name in present]


def reasons(found: Classification, one: pd.Series, settings: dict[str, float]) -> list[tuple[str, str, str]]:
    """Why each definition classified the series as it did: (definition, result, because), worded from the
    marts' columns (`one`: the series' int_treatment_series row; `settings`: the settings in force)."""
    row, instrument = found.summary, found.instrument
    completed, needed = int(row.sessions_completed), int(one.induction_sessions)
    # The induction and a dropout are judged on the series' first run (int_treatment_series): a maintenance booster
    # after a gap neither completes an induction nor undoes a dropout.
    first_run = int(one.first_run_sessions) if "first_run_sessions" in one.index else completed
    window = int(settings["end_of_induction_days"])
    quiet = int(settings["dropout_quiet_days"])
    reached = pd.notna(one.induction_day)
    later = f", then {completed - first_run} after a gap (maintenance)" if completed > first_run else ""
    if reached:
        sessions_text = (f"{first_run} completed sessions in its first run{later}; the {one.route} induction ends at "
                         f"session {needed}, on series day {int(one.induction_day - one.start_day)}")
    else:
        sessions_text = f"{first_run} of the {needed} completed sessions the {one.route} induction needs{later}"
    if row.is_dropped_out:
        dropout = ("yes", f"short of the induction and no session of its first run in the last {quiet} days of the data")
    elif reached:
        dropout = ("no", "it completed the induction")
    else:
        dropout = ("no", f"short of the induction, but a session in the last {quiet} days of the data: still active")
    # In the order series_summary decides is_evaluable: without a baseline a series enters no end-of-induction
    # figure, a dropout included (it is not an intention-to-treat non-responder on an instrument never scored).
    if pd.isna(row.baseline_score):
        evaluable = ("no", f"no {instrument} baseline: it enters no end-of-induction figure on {instrument}"
                     + (", though it dropped out" if row.is_dropped_out else ""))
    elif row.is_dropped_out:
        evaluable = ("yes", "it dropped out: it counts in end-of-induction figures as not responding")
    elif row.is_evaluable:
        evaluable = ("yes", f"the {window}-day end-of-induction window has closed before the data's last day")
    elif reached:
        evaluable = ("not yet", f"its {window}-day end-of-induction window is still open: the status may change")
    else:
        evaluable = ("not yet", "still in its induction (neither completed nor dropped out): the status may change")
    if pd.isna(row.baseline_score):
        scored = ("no", f"no {instrument} score in the baseline window before the first session")
    elif pd.notna(row.end_score):
        scored = ("yes", f"end-of-induction score {int(row.end_score)} against a baseline of {int(row.baseline_score)}")
    elif reached and row.is_evaluable:
        scored = ("no", f"reached the end of induction but no {instrument} score in the {window} days after it")
    elif reached:
        scored = ("not yet", f"reached the end of induction; its {window}-day window for a score is still open")
    else:
        scored = ("no", "it has not reached the end of its induction")
    rows = [
        ("completed sessions", str(completed), sessions_text),
        ("dropped out", *dropout),
        ("evaluable", *evaluable),
        ("scored at end of induction", *scored),
        ("end-of-induction status", row.end_status, _status_words(row.end_status, instrument)),
    ]
    if found.maintenance is None:
        rows.append(("boosters", "not counted", "boosters are counted after a completed induction"))
        rows.append(("re-induction", "not counted", "re-inductions are counted after a completed induction"))
    else:
        boosters = int(found.maintenance.n_boosters)
        rows.append(("boosters", str(boosters), "completed sessions of this series after the induction's last one"
                     if boosters else "no completed session of this series after the induction's last one"))
        again = int(found.maintenance.n_reinducted) > 0
        rows.append(("re-induction", "yes" if again else "no",
                     "the patient has a later series" if again else "the patient has no later series"))
    rows.append(("response lost or kept", *_durability(found.sustained, row)))
    return rows


def _status_words(status: str, instrument: str) -> str:
    return {
        "remission": f"{instrument} score within the remission cut-off at the end of induction",
        "response": "the end-of-induction score fell to the response threshold or below (not within remission)",
        "no response": "scored at the end of induction, above the response threshold",
        "no score": "reached the end of induction, not scored in its window",
        "not reached": "fewer completed sessions than the induction",
        "no baseline": f"no {instrument} baseline",
    }.get(status, "")


def _durability(sustained: pd.DataFrame, row: pd.Series) -> tuple[str, str]:
    """sustained_response for one series holds one day: its loss of response (an event) or its last score
    (censored); no row when it did not respond at the end of induction."""
    if sustained.empty:
        return "not followed", "only a response at the end of induction is followed"
    last = sustained.iloc[-1]
    if int(last.n_events) > 0:
        return "lost", (f"{int(last.day)} days after the end-of-induction score: a later score above the response "
                        "threshold, or the patient's next series began")
    if int(last.day) == 0:
        return "kept so far", "no score after the end-of-induction one yet"
    return "kept", f"still responding at the last score, {int(last.day)} days after the end-of-induction score"


@dataclass(frozen=True)
class Reference:
    """What the "not on track" signal learns from the clinic's closed series, once per data version (the whole
    clinic's, whatever the filters): each route's threshold (route, n_reference, threshold_improvement) and the
    calibration. Small: the page keeps it."""

    thresholds: pd.DataFrame
    calibration: pd.DataFrame


def closed_at_checkpoint(con, instrument: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every closed series' checkpoint (queries/care/checkpoint.sql), flagged as the signal would have flagged
    it; the routes' thresholds, learned from their eventual responders among them)."""
    (quantile,) = con.execute("select value from settings where name = 'not_on_track_quantile'").fetchall()[0]
    closed = database.query(con, "care/checkpoint", {"instrument": instrument, "closed": True,
                                                  "cohort": Cohort().as_parameter()})
    with registered(con, checkpoint_closed=closed):
        thresholds = database.query(con, "care/checkpoint_thresholds", {"quantile": quantile})
    return flag_at_checkpoint(con, closed, thresholds), thresholds


def calibration_of(con, closed: pd.DataFrame) -> pd.DataFrame:
    """How the flag fared on the closed series (closed_at_checkpoint's): queries/care/not_on_track_calibration.sql."""
    with registered(con, checkpoint_series=closed):
        return database.query(con, "care/not_on_track_calibration")


def checkpoint_reference(con, instrument: str) -> Reference:
    """The signal's reference on `instrument`: the routes' thresholds and the calibration."""
    closed, thresholds = closed_at_checkpoint(con, instrument)
    return Reference(thresholds, calibration_of(con, closed))


def active_at_checkpoint(con, instrument: str, cohort: Cohort | None, thresholds: pd.DataFrame) -> pd.DataFrame:
    """The active series in the cohort scored at their checkpoint, each flagged or not against its route's
    threshold (`thresholds`: checkpoint_reference's). Reads the active series only: what the list costs grows
    with the series under way, not with the clinic's history."""
    active = database.query(con, "care/checkpoint", {"instrument": instrument, "closed": False,
                                                  "cohort": (cohort or Cohort()).as_parameter()})
    return flag_at_checkpoint(con, active, thresholds)


def flag_at_checkpoint(con, measured: pd.DataFrame, thresholds: pd.DataFrame) -> pd.DataFrame:
    """Rows of queries/care/checkpoint.sql with their route's threshold and is_flagged (checkpoint_flags.sql)."""
    with registered(con, checkpoint_series=measured, checkpoint_thresholds=thresholds):
        return database.query(con, "care/checkpoint_flags")


def not_on_track(con, instrument: str, cohort: Cohort | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the closed series and the cohort's active ones scored at their checkpoint, with is_flagged and is_active;
    the calibration on the clinic's closed series): the page's two reads at once, for the command line and
    the tests. The list to act on: flagged(...)."""
    closed, thresholds = closed_at_checkpoint(con, instrument)
    active = active_at_checkpoint(con, instrument, cohort, thresholds)
    return pd.concat([closed, active], ignore_index=True), calibration_of(con, closed)


def flagged(checkpoint: pd.DataFrame) -> pd.DataFrame:
    """The series to look at now: active, flagged at the checkpoint; the least improved first."""
    rows = checkpoint[checkpoint.is_active & checkpoint.is_flagged]
    return rows.sort_values(["improvement", "series_id"]).reset_index(drop=True)
