"""The export contract: which CSV export a header is, and which column means what.

Headers are compared with `alias_key` (case, spaces, punctuation and a BOM ignored), in any order;
extra columns are ignored and reported. docs/data-contract.md is the human-readable form of this file.
"""

import csv
import re
from dataclasses import dataclass, field

from .definitions import INSTRUMENTS, alias_key

PATIENT_ID = ("patientid", "patient", "pid", "subjectid", "clientid", "participantid", "pseudonymousid",
              "pseudoid", "studyid")

# Canonical column -> header spellings (as alias keys), per export kind.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "sessions": {
        "patient_id": PATIENT_ID,
        "session_date": ("sessiondate", "date", "treatmentdate", "visitdate", "servicedate", "infusiondate",
                         "dosedate", "appointmentdate", "dateofservice", "encounterdate", "sessiondatetime",
                         "administrationdate", "treatmentdatetime", "appointmentdatetime"),
        "session_day": ("sessionday", "day", "studyday", "dayoffset", "treatmentday"),
        "route": ("route", "modality", "routeofadministration"),
        "status": ("status", "sessionstatus", "appointmentstatus", "visitstatus"),
        "dose_mg": ("dosemg", "dose", "totaldosemg", "totaldose"),
        "dose_mg_per_kg": ("dosemgperkg", "dosemgkg", "mgkg", "mgperkg", "doseperkg"),
        "site": ("site", "clinic", "location", "sitename", "clinicname"),
        "clinician_id": ("clinicianid", "clinician", "provider", "providerid", "prescriberid"),
        "adverse_events": ("adverseevents", "adverseevent", "sideeffects", "aes"),
        "systolic_bp_peak": ("systolicbppeak", "peaksystolicbp", "peaksystolic", "sbppeak", "maxsystolicbp",
                             "systolicpeak", "peaksbp"),
        "session_id": ("sessionid", "encounterid", "visitid", "appointmentid"),
    },
    "outcomes": {
        "patient_id": PATIENT_ID,
        "assessment_date": ("assessmentdate", "date", "surveydate", "administereddate", "completeddate",
                            "completiondate", "visitdate", "dateofassessment", "assessmentdatetime",
                            "responsedate", "submitteddate", "encounterdate"),
        "assessment_day": ("assessmentday", "day", "studyday", "dayoffset"),
        "instrument": ("instrument", "measure", "questionnaire", "scale"),
        "score": ("score", "totalscore", "total", "value"),
        "item9": ("item9", "phq9item9", "phq9q9", "q9", "item9score"),
    },
    "patients": {
        "patient_id": PATIENT_ID,
        "age_band": ("ageband", "agegroup", "agerange", "age"),
        "sex": ("sex", "gender"),
        "primary_indication": ("primaryindication", "indication", "diagnosis", "primarydiagnosis", "condition"),
        "site": ("site", "clinic", "location", "sitename", "clinicname"),
    },
}

# A wide outcomes export has one score column per instrument ("phq9_total", "PHQ-9 Total Score").
WIDE_SUFFIXES = ("", "total", "score", "totalscore", "sum")


def _wide_prefixes(key: str) -> tuple[str, ...]:
    return (key, "qids", "qidssr") if key == "qidssr16" else (key,)


WIDE_COLUMNS: dict[str, tuple[str, ...]] = {
    "patient_id": PATIENT_ID,
    "assessment_date": COLUMNS["outcomes"]["assessment_date"],
    "assessment_day": COLUMNS["outcomes"]["assessment_day"],
    "item9": COLUMNS["outcomes"]["item9"] + ("phq9item9score",),
    **{
        f"score_{i.key}": tuple(prefix + s for prefix in _wide_prefixes(i.key) for s in WIDE_SUFFIXES)
        for i in INSTRUMENTS.values()
    },
}
COLUMNS["outcomes_wide"] = {k: tuple(v) for k, v in WIDE_COLUMNS.items()}

REQUIRED = {
    "sessions": (("patient_id",), ("session_date", "session_day"), ("route",)),
    "outcomes": (("patient_id",), ("assessment_date", "assessment_day"), ("instrument",), ("score",)),
    "outcomes_wide": (("patient_id",), ("assessment_date", "assessment_day"),
                      tuple(f"score_{i.key}" for i in INSTRUMENTS.values())),
    "patients": (("patient_id",),),
}

