"""Every clinical definition, threshold and alias the product uses, each with its source.

This module is the one place they live. `store.write_definitions` copies them into the database's
config tables (`instruments`, `settings`, `aliases`) so the SQL reads them from there, and
`docs/metrics.md` and the dashboard's Definitions page describe the same values (a test keeps them in step).
"""

import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    name: str
    key: str  # header spelling with punctuation removed: "phq9"
    min_score: int
    max_score: int
    remission_max: int | None  # remission when score <= this; None for a measure that is not an outcome
    remission_label: str
    reliable_change: int | None  # points; None: Jacobson-Truax when reliability_<key> and reliability_sd_<key> are set
    bands: tuple[tuple[int, str], ...]  # (lowest score of the band, label)
    source: str
    # What a score within remission_max is called on screen: PCL-5 < 33 is below the probable-PTSD cut-off,
    # not remission (National Center for PTSD).
    remission_term: str = "remission"
    mcid: int | None = None  # minimal clinically important difference, points (shown beside reliable change)
    mcid_source: str = ""
    # An outcome measure has response and remission and is offered as the instrument to chart; a safety
    # measure (CADSS) is stored and charted only on the Safety page.
    is_outcome: bool = True


INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (
        Instrument(
            "PHQ-9", "phq9", 0, 27, 4, "< 5", 6,
            ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe")),
            "Kroenke 2001 (bands); remission < 5; reliable change 6 points (NHS Talking Therapies)",
            mcid=5, mcid_source="Löwe 2004 (Med Care 42(12):1194-1201): 5 points",
        ),
        Instrument(
            "GAD-7", "gad7", 0, 21, 4, "< 5", 4,
            ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")),
            "Spitzer 2006 (bands); remission < 5; reliable change 4 points (NHS Talking Therapies)",
        ),
        Instrument(
            "PCL-5", "pcl5", 0, 80, 32, "< 33 (below the probable-PTSD cut-off)", 10,
            ((0, "below cut-off"), (33, "probable PTSD")),
            "National Center for PTSD: probable PTSD at 31-33 (< 33 is below that cut-off, not remission); "
            "change of 5-10 points reliable, 10-20 clinically meaningful (10 used here)",
            remission_term="below the probable-PTSD cut-off",
        ),
        Instrument(
            "MADRS", "madrs", 0, 60, 10, "<= 10", None, (),
            "Remission <= 10 (esketamine trials used <= 12)",
        ),
        Instrument(
            "QIDS-SR16", "qidssr16", 0, 27, 5, "<= 5", None,
            ((0, "none"), (6, "mild"), (11, "moderate"), (16, "severe"), (21, "very severe")),
            "Rush 2003 (bands); remission <= 5",
        ),
        Instrument(
            "CADSS", "cadss", 0, 92, None, "none (a dissociation measure, not an outcome)", None, (),
            "Clinician-Administered Dissociative States Scale, 23 items scored 0-4 (Bremner 1998); "
            "measured after esketamine dosing (Spravato label)",
            is_outcome=False,
        ),
    )
}
# The instruments a user may choose to chart response and remission on.
OUTCOME_INSTRUMENTS: dict[str, Instrument] = {name: i for name, i in INSTRUMENTS.items() if i.is_outcome}


def remission_rule_words(label: str) -> str:
    """An instrument's remission cut-off (its remission_label, as the instruments table stores it) in words, one
    way everywhere: "< 5" reads "under 5", "<= 10" "of at most 10"."""
    return label.replace("<= ", "of at most ").replace("< ", "under ")


def remission_term(instrument: str) -> str:
    """What a score within the remission cut-off is called for this instrument (PCL-5: below the cut-off)."""
    known = INSTRUMENTS.get(instrument)
    return known.remission_term if known else "remission"


def response_words(fraction: float) -> str:
    """The response rule in words for a response_fraction_<key> value: 'score at most 70% of baseline (a fall
    of 30% or more)'."""
    return f"score at most {fraction:.0%} of baseline (a fall of {1 - fraction:.0%} or more)"


