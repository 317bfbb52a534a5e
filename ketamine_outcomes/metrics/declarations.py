"""One declaration per mart: what it is split by, which of its columns count people (and so are sensitive
under small-cell suppression), which rates and means are built on which counts, which rows add up to a
total shown elsewhere, the file a download is named after, and its golden test. Every list that used to
be kept beside the others (suppression rules and complements, file labels, split dimensions) is read from
here, so a new mart is declared once.

A rate is declared as (numerator, denominator): docs/metrics.md, "Small cells", says why both are checked
(a rate beside a count gives the other count, and 1 - rate gives the complement)."""

from dataclasses import dataclass, field

# Splits shared by several marts (metrics.py checks `by` against them).
COHORT_SPLITS = ("all", "site", "route", "indication", "clinician", "age_band", "sex", "ethnicity",
                 "deprivation_decile", "series_number", "start_quarter", "start_month")
DURABILITY_SPLITS = ("all", "route", "site")


@dataclass(frozen=True)
class Mart:
    name: str
    instrument: bool = True  # the mart takes an instrument (PHQ-9, GAD-7, ...)
    filtered: bool = True  # the mart follows the cohort filters; False: the whole clinic whatever they are (its
    # download's name and first line say so instead of naming filters it does not apply)
    splits: tuple[str, ...] = ()  # values `by` may take; () when the mart is not split
    counts: tuple[str, ...] = ()  # columns that count people, series, sessions or answers: sensitive
    rates: dict[str, tuple[str, str]] = field(default_factory=dict)  # rate -> (numerator, denominator)
    means: dict[str, str] = field(default_factory=dict)  # mean, median or extreme -> the count it is over
    # count -> the count (or counts) it is a part of, where no rate says so (the scored with a baseline of the
    # scored): a 0 part of a hidden whole is hidden, as a rate's 0 numerator is (docs/metrics.md, "Small cells",
    # rule 1): "0 of a hidden few" tells something of every one of the few.
    parts: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    totals: tuple[str | None, ...] = ()  # columns whose rows add up to a total shown elsewhere (None: all rows)
    file: tuple[str, str] | None = None  # the Data page's download: (button label, what one row is)
    golden: tuple[str, ...] = ()  # tests/golden files that pin the mart's output
    curve: str | None = None  # a Kaplan-Meier or cumulative-incidence curve: its estimate column

    def part_of(self) -> list[tuple[str, str]]:
        """Every (part, whole) pair a 0 may not be shown beside a hidden whole in: the declared parts and each rate's
        numerator of its denominator."""
        declared = [(part, whole) for part, wholes in self.parts.items()
                    for whole in (wholes if isinstance(wholes, tuple) else (wholes,))]
        return declared + list(self.rates.values())

    def derived(self) -> dict[str, list[str]]:
        """Every column built on counts (a rate with its interval, a mean) and the counts it is built on."""
        out = {f"{rate}{end}": [num, den] for rate, (num, den) in self.rates.items()
               for end in ("", "_low", "_high")}
        return out | {mean: [base] for mean, base in self.means.items()}


def _rates(*names_num_den: tuple[str, str, str]) -> dict[str, tuple[str, str]]:
    return {name: (num, den) for name, num, den in names_num_den}