# A date column may say its format in its header: "session_date (MM/DD/YYYY)".
DATE_HINTS = {"mmddyyyy": "us", "ddmmyyyy": "dmy", "yyyymmdd": "iso"}
DELIMITERS = (",", ";", "\t", "|")


class RefusedFile(ValueError):
    """A file that cannot be ingested at all; nothing was stored."""


@dataclass
class Layout:
    kind: str  # sessions | outcomes | outcomes_wide | patients
    delimiter: str
    headers: list[str]
    canonical: list[str | None]  # per position: the contract column, or None when ignored
    date_format: str | None = None  # "us" / "dmy" / "iso" when a header says so
    ignored: list[str] = field(default_factory=list)

    @property
    def table(self) -> str:
        return "assessments" if self.kind.startswith("outcomes") else self.kind


def expected_columns() -> str:
    return (
        "sessions (patient_id, session_date or session_day, route; optional status, dose_mg, dose_mg_per_kg, "
        "site, clinician_id, adverse_events, systolic_bp_peak, session_id); "
        "outcomes (patient_id, assessment_date or assessment_day, instrument, score; optional item9); "
        "wide outcomes (patient_id, assessment_date or assessment_day, and score columns such as phq9_total, "
        "gad7_total); patients (patient_id and any of age_band, sex, primary_indication, site)"
    )


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields, outside quotes; comma on a tie."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    return max(DELIMITERS, key=lambda d: (outside.count(d), d == ","))


def split_header(header_line: str, delimiter: str) -> list[str]:
    return next(csv.reader([header_line.lstrip("\ufeff")], delimiter=delimiter)) if header_line.strip() else []


def _match(key: str, spellings: dict[str, tuple[str, ...]]) -> tuple[str | None, str | None]:
    """The contract column a header key names, and any date-format hint it carries."""
    for hint, fmt in DATE_HINTS.items():
        if key.endswith(hint) and len(key) > len(hint):
            column, _ = _match(key[: -len(hint)], spellings)
            if column and column.endswith("_date"):
                return column, fmt
    for column, names in spellings.items():
        if key in names:
            return column, None
    return None, None


def _kind(keys: set[str]) -> str | None:
    def has(kind, column):
        return any(_match(k, {column: COLUMNS[kind][column]})[0] for k in keys)

    if has("outcomes", "instrument") and has("outcomes", "score"):
        return "outcomes"
    if any(has("outcomes_wide", f"score_{i.key}") for i in INSTRUMENTS.values()):
        return "outcomes_wide"
    if has("sessions", "route") or (has("sessions", "status") and (has("sessions", "session_date")
                                                                     or has("sessions", "session_day"))):
        return "sessions"
    if any(has("patients", c) for c in ("age_band", "sex", "primary_indication")):
        return "patients"
    return None


def read_layout(header_line: str) -> Layout:
    """Recognise an export from its header line, or refuse it saying what was expected and found."""
    delimiter = sniff_delimiter(header_line)
    headers = split_header(header_line, delimiter)
    keys = [alias_key(h) for h in headers]
    found = ", ".join(h.strip() for h in headers) or "(an empty header)"
    kind = _kind(set(keys))
    if kind is None:
        raise RefusedFile(f"not a recognisable export. Expected one of: {expected_columns()}. Found: {found}.")

    canonical: list[str | None] = []
    date_format = None
    for header, key in zip(headers, keys):
        column, hint = _match(key, COLUMNS[kind])
        if column in canonical:
            other = headers[canonical.index(column)]
            raise RefusedFile(f"columns '{other}' and '{header}' both look like {column}; keep one.")
        canonical.append(column)
        date_format = date_format or hint

    for alternatives in REQUIRED[kind]:
        if not any(c in canonical for c in alternatives):
            label = kind.replace("_", " ")
            raise RefusedFile(
                f"this looks like a {label} export but has no {' or '.join(alternatives)} column. "
                f"Expected: {expected_columns()}. Found: {found}."
            )
    ignored = [h for h, c in zip(headers, canonical) if c is None]
    return Layout(kind, delimiter, headers, canonical, date_format, ignored)
