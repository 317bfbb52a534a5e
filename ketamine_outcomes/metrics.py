"""Outcome metrics: builds the intermediate tables (queries/intermediate/) and runs the marts
(queries/marts/) for an instrument and a cohort. Pages, the report and the CLI call these functions;
none of them computes a metric itself. Definitions: docs/metrics.md."""

from dataclasses import asdict, dataclass, replace
from datetime import date

import duckdb
import pandas as pd

from . import store

# Built in this order: each reads the ones before it.
INTERMEDIATE = ("series_sessions", "treatment_series", "series_assessments", "baselines", "weekly_scores",
                "end_of_induction")
MARTS = ("weekly_outcomes", "weekly_outcomes_itt", "series_summary", "attrition", "adverse_events",
         "blood_pressure", "item9_flags", "cohort_comparison", "activity", "series_trajectories",
         "severity_transitions", "coverage", "response_timing", "sustained_response", "time_to_response",
         "maintenance", "protocol_adherence", "talking_therapies", "item9_course", "dissociation")
# Marts that take no instrument.
WITHOUT_INSTRUMENT = ("adverse_events", "blood_pressure", "item9_flags", "activity", "coverage", "maintenance",
                      "protocol_adherence", "talking_therapies", "item9_course", "dissociation")
COHORT_DIMENSIONS = ("all", "site", "route", "indication", "clinician", "age_band", "sex", "series_number",
                     "start_quarter", "start_month")
SAFETY_DIMENSIONS = ("all", "route", "session_number", "dose_band")
ITEM9_DIMENSIONS = ("all", "route", "site")
DISSOCIATION_DIMENSIONS = ("all", "route")
DURABILITY_DIMENSIONS = ("all", "route", "site")
ADHERENCE_DIMENSIONS = ("site", "all", "route", "clinician")


