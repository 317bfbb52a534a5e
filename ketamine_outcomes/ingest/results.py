"""What an ingest tells its caller: a file's BatchResult, problems counted by reason, and the error
raised when some files were stored before another failed."""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ketamine_outcomes import privacy
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.contract import MissingColumns


@dataclass
class BatchResult:
    file_name: str
    kind: str | None = None
    batch_id: int | None = None
    rows_read: int = 0
    rows_inserted: int = 0
    rows_replaced: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    rows_with_warnings: int = 0
    lines_known: int = 0  # lines an earlier batch stored as they are: counted duplicate, not checked again
    filed_before: int | None = None  # the batch of this very file that holds its rejects and warnings
    columns_ignored: list[str] = field(default_factory=list)
    date_style: str | None = None
    source: str | None = None  # how the file was read, when not plain UTF-8 CSV: "Windows-1252", "sheet 'Visits'"
    refused: str | None = None
    after: str | None = None  # what failed after this batch was stored (a full disk during the build)
    skipped: str | None = None  # a sheet or zip member that holds no export
    missing: MissingColumns | None = None  # a refusal a column mapping can answer
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> str:
        if self.skipped:
            return f"{self.file_name}: {self.skipped}."
        if self.refused:
            return f"{self.file_name}: refused, nothing stored. {self.refused}"
        text = (f"{self.file_name}: {self.kind.replace('_', ' ')}, batch {self.batch_id}: {self.rows_read} lines read, "
                f"{self.rows_inserted} inserted, {self.rows_replaced} replaced, {self.rows_duplicate} duplicate, "
                f"{self.rows_rejected} rejected")
        if self.rows_with_warnings:
            text += f", {self.rows_with_warnings} stored with warnings"
        if self.filed_before:
            text += f" (as filed with batch {self.filed_before}, the same file: not filed again)"
        if self.columns_ignored:
            text += f"; columns ignored: {', '.join(self.columns_ignored)}"
        if self.source:
            text += f"; read as {self.source}"
        if self.after:
            text += f". Stored and recorded; then {self.after}"
        return text


def upload_detail(file_name: str, batch_id: int | None) -> str:
    """The audit trail's words for one export of an upload (a name that holds an identifier withheld)."""
    return f"{privacy.safe_file_name(file_name)}: " + ("refused" if batch_id is None else f"batch {batch_id}")


def by_reason(problems: pd.DataFrame, examples: int = 3) -> pd.DataFrame:
    """Rejects or warnings counted by column and reason, with the first few lines as examples. Values
    quoted in a reason and line numbers are left out of its grouping ("line 12 is kept" -> "line N is kept")."""
    if problems.empty:
        return pd.DataFrame(columns=["column_name", "reason", "n_lines", "examples"])
    frame = problems.assign(
        column_name=problems.column_name.fillna("-"),
        reason=problems.reason.str.replace(r"'[^']*'", "'...'", regex=True)
        .str.replace(r"\b(line|batch) \d+", r"\1 N", regex=True).str.replace(r"\(\d+\)", "(N)", regex=True),
        example=[f"line {line}" + ("" if pd.isna(value) else f": {value!r}")
                 for line, value in zip(problems.line_number, problems.value)],
    )
    grouped = frame.groupby(["column_name", "reason"], sort=False).agg(
        n_lines=("line_number", "nunique"), examples=("example", lambda e: "; ".join(e.head(examples))))
    return grouped.reset_index().sort_values("n_lines", ascending=False, kind="stable").reset_index(drop=True)


class StoredThenFailed(Exception):
    """Some exports were stored (each committed with its audit row) before a later step failed: another
    file's transaction, the metric build or the checkpoint (a full disk). `results` holds what was done,
    each stored batch with `after` saying what failed; `failed`, the file whose transaction failed, if any."""

    def __init__(self, results: list[BatchResult], error: BaseException, failed: Path | None):
        super().__init__(str(error))
        self.results, self.error, self.failed = results, error, failed


def stored_then_failed(results: list[BatchResult], error: BaseException, failed: Path | None,
                        stage: str) -> StoredThenFailed:
    reason = (str(database.fault(error, "the database") or error).split(": ", 1)[-1]).split(";")[0]
    what = {
        "storing": f"{failed.name if failed else 'the next file'} could not be stored ({reason}; nothing of it "
                   "was stored)",
        "building": f"the metric tables could not be rebuilt ({reason}): the pages show the data before this "
                    "upload until the next ingest, settings change or `ketamine-outcomes weekly` rebuilds them",
        "checkpoint": f"the database file could not be updated ({reason}): the stored rows are safe in its log "
                      "(.wal, replayed when it is next opened), which is written into the file once there is space",
    }[stage]
    for result in results:
        if result.batch_id is not None:
            result.after = what
    return StoredThenFailed(results, error, failed)