@dataclass(frozen=True)
class Setting:
    name: str
    value: float
    description: str
    source: str
    minimum: float = 0  # the allowed range, inclusive; `settings set` refuses a value outside it
    maximum: float = 365
    integer: bool = True  # a whole number (days, sessions, points, a count)


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("series_gap_days", 60,
                "A gap of more than this many days between two completed sessions starts a new treatment series.",
                "Product default; re-inductions follow months off (DOMAIN.md, Treatment course)",
                minimum=1, maximum=3650),
        # A gap alone does not make a new course: clinics give lone maintenance boosters months apart to
        # patients who are still well. A re-induction is several sessions close together, usually with a
        # new baseline questionnaire.
        Setting("reinduction_min_sessions", 3,
                "After a gap of more than series_gap_days, a new series starts only when at least this many completed "
                "sessions fall within reinduction_window_days of the first session after the gap (or a new baseline "
                "comes before it); otherwise the sessions after the gap are maintenance boosters of the series before.",
                "Re-induction: several sessions close together, typically 3-6 within 2-3 weeks, usually with a new "
                "baseline (DOMAIN.md, Maintenance); induction 6 infusions in about 21 days (Oliver 2022; McInnes 2022)",
                minimum=1, maximum=50),
        Setting("reinduction_window_days", 21,
                "The days from the first session after a gap within which reinduction_min_sessions completed sessions "
                "make a re-induction.",
                "IV induction: 6 infusions within about 21 days (Oliver 2022; McInnes 2022); re-inductions 3-6 sessions "
                "within 2-3 weeks (DOMAIN.md, Maintenance)",
                minimum=1, maximum=365),
        Setting("baseline_window_days", 14,
                "Baseline: the latest score from this many days before the series' first session up to that day. "
                "An assessment belongs to the latest series that starts no more than this many days after it.",
                "Product default; ORKA and Mindbloom baselines are taken just before the first session",
                minimum=0, maximum=90),
        # Response per instrument: baseline > 0 and score <= this fraction of baseline.
        Setting("response_fraction_phq9", 0.5,
                "PHQ-9 response: baseline > 0 and score <= this fraction of baseline (0.5: a fall of 50% or more).",
                "McInnes 2022; Hull 2022", minimum=0.01, maximum=0.99, integer=False),
        Setting("response_fraction_gad7", 0.5,
                "GAD-7 response: baseline > 0 and score <= this fraction of baseline (0.5: a fall of 50% or more).",
                "Hull 2022", minimum=0.01, maximum=0.99, integer=False),
        Setting("response_fraction_pcl5", 0.7,
                "PCL-5 response: baseline > 0 and score <= this fraction of baseline (0.7: a fall of 30% or more).",
                "Feder 2021 (ketamine for chronic PTSD, Am J Psychiatry): response = a fall of 30% or more",
                minimum=0.01, maximum=0.99, integer=False),
        Setting("response_fraction_madrs", 0.5,
                "MADRS response: baseline > 0 and score <= this fraction of baseline (0.5: a fall of 50% or more).",
                "Conventional 50% fall; TRANSFORM-1/2 (esketamine) MADRS response",
                minimum=0.01, maximum=0.99, integer=False),
        Setting("response_fraction_qidssr16", 0.5,
                "QIDS-SR16 response: baseline > 0 and score <= this fraction of baseline (0.5: a fall of 50% or more).",
                "Hietamies 2023 (ORKA-2)", minimum=0.01, maximum=0.99, integer=False),
        # Induction length by route: a series' induction ends at its route's n-th completed session; a
        # route with no setting of its own uses the IV value.
        Setting("induction_sessions_iv", 6,
                "IV series: the induction ends at the day of this completed session (also any route without its own setting).",
                "IV induction: usually 6 infusions within about 21 days (Oliver 2022; McInnes 2022)",
                minimum=1, maximum=50),
        Setting("induction_sessions_im", 6,
                "IM series: the induction ends at the day of this completed session.",
                "IM series follow the IV schedule (DOMAIN.md, Treatment course); no separate published standard found",
                minimum=1, maximum=50),
        Setting("induction_sessions_intranasal", 8,
                "Intranasal esketamine series: the induction ends at the day of this completed dose.",
                "Spravato label: induction twice weekly in weeks 1-4 (8 doses); TRANSFORM-1/2 endpoint day 28",
                minimum=1, maximum=50),
        Setting("induction_sessions_oral", 4,
                "Oral/sublingual (at-home) series: the induction ends at the day of this completed session.",
                "Hull 2022 (Mindbloom): four sublingual doses over four weeks",
                minimum=1, maximum=50),
        # Protocol adherence: the induction's last session no more than this many days after its first.
        Setting("induction_window_days_iv", 21,
                "IV protocol adherence: the induction's last session at most this many days after its first "
                "(also any route without its own setting).",
                "Oliver 2022: 6 infusions in 21 days", minimum=1, maximum=365),
        Setting("induction_window_days_im", 21,
                "IM protocol adherence: the induction's last session at most this many days after its first.",
                "IM series follow the IV schedule; no separate published standard found", minimum=1, maximum=365),
        Setting("induction_window_days_intranasal", 28,
                "Intranasal protocol adherence: the induction's last dose at most this many days after its first.",
                "Spravato label: induction in weeks 1-4", minimum=1, maximum=365),
        Setting("induction_window_days_oral", 28,
                "Oral/sublingual protocol adherence: the induction's last session at most this many days after its first.",
                "Hull 2022: four doses over four weeks", minimum=1, maximum=365),
        Setting("end_of_induction_days", 21,
                "End-of-induction score: the last score from the day of the induction's last session to this many days after it.",
                "McInnes 2022 assessed 14-31 days after induction",
                minimum=0, maximum=365),
        Setting("dropout_quiet_days", 28,
                "Dropped out: fewer completed sessions than the induction and none in this many days before the data's last day.",
                "Product default; ORKA-2: about half did not complete six infusions",
                minimum=1, maximum=365),
        Setting("itt_carry_days", 14,
                "Weekly intention to treat: a series' last score is carried forward to a week ending at most this many days "
                "after its last completed session (to any week of the induction once it reached its end); other weeks "
                "of the induction count as not responding and not remitting (non-responder imputation) and carry the "
                "baseline into means (BOCF). Intention to treat ends at the end of induction.",
                "Limited LOCF: NRC 2010 panel on missing data, Lachin 2016 and the Cochrane Handbook advise against "
                "unlimited LOCF; product default 14 days",
                minimum=0, maximum=365),
        # Blood pressure around a dose: a high peak, a rise from the pre-dose reading to the session's
        # peak, and a pre-dose reading above the level where the label advises caution.
        Setting("bp_peak_systolic", 180,
                "High blood-pressure peak: a session whose systolic peak reached at least this many mmHg.",
                "ACC/AHA 2017 hypertension guideline: a systolic of 180 or more is a hypertensive crisis, the usual "
                "level to hold a dose; the Spravato label asks for blood pressure to be monitored after dosing",
                minimum=100, maximum=300),
        Setting("bp_rise_systolic", 40,
                "Blood-pressure rise: systolic peak minus the pre-dose systolic reading of at least this many mmHg.",
                "Spravato label: rises of >= 40 mmHg systolic after dosing", minimum=1, maximum=150),
        Setting("bp_rise_diastolic", 25,
                "Blood-pressure rise: diastolic peak minus the pre-dose diastolic reading of at least this many mmHg.",
                "Spravato label: rises of >= 25 mmHg diastolic after dosing", minimum=1, maximum=100),
        Setting("bp_pre_systolic_above", 140,
                "Raised before dosing: a pre-dose systolic reading above this many mmHg.",
                "Spravato label: check blood pressure before dosing; caution above 140/90", minimum=50, maximum=300),
        Setting("bp_pre_diastolic_above", 90,
                "Raised before dosing: a pre-dose diastolic reading above this many mmHg.",
                "Spravato label: check blood pressure before dosing; caution above 140/90", minimum=20, maximum=200),
        Setting("min_cell_size", 11,
                "Counts from 1 to (this - 1), and rates built on them, are suppressed in anything shown to a meeting. 0 turns it off.",
                "CMS cell-size suppression policy (1-10 never shown); PCORnet uses 11",
                minimum=0, maximum=100),
        # Jacobson-Truax for instruments without a published point threshold: both the reliability r and the
        # baseline SD come from one published study, never from the clinic's own data (whose SD drifts as
        # data accrue, moving the threshold under past results). No default: none was verified here.
        Setting("reliability_madrs", 0,
                "Test-retest reliability r of MADRS for the Jacobson-Truax reliable change index; 0: not configured.",
                "Jacobson & Truax 1991; take r and the SD below from one published study of a similar population",
                minimum=0, maximum=0.99, integer=False),
        Setting("reliability_sd_madrs", 0,
                "Pre-treatment SD of MADRS in that published study, for the Jacobson-Truax threshold "
                "1.96 x sqrt(2) x SD x sqrt(1 - r); 0: not configured.",
                "Jacobson & Truax 1991; the same published study as reliability_madrs",
                minimum=0, maximum=60, integer=False),
        Setting("reliability_qidssr16", 0,
                "Test-retest reliability r of QIDS-SR16 for the Jacobson-Truax reliable change index; 0: not configured.",
                "Jacobson & Truax 1991; take r and the SD below from one published study of a similar population",
                minimum=0, maximum=0.99, integer=False),
        Setting("reliability_sd_qidssr16", 0,
                "Pre-treatment SD of QIDS-SR16 in that published study, for the Jacobson-Truax threshold "
                "1.96 x sqrt(2) x SD x sqrt(1 - r); 0: not configured.",
                "Jacobson & Truax 1991; the same published study as reliability_qidssr16",
                minimum=0, maximum=27, integer=False),
        Setting("phq9_caseness", 10, "NHS Talking Therapies caseness: PHQ-9 >= 10.", "NHS Talking Therapies manual",
                minimum=0, maximum=27),
        Setting("gad7_caseness", 8, "NHS Talking Therapies caseness: GAD-7 >= 8.", "NHS Talking Therapies manual",
                minimum=0, maximum=21),
        # Measurement-based care (the series view and "not on track"): the checkpoint is a session number per
        # route, about half-way through the route's induction (IV/IM 6, intranasal 8, oral 4 sessions).
        Setting("not_on_track_session_iv", 3,
                "Not on track: IV series are judged at this completed session (also any route without its own setting).",
                "Product default, half of the IV induction; early improvement predicts later response (Szegedi 2009, "
                "J Clin Psychiatry 70(3):344-353)", minimum=1, maximum=50),
        Setting("not_on_track_session_im", 3,
                "Not on track: IM series are judged at this completed session.",
                "Product default, half of the IM induction (as IV)", minimum=1, maximum=50),
        Setting("not_on_track_session_intranasal", 4,
                "Not on track: intranasal esketamine series are judged at this completed dose.",
                "Product default, half of the 8-dose induction (Spravato label: twice weekly, weeks 1-4)",
                minimum=1, maximum=50),
        Setting("not_on_track_session_oral", 2,
                "Not on track: oral/sublingual series are judged at this completed session.",
                "Product default, half of the 4-session programme (Hull 2022)", minimum=1, maximum=50),
        Setting("not_on_track_quantile", 0.25,
                "Not on track: improvement at the checkpoint below this quantile of the clinic's eventual responders' "
                "improvement at that point (0.25: less than three in four eventual responders had shown).",
                "Expected-treatment-response feedback from the clinic's own data (Lambert 2001, Psychotherapy "
                "Research, doi 10.1080/713663852); product default", minimum=0.01, maximum=0.5, integer=False),
        Setting("not_on_track_min_series", 10,
                "Not on track: a route needs this many closed eventual responders scored at the checkpoint before any "
                "series is flagged, and a calibration row this many closed series before it is judged.",
                "Product default: fewer give a threshold and a rate too unstable to act on", minimum=1, maximum=1000),
        Setting("expected_range_baseline_points", 3,
                "Series view: the expected range comes from closed series whose baseline is within this many points.",
                "Product default (PHQ-9's 5-point bands hold about this spread either side)", minimum=0, maximum=80),
    )
}


