"""Notes on the charts: a process change the clinic made ("new dosing protocol" from 2025-03-01), recorded by a
director or analyst. The p-chart marks it and, as NHS England's Making Data Count advises after a deliberate
change, can compute its centre line and limits again from that date; trajectories and the meeting pack list it.

The label is the clinic's own text: kept short, refused when it looks like an identifier (the privacy guard's
patterns, or a patient id this database holds), and escaped wherever it is shown."""

import re
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from ketamine_outcomes.access import audit
from ketamine_outcomes import privacy
from ketamine_outcomes.store import database

MAX_LABEL = 60
COLUMNS = ["note_id", "change_date", "label", "recalculate_limits", "recorded_by", "recorded_at"]


class NoteRefused(ValueError):
    """A note that cannot be recorded; the message says why. Nothing was written."""


def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("select count(*) > 0 from duckdb_tables() where table_name = 'chart_notes'").fetchall()[0][0]


def notes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The notes in force (not taken back), oldest change first. A database from before notes has none."""
    if not _has_table(con):
        return pd.DataFrame(columns=COLUMNS)
    return con.execute("select note_id, change_date, label, recalculate_limits, recorded_by, recorded_at "
                       "from chart_notes where removed_at is null order by change_date, note_id").df()


def clean_label(con: duckdb.DuckDBPyConnection, label: str) -> str:
    """The label as it will be kept (spaces collapsed), or NoteRefused saying why not."""
    text = " ".join(str(label or "").split())
    if not text:
        raise NoteRefused("A note needs a short label, e.g. 'new dosing protocol'.")
    if len(text) > MAX_LABEL:
        raise NoteRefused(f"A label is at most {MAX_LABEL} characters ({len(text)} given): say what changed, briefly.")
    if any(not c.isprintable() for c in text):
        raise NoteRefused("A label is plain text: it holds a control character.")
    found = privacy.identifier_in_text(text)
    if found:
        raise NoteRefused(f"The label looks like it holds {found}. Notes are shown to meetings: describe the "
                          "process change, never a person.")
    if re.search(TITLED_NAME, text):
        raise NoteRefused("The label looks like it names a person (a title and a name). Notes are shown to meetings: "
                          "describe the process change, never a person.")
    (patient,) = con.execute("select count(*) > 0 from (select patient_id from sessions union all "
                             "select patient_id from assessments union all select patient_id from patients) "
                             "where patient_id in (select unnest($words))", {"words": id_candidates(text)}).fetchall()[0]
    if patient:
        raise NoteRefused("The label holds a patient id. Notes are shown to meetings: describe the process change, "
                          "never a person.")
    return text


# A title before a capitalised word: "Dr Smith", "Mrs. Patel". A name without a title cannot be told from a
# site's or a protocol's name, so it is left to the form's warning ("describe the process, never a person").
TITLED_NAME = r"(?i:\b(?:dr|mr|mrs|ms|miss|mx|prof))\.?\s+[A-Z][\w'-]+"


def id_candidates(text: str) -> list[str]:
    """The parts of a label that could be a patient id: its words, split at spaces and punctuation, and again at
    the marks a series id or a path puts beside one ("KP000003#1", "KP000003/notes", "KP000003's"), each as
    written, in upper and in lower case (an id typed in the other case still names the patient)."""
    words = set(re.split(r"[\s,;:()\[\]\"']+", text))
    words |= {part for word in list(words) for part in re.split(r"[#/\\.!?&+=*@]+|'s$", word)}
    return sorted({variant for w in words if w for variant in (w, w.upper(), w.lower())})


def record(con: duckdb.DuckDBPyConnection, change_date: date, label: str, recalculate_limits: bool, email: str,
           role: str) -> int:
    """Keep a note and its audit row in one transaction (both or neither); returns its id."""
    if not isinstance(change_date, date):
        raise NoteRefused("A note needs the date the change took effect.")
    if change_date > date.today():
        raise NoteRefused(f"A note records a change already made: {change_date} is after today.")
    text = clean_label(con, label)

    def write():
        (note_id,) = con.execute(
            "insert into chart_notes (change_date, label, recalculate_limits, recorded_by, role, recorded_at) "
            "values ($day, $label, $recalculate, $email, $role, $at) returning note_id",
            {"day": change_date, "label": text, "recalculate": bool(recalculate_limits), "email": email,
             "role": role, "at": datetime.now(UTC).replace(tzinfo=None)}).fetchall()[0]
        audit.record(con, email, role, "note", f"process change {change_date}: {text}"
                     + (" (limits recalculated from it)" if recalculate_limits else ""))
        return note_id

    return database.transaction(con, write)


def take_back(con: duckdb.DuckDBPyConnection, note_id: int, email: str, role: str) -> None:
    """Take a note off the charts (kept in the table with the time, and in the audit trail)."""

    def write():
        found = con.execute("update chart_notes set removed_at = $at where note_id = $id and removed_at is null "
                            "returning change_date, label", {"id": note_id,
                                                             "at": datetime.now(UTC).replace(tzinfo=None)}).fetchall()
        if not found:
            raise NoteRefused("That note was already taken back.")
        audit.record(con, email, role, "note", f"taken back: process change {found[0][0]}: {found[0][1]}")

    database.transaction(con, write)


def period_start(period: str) -> date | None:
    """The first day of a p-chart period ('2025-03' or '2025-Q1'); None for anything else."""
    month = re.fullmatch(r"(\d{4})-(\d{2})", period)
    if month:
        return date(int(month[1]), int(month[2]), 1)
    quarter = re.fullmatch(r"(\d{4})-Q([1-4])", period)
    if quarter:
        return date(int(quarter[1]), 3 * int(quarter[2]) - 2, 1)
    return None


def placed(notes_in_force: pd.DataFrame, periods) -> pd.DataFrame:
    """Each note with the p-chart period it starts: the first period that begins on or after its date (a period
    the change falls inside mixes before and after, so the new limits start with the next). A note after the
    last period has none (`period` missing); one at the first period recalculates nothing."""
    starts = sorted((period_start(p), p) for p in periods if period_start(p) is not None)
    rows = notes_in_force.copy()
    rows["period"] = [next((p for start, p in starts if start >= pd.Timestamp(day).date()), None)
                      for day in rows.change_date]
    # A change dated before the first period charted has no "before" to set limits apart from: marked, and its
    # request to recalculate is moot there (the chart must not say "limits recalculated" where none were).
    first = starts[0][1] if starts else None
    rows["recalculate_limits"] = rows.recalculate_limits.astype(bool) & (rows.period != first)
    return rows


def breaks(notes_in_force: pd.DataFrame, periods) -> list[str]:
    """The periods from which the p-chart computes its limits again: those of notes that ask for it."""
    rows = placed(notes_in_force, periods)
    return sorted({p for p, again in zip(rows.period, rows.recalculate_limits) if p and again})