MARTS: dict[str, Mart] = {m.name: m for m in (
    Mart("weekly_outcomes", splits=COHORT_SPLITS,
         counts=("n_scored", "n_paired", "responders", "remitters", "reliably_improved", "reliably_deteriorated"),
         rates=_rates(("response_rate", "responders", "n_paired"), ("remission_rate", "remitters", "n_paired"),
                      ("reliable_improvement_rate", "reliably_improved", "n_paired"),
                      ("reliable_deterioration_rate", "reliably_deteriorated", "n_paired")),
         means={**{c: "n_scored" for c in ("mean_score", "median_score", "q1_score", "q3_score", "mean_ci_low",
                                           "mean_ci_high")}, "mean_change": "n_paired"},
         parts={"n_paired": "n_scored"},
         file=("Weekly outcomes (CSV)", "one row per week, observed cases"),
         golden=("weekly_outcomes_phq9.csv", "weekly_outcomes_gad7.csv", "weekly_outcomes_phq9_by_site.csv")),
    Mart("weekly_outcomes_itt",
         counts=("n_series", "n_observed", "n_carried", "n_imputed", "responders", "remitters"),
         rates=_rates(("response_rate", "responders", "n_series"), ("remission_rate", "remitters", "n_series")),
         means={"mean_score": "n_series", "mean_change": "n_series"},
         # each week's series are observed, carried or imputed: "0 observed" of a hidden few says none was scored
         parts={"n_observed": "n_series", "n_carried": "n_series", "n_imputed": "n_series"},
         file=("Weekly outcomes, intention to treat (CSV)", "one row per week, intention to treat"),
         golden=("weekly_outcomes_itt_phq9.csv",)),
    Mart("series_summary", file=("Every series (CSV)", "one row per treatment series"),
         golden=("series_summary_phq9.csv",)),
    Mart("attrition", counts=("n_series",), means={"share_of_started": "n_series"},
         file=("Attrition (CSV)", "one row per stage and completed session"), golden=("attrition_phq9.csv",)),
    Mart("adverse_events", instrument=False, splits=("all", "route", "session_number", "dose_band"),
         counts=("n_sessions", "n_events"), rates=_rates(("event_rate", "n_events", "n_sessions")),
         file=("Adverse events by route (CSV)", "one row per route and event"),
         golden=("adverse_events_by_route.csv",)),
    Mart("adverse_event_incidence", instrument=False, counts=("n_series", "n_with_event"),
         rates=_rates(("incidence_rate", "n_with_event", "n_series")),
         file=("Adverse events over the induction (CSV)",
               "one row per route and event: series with it, beside the published range")),
    Mart("blood_pressure", instrument=False,
         counts=("n_sessions", "n_measured", "n_high_peaks", "n_rise_measured", "n_rises", "n_pre_measured",
                 "n_pre_raised"),
         rates=_rates(("high_peak_rate", "n_high_peaks", "n_measured"), ("rise_rate", "n_rises", "n_rise_measured"),
                      ("pre_raised_rate", "n_pre_raised", "n_pre_measured")),
         means={"median_peak": "n_measured", "max_peak": "n_measured"},
         parts={"n_measured": "n_sessions", "n_rise_measured": "n_sessions", "n_pre_measured": "n_sessions"},
         file=("Blood pressure by route (CSV)", "one row per route"), golden=("blood_pressure.csv",)),
    Mart("item9_flags", instrument=False, filtered=False, file=("Item 9 flags (CSV)", "one row per PHQ-9 with item 9 of 1 or more"),
         golden=("item9_flags.csv",)),
    Mart("cohort_comparison", splits=COHORT_SPLITS,
         counts=("n_series", "n_evaluable", "n_scored", "responders", "remitters", "n_evaluable_no_baseline"),
         rates=_rates(("response_rate", "responders", "n_scored"), ("remission_rate", "remitters", "n_scored"),
                      ("itt_response_rate", "responders", "n_evaluable"),
                      ("itt_remission_rate", "remitters", "n_evaluable")),
         parts={"n_evaluable": "n_series", "n_scored": "n_evaluable"},
         file=("End of induction by site (CSV)", "one row per site"),
         golden=("cohort_comparison_phq9_by_route.csv", "cohort_comparison_pcl5_by_site.csv")),
    Mart("activity", instrument=False, counts=("n_series", "n_active_series", "n_patients", "n_sessions"),
         # "0 active" or "0 completed sessions" of a hidden number of series tells of every one of them
         parts={"n_active_series": "n_series", "n_patients": "n_series", "n_sessions": "n_series"},
         file=("Activity (CSV)", "one row: the Overview's tiles")),
    Mart("series_trajectories"),
    # A cross-table: each baseline band (a row), each end band (a column) and the whole table (the series
    # scored at end of induction) add up to a total shown elsewhere.
    Mart("severity_transitions", counts=("n_series",), totals=("baseline_band", "end_band", None),
         file=("Severity transitions (CSV)", "one row per baseline band and end-of-induction band")),
    Mart("coverage", instrument=False, filtered=False, file=("Coverage (CSV)", "one row per measure of what the database holds")),
    Mart("end_statuses", counts=("n_series",),
         file=("End-of-induction statuses (CSV)", "one row per end-of-induction status")),
    Mart("first_response_weeks", counts=("n_series",),
         file=("First responses by week (CSV)", "one row per week of first response")),
    Mart("sustained_response", splits=DURABILITY_SPLITS, counts=("n_at_risk", "n_events", "n_censored"),
         parts={"n_events": "n_at_risk", "n_censored": "n_at_risk"},  # a day's events and censored of its at risk
         curve="survival", file=("Sustained response curve (CSV)", "one row per day of the Kaplan-Meier curve")),
    Mart("time_to_response", splits=DURABILITY_SPLITS, counts=("n_at_risk", "n_events", "n_dropped", "n_censored"),
         parts={"n_events": "n_at_risk", "n_dropped": "n_at_risk", "n_censored": "n_at_risk"},
         curve="share_responded", file=("Time to response curve (CSV)", "one row per day of the curve")),
    Mart("maintenance", instrument=False, splits=DURABILITY_SPLITS,
         counts=("n_series", "n_with_boosters", "n_boosters", "n_reinducted"),
         rates=_rates(("with_boosters_rate", "n_with_boosters", "n_series"),
                      ("reinduction_rate", "n_reinducted", "n_series")),
         # medians of booster days are built on the series with boosters
         parts={"n_boosters": "n_with_boosters"},  # 0 boosters of a hidden few with boosters (0 iff 0)
         means={"mean_boosters": "n_series", "median_days_to_first_booster": "n_with_boosters",
                "median_days_between_boosters": "n_with_boosters"},
         file=("Boosters and re-inductions (CSV)", "one row for the cohort")),
    Mart("protocol_adherence", instrument=False, splits=("site", "all", "route", "clinician"),
         counts=("n_series", "n_completed", "n_within_window"),
         rates=_rates(("completion_rate", "n_completed", "n_series"), ("adherence_rate", "n_within_window", "n_series")),
         # within the window is a part of completed (a dropout is never within it): "0 within the window" beside a
         # hidden number completed says none of those few kept to it
         parts={"n_within_window": "n_completed"},
         file=("Protocol adherence by site (CSV)", "one row per site")),
    Mart("talking_therapies", instrument=False, splits=DURABILITY_SPLITS,
         counts=("n_finished", "n_paired", "n_cases", "n_recovered", "n_reliably_improved", "n_reliably_recovered",
                 "n_reliably_deteriorated", "n_mcid_improved"),
         rates=_rates(("caseness_rate", "n_cases", "n_paired"), ("recovery_rate", "n_recovered", "n_cases"),
                      ("reliable_improvement_rate", "n_reliably_improved", "n_cases"),
                      ("reliable_recovery_rate", "n_reliably_recovered", "n_cases"),
                      ("reliable_deterioration_rate", "n_reliably_deteriorated", "n_cases"),
                      ("mcid_improvement_rate", "n_mcid_improved", "n_cases")),
         # NHS's nested denominators: paired of finished (cases of paired is a rate); reliably recovered is recovered
         # and reliably improved, so a part of both
         parts={"n_paired": "n_finished", "n_reliably_recovered": ("n_recovered", "n_reliably_improved")},
         file=("NHS Talking Therapies measures (CSV)", "one row for the cohort")),
    Mart("item9_course", instrument=False, splits=("all", "route", "site"), counts=("n_series", "n_meeting"),
         rates=_rates(("measure_rate", "n_meeting", "n_series")),
         totals=("measure",),  # split by route or site, each measure's groups add up to its "all series" row
         file=("Item 9 over the induction (CSV)", "one row per group and measure")),
    Mart("dissociation", instrument=False, splits=("all", "route"), counts=("n_sessions",),
         means={c: "n_sessions" for c in ("mean_score", "mean_ci_low", "mean_ci_high")},
         totals=("session_number",),  # split by route, each session number's routes add up to its "all" row
         file=("Dissociation, CADSS (CSV)", "one row per session number")),
    # One row per series (an analyst's file, not shown to a meeting): the case-mix model's input.
    Mart("casemix_series", splits=("all", "site", "clinician"),
         file=("Case-mix model's series by site (CSV)",
               "one row per series scored at the end of induction, with its case mix")),
    # Not a mart of its own: a status's series counted by a chart (the histogram of change from baseline).
    Mart("series_counts", counts=("n_series",)),
)}

# The marts the Data page offers as files, in the order of the buttons.
FILES: dict[str, tuple[str, str]] = {name: mart.file for name, mart in MARTS.items() if mart.file}