# Settings that were replaced: old name -> the settings that now hold its value. A database that set
# the old one keeps its value in the new ones (store.write_definitions) and the CLI names them.
# `induction_sessions` applied to every route; its source was IV, so IV and IM keep a value set there.
RENAMED_SETTINGS: dict[str, tuple[str, ...]] = {
    "induction_sessions": ("induction_sessions_iv", "induction_sessions_im"),
    # One fraction for every instrument until PCL-5 took its own (Feder 2021): a value set keeps its meaning.
    "response_fraction": ("response_fraction_phq9", "response_fraction_gad7", "response_fraction_pcl5",
                          "response_fraction_madrs", "response_fraction_qidssr16"),
}


PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def check_setting(name: str, value) -> float:
    """The value as stored, or ValueError naming the setting's range (a bad value would silently empty
    or distort every metric: `nan` sessions, a negative gap, a negative cell size)."""
    if name not in SETTINGS:
        raise ValueError(f"unknown setting {name!r}; settings: {', '.join(sorted(SETTINGS))}")
    setting = SETTINGS[name]
    kind = "a whole number" if setting.integer else "a number"
    limits = f"{setting.minimum:g} to {setting.maximum:g}"
    # Typed text must be a plain decimal number: Python's float() also reads 1e1, 1_000 and other scripts'
    # digits (٣٠), which nobody setting a window in days means to type.
    if isinstance(value, str) and not PLAIN_NUMBER.fullmatch(value):
        number = math.nan
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
    if not math.isfinite(number) or not setting.minimum <= number <= setting.maximum or (
            setting.integer and not number.is_integer()):
        raise ValueError(f"{name} must be {kind} from {limits}; got {value!r}")
    return number + 0.0  # -0 is stored, shown and audited as 0


