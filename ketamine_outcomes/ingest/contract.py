"""The export contract: which CSV export a header is, and which column means what.

Headers are compared with `alias_key` (case, spaces, punctuation and a BOM ignored), in any order;
extra columns are ignored and reported. docs/data-contract.md is the human-readable form of this file.
"""

import csv
import difflib
import re
from dataclasses import dataclass, field

from ketamine_outcomes.definitions import INSTRUMENTS, OUTCOME_INSTRUMENTS, alias_key
from ketamine_outcomes.refused import RefusedFile

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
        "clinician_id": ("clinicianid", "clinician", "provider", "providerid", "prescriberid", "clinicianname",
                         "providername"),
        "adverse_events": ("adverseevents", "adverseevent", "sideeffects", "aes"),
        "systolic_bp_peak": ("systolicbppeak", "peaksystolicbp", "peaksystolic", "sbppeak", "maxsystolicbp",
                             "systolicpeak", "peaksbp"),
        # Optional pre-dose and peak readings (Spravato label: blood pressure before dosing and after).
        "systolic_bp_pre": ("systolicbppre", "presystolicbp", "presystolic", "sbppre", "predosesystolic",
                            "predosesystolicbp", "baselinesystolicbp", "systolicpre", "presbp"),
        "diastolic_bp_pre": ("diastolicbppre", "prediastolicbp", "prediastolic", "dbppre", "predosediastolic",
                             "predosediastolicbp", "baselinediastolicbp", "diastolicpre", "predbp"),
        "diastolic_bp_peak": ("diastolicbppeak", "peakdiastolicbp", "peakdiastolic", "dbppeak", "maxdiastolicbp",
                              "diastolicpeak", "peakdbp"),
        "session_id": ("sessionid", "encounterid", "visitid", "appointmentid"),
    },
    "outcomes": {
        "patient_id": PATIENT_ID,
        "assessment_date": ("assessmentdate", "date", "surveydate", "administereddate", "completeddate",
                            "completiondate", "visitdate", "dateofassessment", "assessmentdatetime",
                            "responsedate", "submitteddate", "encounterdate"),
        "assessment_day": ("assessmentday", "day", "studyday", "dayoffset"),
        "instrument": ("instrument", "measure", "questionnaire", "scale", "instrumentname", "measurename"),
        "score": ("score", "totalscore", "total", "value"),
        "item9": ("item9", "phq9item9", "phq9q9", "q9", "item9score"),
    },
    "patients": {
        "patient_id": PATIENT_ID,
        "age_band": ("ageband", "agegroup", "agerange", "age"),
        "sex": ("sex", "gender"),
        "primary_indication": ("primaryindication", "indication", "diagnosis", "primarydiagnosis", "condition"),
        "site": ("site", "clinic", "location", "sitename", "clinicname"),
        # Optional equity fields (quasi-identifiers: privacy.check_equity_view says how they may be combined).
        "ethnicity": ("ethnicity", "ethnicgroup", "ethnicorigin", "ethnicitygroup", "ethnicitycategory",
                      "ethnicitycode"),
        "deprivation_decile": ("deprivationdecile", "imddecile", "areadeprivationdecile", "deprivation",
                               "imd", "simddecile", "wimddecile", "adidecile", "deprivationindexdecile"),
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
    # A CADSS column alone does not make a wide outcomes export (a sessions export may carry one).
    "outcomes_wide": (("patient_id",), ("assessment_date", "assessment_day"),
                      tuple(f"score_{i.key}" for i in OUTCOME_INSTRUMENTS.values())),
    "patients": (("patient_id",),),
}

# The forms an age band may take (RE2, on the lowercased text): whole years ("47"), a band of them
# ("45-54", "45 to 54 years"), or a bound ("<18", "under 18", "65+", ">89"). Anything finer ("47y 3m
# 12d", "47.5") comes near a date of birth and is not stored.
AGE_BAND_FORM = (r"^\s*((<=?|>=?|under|below|less than|up to|over|above|older than)\s*)?[0-9]{1,4}"
                 r"(\s*(-|–|to)\s*[0-9]{1,4})?\s*(\+|y|yrs?|years?|years old)?\s*$")