@dataclass(frozen=True)
class Cohort:
    """The cohort filters every mart applies; an empty tuple or None means no filter."""

    sites: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    indications: tuple[str, ...] = ()
    clinicians: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()
    first_series_only: bool = False
    start_from: date | None = None
    start_to: date | None = None
    min_baseline: int | None = None
    baseline_instrument: str = "PHQ-9"  # the instrument min_baseline refers to

    def as_parameter(self) -> dict:
        return {k: (list(v) if v else None) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def describe(self) -> str:
        """The filters in force, in words, for the line printed above every chart."""
        labels = {"sites": "site", "routes": "route", "indications": "indication", "clinicians": "clinician",
                  "age_bands": "age band", "sexes": "sex"}
        parts = [f"{label}: {', '.join(getattr(self, name))}" for name, label in labels.items() if getattr(self, name)]
        if self.first_series_only:
            parts.append("first series only")
        if self.start_from or self.start_to:
            parts.append(f"started {self.start_from or '...'} to {self.start_to or '...'}")
        if self.min_baseline is not None:
            parts.append(f"{self.baseline_instrument} baseline >= {self.min_baseline}")
        return "; ".join(parts) or "all series"


# Instruments with an NHS Talking Therapies caseness threshold, and the setting that holds it.
CASENESS_SETTINGS = {"PHQ-9": "phq9_caseness", "GAD-7": "gad7_caseness"}


def caseness_cohort(con, cohort: Cohort, instrument: str) -> Cohort:
    """The cohort for headline end-of-induction rates: series at or above caseness at baseline on `instrument`
    (NHS Talking Therapies: PHQ-9 >= 10, GAD-7 >= 8), since a clinic's mild cases inflate remission. A minimum
    baseline already chosen is kept; an instrument without a caseness threshold leaves the cohort as it is."""
    if cohort.min_baseline is not None or instrument not in CASENESS_SETTINGS:
        return cohort
    (value,) = con.execute("select value from settings where name = $name",
                           {"name": CASENESS_SETTINGS[instrument]}).fetchall()[0]
    return replace(cohort, min_baseline=int(value), baseline_instrument=instrument)


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the intermediate tables and the cohort macro from the stored data, in one transaction."""
    def rebuild():
        for name in INTERMEDIATE:
            con.execute(f"create or replace table int_{name} as {store.sql('intermediate/' + name)}")
        for statement in store.sql("cohort_series").split(";\n"):
            if statement.strip():
                con.execute(statement)
        _record_build(con)

    store.transaction(con, rebuild)


def _record_build(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create or replace table build_state as select $version as data_version, $content as content_version",
                {"version": str(store.data_version(con)), "content": str(store.content_version(con))})


def built_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The data version the intermediate tables were built from (None before the first build)."""
    try:
        return con.execute("select data_version from build_state").fetchall()[0][0]
    except (duckdb.CatalogException, IndexError):
        return None


def is_built(con: duckdb.DuckDBPyConnection) -> bool:
    return built_version(con) == str(store.data_version(con))


def ensure_built(con: duckdb.DuckDBPyConnection) -> None:
    """Build when the stored data or settings changed since the last build (e.g. an ingest was killed
    between its commit and its build). When only batches that stored nothing new came since (an unchanged
    re-upload), the tables are current: the new version is recorded without the rebuild."""
    if is_built(con):
        return
    try:
        (built_content,) = con.execute("select content_version from build_state").fetchall()[0]
    except (duckdb.BinderException, duckdb.CatalogException, IndexError):  # never built, or built by an older version
        built_content = None
    if built_content == str(store.content_version(con)):
        store.transaction(con, lambda: _record_build(con))
    else:
        build(con)


def _mart(con, name: str, instrument: str | None, cohort: Cohort | None, **params) -> pd.DataFrame:
    cohort = cohort or Cohort()
    return store.query(con, f"marts/{name}", {"instrument": instrument, "cohort": cohort.as_parameter(), **params})


def weekly_outcomes(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "weekly_outcomes", instrument, cohort)


def weekly_outcomes_itt(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "weekly_outcomes_itt", instrument, cohort)


def series_summary(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "series_summary", instrument, cohort)


def attrition(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "attrition", instrument, cohort)


def adverse_events(con, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    if by not in SAFETY_DIMENSIONS:
        raise ValueError(f"adverse events are split by one of {', '.join(SAFETY_DIMENSIONS)}, not {by!r}")
    return _mart(con, "adverse_events", None, cohort, by=by)


def blood_pressure(con, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "blood_pressure", None, cohort)


def item9_flags(con, cohort: Cohort | None = None) -> pd.DataFrame:
    """Every PHQ-9 with item 9 >= 1, in a series or not. Not filtered by cohort: a flag is a patient to
    follow up whatever the filters (the argument is accepted for a uniform call)."""
    return store.query(con, "marts/item9_flags")


def item9_course(con, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    """Item 9 resolved and emergent, and reliable deterioration, over the induction."""
    return _mart(con, "item9_course", None, cohort, by=_split(by, ITEM9_DIMENSIONS, "item 9 course"))


def dissociation(con, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    """Mean CADSS by session number of the series."""
    return _mart(con, "dissociation", None, cohort, by=_split(by, DISSOCIATION_DIMENSIONS, "dissociation"))


def cohort_comparison(con, instrument: str, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    if by not in COHORT_DIMENSIONS:
        raise ValueError(f"cohorts are split by one of {', '.join(COHORT_DIMENSIONS)}, not {by!r}")
    return _mart(con, "cohort_comparison", instrument, cohort, by=by)


def activity(con, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "activity", None, cohort)


def series_trajectories(con, instrument: str, cohort: Cohort | None = None, max_series: int = 200) -> pd.DataFrame:
    return _mart(con, "series_trajectories", instrument, cohort, max_series=max_series)


def severity_transitions(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "severity_transitions", instrument, cohort)


def coverage(con, cohort: Cohort | None = None) -> pd.DataFrame:
    """What the database holds; not filtered by cohort (the argument is accepted for a uniform call)."""
    return store.query(con, "marts/coverage")


def response_timing(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "response_timing", instrument, cohort)


def _split(by: str, allowed: tuple[str, ...], what: str) -> str:
    if by not in allowed:
        raise ValueError(f"{what} is split by one of {', '.join(allowed)}, not {by!r}")
    return by


def sustained_response(con, instrument: str, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    """Kaplan-Meier of sustained response after an end-of-induction response."""
    return _mart(con, "sustained_response", instrument, cohort, by=_split(by, DURABILITY_DIMENSIONS, "durability"))


def time_to_response(con, instrument: str, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    """Kaplan-Meier of time to first response over every series with a baseline."""
    return _mart(con, "time_to_response", instrument, cohort, by=_split(by, DURABILITY_DIMENSIONS, "time to response"))


def maintenance(con, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "maintenance", None, cohort, by=_split(by, DURABILITY_DIMENSIONS, "maintenance"))


def protocol_adherence(con, by: str = "site", cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "protocol_adherence", None, cohort, by=_split(by, ADHERENCE_DIMENSIONS, "adherence"))


def talking_therapies(con, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    """NHS Talking Therapies measures at end of induction (PHQ-9 and GAD-7 together)."""
    return _mart(con, "talking_therapies", None, cohort, by=_split(by, DURABILITY_DIMENSIONS, "talking therapies"))


def published_results(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    """Published end-of-induction results (definitions.REFERENCE_RESULTS) matched by route: the results for
    this instrument whose route is the cohort's one route. A cohort that mixes routes gets none (an IV
    figure beside an at-home oral cohort misleads); `is_matched` says which rows those are."""
    cohort = cohort or Cohort()
    (routes,) = con.execute("select coalesce(list(distinct route order by route), []) from cohort_series($cohort, null)",
                            {"cohort": cohort.as_parameter()}).fetchall()[0]
    frame = con.execute("select * from reference_results where instrument = $i order by route, study",
                        {"i": instrument}).df()
    frame["is_matched"] = frame.route.eq(routes[0]) if len(routes) == 1 else False
    return frame