# The largest single ketamine dose a sessions export may carry: above it lies a typing or unit error
# (50 mg/kg, 5000 mg), not an unusual protocol, and the dose is not stored (a warning says so). The
# ketamine label's highest dose is 13 mg/kg (Ketalar prescribing information: IM induction 6.5-13
# mg/kg, IV 1-4.5 mg/kg); in mg, 13 mg/kg for a 150 kg adult, rounded up. Psychiatric doses lie far
# below (IV 0.5-1 mg/kg; sublingual at home up to 450 mg, Hull 2022; esketamine 56-84 mg).
DOSE_LIMITS = {"max_dose_mg_per_kg": 13, "max_dose_mg": 2000}


# Published real-world results a director compares with: end-of-induction response and remission, each
# shown only beside a cohort of the same route (IV beside IV, at-home oral beside oral). `reported`: which
# figure the paper gave, so it is set beside the matching one of ours (observed cases, intention to treat,
# or neither). Every figure checked against DOMAIN.md and the paper's abstract.
REFERENCE_RESULTS = (
    {"study": "McInnes 2022 (ORKA-1)", "route": "IV", "instrument": "PHQ-9", "n": 537,
     "response_rate": 0.536, "remission_rate": 0.289, "reported": "observed",
     "reported_as": "observed: the 537 patients with induction and sufficient data, 14-31 days after induction"},
    {"study": "Hietamies 2023 (ORKA-2)", "route": "IV", "instrument": "QIDS-SR16", "n": 714,
     "response_rate": 0.50, "remission_rate": 0.25, "reported": "observed",
     "reported_as": "observed: the 714 patients meeting the induction analysis criteria (about 50% and 25%)"},
    {"study": "Oliver 2022", "route": "IV", "instrument": "PHQ-9", "n": 424,
     "response_rate": 0.50, "remission_rate": 0.20, "reported": "Kaplan-Meier",
     "reported_as": "a Kaplan-Meier estimate over all 424 patients within 6 weeks (neither observed nor "
                    "intention to treat)"},
    {"study": "Hull 2022 (Mindbloom)", "route": "oral", "instrument": "PHQ-9", "n": 1247,
     "response_rate": 0.628, "remission_rate": 0.326, "reported": "observed",
     "reported_as": "observed: the 1,247 who completed the four sessions with sufficient data"},
    {"study": "Hull 2022 (Mindbloom)", "route": "oral", "instrument": "GAD-7", "n": 1247,
     "response_rate": 0.629, "remission_rate": 0.313, "reported": "observed",
     "reported_as": "observed: the 1,247 who completed the four sessions with sufficient data"},
)