# A date column may say its format in its header: "session_date (MM/DD/YYYY)".
DATE_HINTS = {"mmddyyyy": "us", "ddmmyyyy": "dmy", "yyyymmdd": "iso"}
DELIMITERS = (",", ";", "\t", "|")


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
        "site, clinician_id, adverse_events, systolic_bp_peak, systolic_bp_pre, diastolic_bp_pre, diastolic_bp_peak, "
        "session_id); "
        "outcomes (patient_id, assessment_date or assessment_day, instrument, score; optional item9); "
        "wide outcomes (patient_id, assessment_date or assessment_day, and score columns such as phq9_total, "
        "gad7_total); patients (patient_id and any of age_band, sex, primary_indication, site, ethnicity, "
        "deprivation_decile)"
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
    if any(has("outcomes_wide", f"score_{i.key}") for i in OUTCOME_INSTRUMENTS.values()):
        return "outcomes_wide"
    if has("sessions", "route") or (has("sessions", "status") and (has("sessions", "session_date")
                                                                     or has("sessions", "session_day"))):
        return "sessions"
    if any(has("patients", c) for c in ("age_band", "sex", "primary_indication", "ethnicity", "deprivation_decile")):
        return "patients"
    return None


class MissingColumns(RefusedFile):
    """A header that lacks a required column: says which, and which headers in the file come closest,
    so that the analyst can map them (a saved column mapping, ketamine_outcomes.mappings)."""

    def __init__(self, kind: str | None, missing: list[tuple[str, ...]], headers: list[str],
                 unmatched: list[str] | None = None):
        self.kind, self.missing, self.headers = kind, missing, headers
        unmatched = headers if unmatched is None else unmatched
        found = ", ".join(h.strip() for h in headers) or "(an empty header)"
        if kind is None:
            text = f"not a recognisable export. Expected one of: {expected_columns()}. Found: {found}."
        else:
            parts = []
            for alternatives in missing:
                close = closest_headers(alternatives, unmatched)
                hint = f" (closest in the file: {', '.join(repr(c) for c in close)})" if close else ""
                parts.append(f"{' or '.join(alternatives)} column{hint}")
            text = (f"this looks like a {kind.replace('_', ' ')} export but has no {'; no '.join(parts)}. "
                    "Rename the column, or map it: a column mapping on the Data page, or "
                    "`ketamine-outcomes ingest --mapping NAME`.")
        super().__init__(text)


# Abbreviations EHR exports use in headers, expanded before headers are compared with the contract's.
ABBREVIATIONS = {"dt": "date", "appt": "appointment", "svc": "service", "pt": "patient", "dx": "diagnosis",
                 "id": "id", "no": "number", "num": "number", "tx": "treatment", "rt": "route", "meas": "measure"}


def closest_headers(alternatives: tuple[str, ...], headers: list[str], n: int = 3) -> list[str]:
    """The file's headers most like a contract column or any of its spellings (difflib ratio), after
    expanding common abbreviations ("Appt Dt" reads as "appointment date")."""
    scores: dict[str, float] = {}
    for header in headers:
        words = re.findall(r"[a-z0-9]+", header.lower())
        key = "".join(ABBREVIATIONS.get(w, w) for w in words)
        if not key:
            continue
        for column in alternatives:
            for kind in COLUMNS.values():
                for name in (alias_key(column), *kind.get(column, ())):
                    ratio = difflib.SequenceMatcher(None, name, key).ratio()
                    if ratio >= 0.6:
                        scores[header] = max(scores.get(header, 0), ratio)
    return sorted(scores, key=lambda h: -scores[h])[:n]


def read_layout(header_line: str, mapping: dict[str, str] | None = None, kind: str | None = None) -> Layout:
    """Recognise an export from its header line, or refuse it saying what was expected and found.
    `mapping` (header alias key -> contract column) names columns whose headers the contract does not
    know; `kind` says which export it is when the header alone does not."""
    delimiter = sniff_delimiter(header_line)
    headers = split_header(header_line, delimiter)
    keys = [alias_key(h) for h in headers]
    mapping = mapping or {}
    kind = kind or _kind(set(keys))
    if kind is None:
        raise MissingColumns(None, [], headers)

    canonical: list[str | None] = []
    date_format = None
    mapped = set(mapping.values())
    for header, key in zip(headers, keys):
        if key in mapping:
            column, hint = mapping[key], None
        else:
            column, hint = _match(key, COLUMNS[kind])
            if column in mapped:  # a mapping's choice wins over a header that happens to match
                column, hint = None, None
        if column is not None and column in canonical:
            other = headers[canonical.index(column)]
            raise RefusedFile(f"columns '{other}' and '{header}' both look like {column}; keep one.")
        canonical.append(column)
        date_format = date_format or hint

    missing = [alternatives for alternatives in REQUIRED[kind] if not any(c in canonical for c in alternatives)]
    if missing:
        raise MissingColumns(kind, missing, headers, [h for h, c in zip(headers, canonical) if c is None])
    ignored = [h for h, c in zip(headers, canonical) if c is None]
    return Layout(kind, delimiter, headers, canonical, date_format, ignored)