# National standards drawn beside the NHS Talking Therapies measures (talking_therapies mart), each checked
# against its source. Only the recovery standard is drawn: the 2026/27 planning targets for reliable recovery
# (51%) and reliable improvement (69%) were found only in a secondary report of NHS England's Medium Term
# Planning Framework, not in the framework itself, so they are not shown (docs/metrics.md).
NATIONAL_STANDARDS = (
    {"measure": "recovery_rate", "value": 0.50, "label": "NHS standard: 50% recovery",
     "source": "NHS England: at least 50% of people who complete treatment should recover (the standard since "
               "2015-16; england.nhs.uk/2016/07/psychological-therapies); recovery among cases at the start who "
               "finished a course (at least two attended treatment sessions, NHS Digital glossary)"},
)

# Published adverse-event incidences the Safety page's summary sets a clinic's own beside: the share of patients
# with the event at least once over an induction, by route, as a range over the studies checked (low, high; one
# study: low = high). Each figure was checked against the study's table with the search tool. Events whose stored
# code merges terms the studies count apart are left out for that route: the contract's dizziness includes
# vertigo and its sedation somnolence, which the esketamine trials list separately.
_ESKETAMINE_TRIALS = ("esketamine arms of two phase 3 trials, double-blind phase: Int J Neuropsychopharmacol "
                      "2019;22(10):616-30, Table 5 (esketamine total, n=231; PMC6822141) and Int J "
                      "Neuropsychopharmacol 2021;24(1):22-31, Table 2 (esketamine 84 mg, n=114; PMC7816667)")
_IV_CLINIC = ("Rodrigues NB, McIntyre RS, Rosenblat JD et al., Safety and tolerability of IV ketamine in adults with "
              "major depressive or bipolar disorder: results from the Canadian Rapid Treatment Center of Excellence "
              "(203 patients, repeated IV infusions; drowsiness counted as sedation)")
SAFETY_REFERENCES = (
    {"route": "intranasal", "event": "dissociation", "low": 0.268, "high": 0.386, "study": "two esketamine phase 3 trials", "source": _ESKETAMINE_TRIALS},
    {"route": "intranasal", "event": "nausea", "low": 0.294, "high": 0.333, "study": "two esketamine phase 3 trials", "source": _ESKETAMINE_TRIALS},
    {"route": "intranasal", "event": "vomiting", "low": 0.091, "high": 0.158, "study": "two esketamine phase 3 trials", "source": _ESKETAMINE_TRIALS},
    {"route": "intranasal", "event": "headache", "low": 0.203, "high": 0.219, "study": "two esketamine phase 3 trials", "source": _ESKETAMINE_TRIALS},
    {"route": "intranasal", "event": "anxiety", "low": 0.082, "high": 0.149, "study": "two esketamine phase 3 trials", "source": _ESKETAMINE_TRIALS},
    {"route": "intranasal", "event": "elevated_bp", "low": 0.061, "high": 0.082, "study": "two esketamine phase 3 trials", "source": _ESKETAMINE_TRIALS},
    {"route": "IV", "event": "dissociation", "low": 0.356, "high": 0.356, "study": "Rodrigues et al., 203 IV patients", "source": _IV_CLINIC},
    {"route": "IV", "event": "dizziness", "low": 0.452, "high": 0.452, "study": "Rodrigues et al., 203 IV patients", "source": _IV_CLINIC},
    {"route": "IV", "event": "nausea", "low": 0.133, "high": 0.133, "study": "Rodrigues et al., 203 IV patients", "source": _IV_CLINIC},
    {"route": "IV", "event": "sedation", "low": 0.564, "high": 0.564, "study": "Rodrigues et al., 203 IV patients", "source": _IV_CLINIC},
)

# The adverse-event codes the contract stores (ALIASES["adverse_event"]), as a reader names them on a chart or in
# a table. "increased blood pressure" is the Spravato label's term for elevated_bp.
ADVERSE_EVENT_LABELS: dict[str, str] = {
    "nausea": "nausea", "vomiting": "vomiting", "dizziness": "dizziness", "dissociation": "dissociation",
    "headache": "headache", "elevated_bp": "increased blood pressure", "sedation": "sedation", "anxiety": "anxiety",
    "other": "other",
}


def adverse_event_label(code: str) -> str:
    """An adverse-event code in words (a code the map does not know reads with spaces for underscores)."""
    return ADVERSE_EVENT_LABELS.get(code, code.replace("_", " "))


# The free-text fields whose values must be terms of a vocabulary (the ALIASES kind that holds it); a
# clinic adds its own terms through a column mapping (mappings.add_terms).
VOCABULARY_KINDS = {"primary_indication": "indication", "adverse_events": "adverse_event", "ethnicity": "ethnicity"}


def alias_key(text: str) -> str:
    """How a header or a coded value is compared: case, spaces and punctuation ignored."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


# Coded values an export may use, by what they mean. Keys are compared with alias_key; SQL applies
# the same normalisation (lower, strip non-alphanumerics) before looking them up.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "route": {
        "IV": ("iv", "intravenous", "ketamine iv", "iv ketamine", "infusion", "ketamine infusion"),
        "IM": ("im", "intramuscular", "ketamine im", "im ketamine", "injection"),
        "intranasal": ("intranasal", "in", "nasal", "esketamine", "spravato", "esketamine nasal spray"),
        "oral": ("oral", "sublingual", "sl", "po", "troche", "rdt", "at-home sublingual", "oral ketamine"),
    },
    # Words that name a route inside a longer text ("Ketamine infusion (IV)", "Spravato 84mg"), used
    # when no alias matches the whole text and exactly one route's words appear in it.
    "route_word": {
        "IV": ("iv", "intravenous", "infusion"),
        "IM": ("im", "intramuscular"),
        "intranasal": ("intranasal", "nasal", "esketamine", "spravato"),
        "oral": ("oral", "sublingual", "troche", "rdt", "lozenge"),
    },
    "status": {
        "completed": ("completed", "complete", "done", "attended", "given", "administered"),
        "cancelled": ("cancelled", "canceled", "cancel", "cancellation", "cancelled by patient",
                      "cancelled by clinic", "canceled by patient", "canceled by clinic", "patient cancelled",
                      "clinic cancelled", "late cancel", "late cancellation", "late cancelled"),
        "no_show": ("no_show", "no show", "noshow", "dna", "did not attend", "missed", "no show no call",
                    "missed appointment"),
    },
    # Words that name a status inside a longer phrasing ("Cancelled - Patient", "Pt no-show", "Checked
    # out"), used when no alias matches the whole text and exactly one status's words appear in it.
    "status_word": {
        "completed": ("completed", "checked out", "attended", "administered"),
        "cancelled": ("cancel", "cxl"),
        "no_show": ("no show", "did not attend", "missed", "dna"),
    },
    "adverse_event": {
        "nausea": ("nausea", "nauseous"),
        "vomiting": ("vomiting", "emesis", "vomit"),
        "dizziness": ("dizziness", "dizzy", "vertigo", "lightheaded"),
        "dissociation": ("dissociation", "dissociative", "dissociative symptoms"),
        "headache": ("headache",),
        "elevated_bp": ("elevated_bp", "elevated bp", "hypertension", "high bp", "high blood pressure",
                        "increased blood pressure", "elevated blood pressure"),
        "sedation": ("sedation", "sedated", "somnolence", "drowsiness"),
        "anxiety": ("anxiety", "anxious", "panic"),
        "other": ("other",),
    },
    "instrument": {
        "PHQ-9": ("phq9", "phq 9", "phq-9"),
        "GAD-7": ("gad7", "gad 7", "gad-7"),
        "PCL-5": ("pcl5", "pcl 5", "pcl-5"),
        "MADRS": ("madrs",),
        "QIDS-SR16": ("qids-sr16", "qidssr16", "qids-sr", "qids sr 16", "qids16", "qids"),
        "CADSS": ("cadss", "cadss total", "clinician-administered dissociative states scale", "dissociation scale"),
    },
    "sex": {
        "female": ("female", "f", "woman"),
        "male": ("male", "m", "man"),
        "other": ("other", "nonbinary", "non-binary", "x"),
        "unknown": ("unknown", "u", "not stated", "declined", "not known", "prefer not to say"),
    },
    # Ethnicity: the clinic's own categories (the census its region uses), added as vocabulary terms; built in
    # are only the answers that say none was given.
    "ethnicity": {
        "not stated": ("not stated", "not known", "unknown", "declined", "prefer not to say", "refused"),
        "other": ("other",),
    },
    "indication": {
        "depression": ("depression", "mdd", "trd", "major depressive disorder", "treatment-resistant depression",
                       "bipolar depression"),
        "anxiety": ("anxiety", "gad", "generalized anxiety disorder", "generalised anxiety disorder"),
        "PTSD": ("ptsd", "post-traumatic stress disorder", "posttraumatic stress disorder"),
        "OCD": ("ocd", "obsessive-compulsive disorder"),
        "other": ("other",),
    },
}

# The one word every hidden cell reads (a tile, a table, a chart's marker, the meeting pack): a small count and a
# count hidden to protect one read the same, so a reader cannot tell which of two hidden cells is the small one.
# Here, not in disclosure/suppress.py which applies it, so metrics/ can name it without importing disclosure/.
HIDDEN = "hidden"
