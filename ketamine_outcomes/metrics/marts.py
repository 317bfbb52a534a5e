"""Outcome metrics: builds the intermediate tables (queries/intermediate/) and runs the marts
(queries/marts/) for an instrument and a cohort. Pages, the report and the CLI call these functions;
none of them computes a metric itself. Definitions: docs/metrics.md."""

import hashlib
import re
from dataclasses import asdict, dataclass, replace
from datetime import date

import duckdb
import pandas as pd

from ketamine_outcomes.privacy import check_equity_view
from ketamine_outcomes.metrics import casemix
from ketamine_outcomes.metrics.declarations import MARTS as MART_DECLARATIONS
from ketamine_outcomes.store import database

# Built in this order: each reads the ones before it. The first ones are facts read across patients; in the
# others each row belongs to one patient's series, and the last three are keyed by series only.
ACROSS_PATIENTS = ("indications", "data_extent")
PER_PATIENT = ("series_sessions", "treatment_series", "series_assessments", "baselines", "weekly_scores",
               "end_of_induction")
INTERMEDIATE = ACROSS_PATIENTS + PER_PATIENT
BY_SERIES = ("baselines", "weekly_scores", "end_of_induction")
# What each metric table reads, for an incremental build: the reasons (queries/build_scope.sql) for which
# it computes a patient again (a stored table whose rows of the patient changed, or a moved last day),
# and the metric tables before it whose rows of the patient changed. A test holds this to the SQL.
READS = {
    "series_sessions": (("sessions", "assessments"), ()),
    "treatment_series": (("patients", "last_day"), ("series_sessions",)),
    "series_assessments": (("assessments",), ("treatment_series",)),
    "baselines": ((), ("series_assessments",)),
    "weekly_scores": ((), ("treatment_series", "series_assessments", "baselines")),
    "end_of_induction": (("last_day",), ("treatment_series", "series_assessments", "baselines")),
}
# The columns of int_treatment_series a table reads, where it reads only some: a series whose other columns
# changed (a new session moves its last day and count) is not computed again for it. A test holds these to
# the SQL.
SERIES_COLUMNS = {
    "series_assessments": ("series_id", "patient_id", "series_number", "start_day"),
    "weekly_scores": ("series_id", "site", "route", "indication", "clinician_id", "age_band", "sex", "series_number",
                      "start_date"),
}
# A build that would compute again more than this share of the patients computes them all (one pass over
# every table is then cheaper than deleting and inserting most of it).
INCREMENTAL_SHARE = 0.25
MARTS = ("weekly_outcomes", "weekly_outcomes_itt", "series_summary", "attrition", "adverse_events",
         "blood_pressure", "item9_flags", "cohort_comparison", "activity", "series_trajectories",
         "severity_transitions", "coverage", "end_statuses", "first_response_weeks", "sustained_response", "time_to_response",
         "maintenance", "protocol_adherence", "talking_therapies", "item9_course", "dissociation",
         "casemix_series", "adverse_event_incidence")
# Marts that take no instrument.
WITHOUT_INSTRUMENT = ("adverse_events", "adverse_event_incidence", "blood_pressure", "item9_flags", "activity", "coverage", "maintenance",
                      "protocol_adherence", "talking_therapies", "item9_course", "dissociation")
# The splits each mart allows, as declared with it (ketamine_outcomes/metrics/declarations.py).
COHORT_DIMENSIONS = MART_DECLARATIONS["cohort_comparison"].splits
SAFETY_DIMENSIONS = MART_DECLARATIONS["adverse_events"].splits
ITEM9_DIMENSIONS = MART_DECLARATIONS["item9_course"].splits
DISSOCIATION_DIMENSIONS = MART_DECLARATIONS["dissociation"].splits
DURABILITY_DIMENSIONS = MART_DECLARATIONS["sustained_response"].splits
ADHERENCE_DIMENSIONS = MART_DECLARATIONS["protocol_adherence"].splits
WEEKLY_DIMENSIONS = MART_DECLARATIONS["weekly_outcomes"].splits


@dataclass(frozen=True)
class Cohort:
    """The cohort filters every mart applies; an empty tuple or None means no filter."""

    sites: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    indications: tuple[str, ...] = ()
    clinicians: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()
    ethnicities: tuple[str, ...] = ()  # as cohort_series groups them (a small category is 'other')
    deprivation_deciles: tuple[str, ...] = ()  # "1" to "10", "unknown"
    first_series_only: bool = False
    start_from: date | None = None
    start_to: date | None = None
    min_baseline: int | None = None
    baseline_instrument: str = "PHQ-9"  # the instrument min_baseline refers to
    # Series ids (series_summary's `series_id`): the series view asks the marts about one series (every mart
    # that reads cohort_series, the weekly ones too since issue 21), so its classification is the pages' own.
    series_ids: tuple[str, ...] = ()

    def as_parameter(self) -> dict:
        return {k: (list(v) if v else None) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def describe(self) -> str:
        """The filters in force, in words, for the line printed above every chart."""
        labels = {"sites": "site", "routes": "route", "indications": "indication", "clinicians": "clinician",
                  "age_bands": "age band", "sexes": "sex", "ethnicities": "ethnicity",
                  "deprivation_deciles": "deprivation decile"}
        parts = [f"{label}: {', '.join(getattr(self, name))}" for name, label in labels.items() if getattr(self, name)]
        if self.first_series_only:
            parts.append("first series only")
        if self.start_from or self.start_to:
            parts.append(f"started {self.start_from or '...'} to {self.start_to or '...'}")
        if self.min_baseline is not None:
            parts.append(f"{self.baseline_instrument} baseline >= {self.min_baseline}")
        if self.series_ids:
            parts.append(f"series {', '.join(self.series_ids)}")
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
    return with_caseness(cohort, instrument, {instrument: value})


def with_caseness(cohort: Cohort, instrument: str, thresholds: dict[str, float]) -> Cohort:
    """The caseness rule, once (the dashboard's View.headline and caseness_cohort both apply it): the cohort
    limited to series whose baseline on `instrument` is at least its threshold (`thresholds`: instrument ->
    value in force). A minimum baseline already chosen is kept; an instrument without one is left as it is."""
    if cohort.min_baseline is not None or instrument not in thresholds:
        return cohort
    return replace(cohort, min_baseline=int(thresholds[instrument]), baseline_instrument=instrument)


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every intermediate table and the cohort macros from the stored data, in one transaction."""
    database.transaction(con, lambda: _build_all(con))


def _build_all(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create or replace temp macro in_build_scope(patient) as true")
    for name in INTERMEDIATE:
        con.execute(f"create or replace table int_{name} as {database.sql('intermediate/' + name)}")
    _create_cohort_macros(con)
    _record_build(con)


def _create_cohort_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The macros of queries/cohort_series.sql, made again at every build, full or not: they bind to the
    intermediate tables (so they cannot be made with macros.sql, before any table exists), and a database an
    older version built lacks the ones added since."""
    for statement in database.sql("cohort_series").split(";\n"):
        if statement.strip():
            con.execute(statement)


def cohort_macros() -> frozenset[str]:
    """The names of the macros queries/cohort_series.sql makes."""
    return frozenset(re.findall(r"create or replace macro (\w+)", database.sql("cohort_series")))


def _build_changed(con: duckdb.DuckDBPyConnection) -> int | None:
    """Compute again only what the changed rows reach: each metric table for the patients queries/build_scope.sql
    names for a stored table it reads (READS), and for those whose rows changed in a metric table it reads,
    by the same queries limited to them (in_build_scope); only the rows that differ are replaced. Returns
    how many patients had a reason; None, for a full build instead, when the tables were built by other
    code or settings, when the indications' spellings changed (every series shows them), or when those
    patients are a large share of all."""
    # Looked up, not tried: an error would abort the transaction this runs in.
    (built_by_this_version,) = con.execute(
        "select count(*) = 2 from duckdb_columns() where database_name = current_database() and schema_name = 'main' "
        "and (table_name, column_name) in (('build_state', 'facts'), ('int_data_extent', 'data_last_day'))"
    ).fetchall()[0]
    if not built_by_this_version:
        return None
    (facts, built_last_day) = con.execute("select facts, (select data_last_day from int_data_extent) "
                                          "from build_state").fetchall()[0]
    if facts != _facts(con):
        return None
    before = _table_text(con, "int_indications")
    for name in ACROSS_PATIENTS:
        con.execute(f"create or replace table int_{name} as {database.sql('intermediate/' + name)}")
    if _table_text(con, "int_indications") != before:
        return None
    (last_day,) = con.execute("select data_last_day from int_data_extent").fetchall()[0]
    if built_last_day is None or last_day is None:
        return None
    database.run(con, "build_scope", {"last_day_moved": last_day != built_last_day, "built_last_day": built_last_day,
                                   "last_day": last_day}, into="build_reasons")
    (scope, patients) = con.execute("select (select count(distinct patient_id) from build_reasons), "
                                    "(select count(distinct patient_id) from int_treatment_series)").fetchall()[0]
    if scope > INCREMENTAL_SHARE * patients:
        con.execute("drop table temp.build_reasons")
        return None
    # Each table's patients are put in build_scope, which the intermediate queries read through this macro.
    con.execute("create or replace temp table build_scope as select patient_id from build_reasons limit 0")
    con.execute("create or replace temp macro in_build_scope(patient) as "
                "patient in (select patient_id from temp.build_scope)")
    # Set first, so that a series whose row differs only by the last day is not counted as changed.
    if last_day != built_last_day:
        con.execute("update int_treatment_series set data_last_day = $day", {"day": last_day})
    for name in PER_PATIENT:
        reasons, tables = READS[name]
        con.execute("create or replace temp table build_scope as "
                    + " union ".join(["select patient_id from build_reasons where reason in ("
                                      + ", ".join(f"'{r}'" for r in (*reasons, "any")) + ")"]
                                     + [f"select patient_id from build_changed_{t}"
                                        + (f"_for_{name}" if t == "treatment_series" and name in SERIES_COLUMNS else "")
                                        for t in tables]))
        if name == "treatment_series":
            # Their series as they were: a patient's series can end up fewer or renumbered.
            con.execute("create or replace temp table build_old_series as "
                        "select series_id, patient_id from int_treatment_series where in_build_scope(patient_id)")
        _replace_differing_rows(con, name)
    _create_cohort_macros(con)
    _record_build(con)
    return scope


def _replace_differing_rows(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Compute int_<name> again for the patients in build_scope, replace those of their rows that differ, and
    list in build_changed_<name> the patients whose rows did (what the tables after it read)."""
    series = ("select series_id, patient_id from build_old_series where in_build_scope(patient_id) union "
              "select series_id, patient_id from int_treatment_series where in_build_scope(patient_id)")
    mine = f"series_id in (select series_id from ({series}))" if name in BY_SERIES else "in_build_scope(patient_id)"
    (anyone,) = con.execute("select count(*) > 0 from build_scope").fetchall()[0]
    if not anyone:
        for changed in (name, *(f"{name}_for_{reader}" for reader in SERIES_COLUMNS if name == "treatment_series")):
            con.execute(f"create or replace temp table build_changed_{changed} as select patient_id from build_scope")
        return
    con.execute(f"create or replace temp table build_fresh as {database.sql('intermediate/' + name)}")
    con.execute(f"create or replace temp table build_old as select rowid as old_rowid, * from int_{name} where {mine}")
    # Only the rows that differ are deleted and inserted (most of a patient's rows stay as they were):
    # what a build writes into the database file is what changed, not all of these patients' rows. Rows
    # are compared column by column (a hash of a row can be steered by free-text fields an export
    # controls: the probe kept a changed row's hash, and so its old values, under every keyed hash).
    columns = [c for (c,) in con.execute("select column_name from duckdb_columns() where table_name = $t "
                                          "and schema_name = 'main' order by column_index",
                                          {"t": f"int_{name}"}).fetchall()]
    same = " and ".join(f"o.{c} is not distinct from f.{c}" for c in columns)
    key = "series_id" if name in BY_SERIES else "patient_id"
    # One join pairs each old row with an equal fresh one: those left unpaired on either side differ.
    con.execute(f"create or replace temp table build_unpaired as select o.old_rowid, f.rowid as fresh_rowid "
                f"from build_old as o full join build_fresh as f on {same} "
                f"where o.old_rowid is null or f.rowid is null")
    con.execute(f"create or replace temp table build_gone as select old_rowid, {key} from build_old "
                f"where old_rowid in (select old_rowid from build_unpaired)")
    con.execute("create or replace temp table build_added as select * from build_fresh "
                "where rowid in (select fresh_rowid from build_unpaired)")
    con.execute(f"delete from int_{name} where rowid in (select old_rowid from build_gone)")
    con.execute(f"insert into int_{name} select * from build_added")
    changed = f"select {key} from build_gone union select {key} from build_added"
    if name in BY_SERIES:
        changed = f"select patient_id from ({series}) where series_id in ({changed})"
    con.execute(f"create or replace temp table build_changed_{name} as {changed}")
    if name == "treatment_series":
        # Per reader that reads only some columns: the patients whose series differ in those columns.
        for reader, read in SERIES_COLUMNS.items():
            cols = ", ".join(("patient_id", *read))
            gone = f"select {cols} from build_old semi join build_gone using (old_rowid)"
            added = f"select {cols} from build_added"
            con.execute(f"create or replace temp table build_changed_{name}_for_{reader} as "
                        f"select patient_id from (({gone} except all {added}) union all ({added} except all {gone}))")


def _drop_build_tables(con: duckdb.DuckDBPyConnection) -> None:
    names = ["build_reasons", "build_scope", "build_old_series", "build_fresh", "build_old", "build_unpaired",
             "build_gone", "build_added", *(f"build_changed_{name}" for name in PER_PATIENT),
             *(f"build_changed_treatment_series_for_{reader}" for reader in SERIES_COLUMNS)]
    for name in names:
        con.execute(f"drop table if exists temp.{name}")


def _table_text(con: duckdb.DuckDBPyConnection, table: str) -> str:
    return con.execute(f"select coalesce(string_agg(t::varchar, '|' order by t::varchar), '') from {table} as t"
                       ).fetchall()[0][0]


def _facts(con: duckdb.DuckDBPyConnection) -> str:
    """What every series reads besides its patient's rows and the across-patient tables: the code of the
    metric tables, the settings in force and the instruments' definitions."""
    code = [database.sql(f"intermediate/{name}") for name in INTERMEDIATE]
    code += [database.sql(name) for name in ("cohort_series", "build_scope", "macros")]
    tables = [_table_text(con, name) for name in ("settings", "instruments")]
    return hashlib.sha256(repr((code, tables)).encode()).hexdigest()


def _record_build(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("delete from stale_patients")
    con.execute("create or replace table build_state as "
                "select $version as data_version, $content as content_version, $facts as facts",
                {"version": str(database.data_version(con)), "content": str(database.content_version(con)),
                 "facts": _facts(con)})


def is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds every setting this version defines, metric tables this version's code
    built from its settings, and every cohort macro this version's marts read: pages read all three, and a
    database opened read-only (or a published copy) cannot be brought up to date."""
    from ketamine_outcomes.definitions import SETTINGS

    try:
        names = {name for (name,) in con.execute("select name from settings").fetchall()}
        (facts,) = con.execute("select facts from build_state").fetchall()[0]
        macros = {name for (name,) in con.execute(
            "select function_name from duckdb_functions() where database_name = current_database() "
            "and schema_name = 'main' and not internal").fetchall()}
    except (duckdb.Error, IndexError):  # an older version's database, or one never built
        return False
    if not set(SETTINGS) <= names or not cohort_macros() <= macros:
        return False
    return facts == _facts(con)


def built_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The data version the intermediate tables were built from (None before the first build)."""
    try:
        return con.execute("select data_version from build_state").fetchall()[0][0]
    except (duckdb.CatalogException, IndexError):
        return None


# What ensure_built says when it wrote nothing (anything else: a build was recorded, which a published copy lacks).
UP_TO_DATE = "up to date"


def is_built(con: duckdb.DuckDBPyConnection) -> bool:
    return built_version(con) == str(database.data_version(con))


def ensure_built(con: duckdb.DuckDBPyConnection) -> str:
    """Build when the stored data or settings changed since the last build (e.g. an ingest was killed
    between its commit and its build). When only batches that stored nothing new came since (an unchanged
    re-upload), the tables are current: the new version is recorded without the rebuild. When some rows
    changed, only their patients' series are computed again (the daily upload), unless that is most of them.
    Tables and macros an older version built (its code or a macro added since differ: is_current) are built
    again, whatever the data. Returns what it did, in words: UP_TO_DATE when nothing was written."""
    current = is_current(con)
    if current and is_built(con):
        return UP_TO_DATE
    try:
        (built_content,) = con.execute("select content_version from build_state").fetchall()[0]
    except (duckdb.BinderException, duckdb.CatalogException, IndexError):  # never built, or built by an older version
        built_content = None
    if current and built_content == str(database.content_version(con)):
        database.transaction(con, lambda: _record_build(con))
        return "up to date: no stored row changed"

    def some_or_all():
        scope = _build_changed(con)
        _drop_build_tables(con)
        if scope is None:
            _build_all(con)
        return scope

    scope = database.transaction(con, some_or_all)
    return "built for every patient" if scope is None else f"built again for {scope} patients whose data changed"


def _sorted_asof_joins(con) -> None:
    """DuckDB runs an as-of join whose left side it estimates at 64 rows or fewer (asof_loop_join_threshold) as a
    nested loop over every pair of rows. A cohort filter makes that estimate small whatever the real size: at 10k
    patients weekly_outcomes_itt for PHQ-9 baseline >= 10, evaluable series, took 8 s instead of 0.05 s (68,000
    rows on the left). The marts' as-of joins are always sorted ones (same rows: the join's meaning is the same)."""
    con.execute("set asof_loop_join_threshold = 0")


def _mart(con, name: str, instrument: str | None, cohort: Cohort | None, **params) -> pd.DataFrame:
    cohort = cohort or Cohort()
    check_equity_view(cohort, params.get("by"))  # quasi-identifiers: only the combinations privacy allows
    _sorted_asof_joins(con)
    return database.query(con, f"marts/{name}", {"instrument": instrument, "cohort": cohort.as_parameter(), **params})


def weekly_outcomes(con, instrument: str, cohort: Cohort | None = None, evaluable_only: bool = False,
                    by: str | None = None) -> pd.DataFrame:
    """`evaluable_only`: the series whose end-of-induction window has closed or that dropped out (the Response
    page's rates by week, counted as every end-of-induction figure is); else every series (trajectories).
    `by`: one row per group of that split and week, the group in group_value (one line per site, in one
    query). Unsplit (None), one row per week without group_value: the table the Overview, the Response page,
    the pack, the CLI and the Data page's file show."""
    frame = _mart(con, "weekly_outcomes", instrument, cohort, evaluable_only=evaluable_only,
                  by=_split(by or "all", WEEKLY_DIMENSIONS, "the weekly table"))
    return frame.drop(columns="group_value") if by is None else frame


def weekly_outcomes_itt(con, instrument: str, cohort: Cohort | None = None,
                        evaluable_only: bool = False) -> pd.DataFrame:
    return _mart(con, "weekly_outcomes_itt", instrument, cohort, evaluable_only=evaluable_only)


def series_summary(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "series_summary", instrument, cohort)


def end_change_counts(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    """Evaluable series counted by end status and end-of-induction % change (series_summary's end_status and
    end_pct_change): the change-per-series chart's input, a few hundred rows however many series. Not a table of its
    own (not in MARTS): the chart shows it binned and suppressed (disclosure/response_panels.change_bins)."""
    return _mart(con, "end_change_counts", instrument, cohort)


def attrition(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "attrition", instrument, cohort)


def adverse_events(con, by: str = "all", cohort: Cohort | None = None) -> pd.DataFrame:
    if by not in SAFETY_DIMENSIONS:
        raise ValueError(f"adverse events are split by one of {', '.join(SAFETY_DIMENSIONS)}, not {by!r}")
    return _mart(con, "adverse_events", None, cohort, by=by)


def adverse_event_incidence(con, cohort: Cohort | None = None) -> pd.DataFrame:
    """Share of series with each adverse event over the induction, by route, beside the published range."""
    return _mart(con, "adverse_event_incidence", None, cohort)


def blood_pressure(con, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "blood_pressure", None, cohort)


def item9_flags(con, cohort: Cohort | None = None) -> pd.DataFrame:
    """Every PHQ-9 with item 9 >= 1, in a series or not. Not filtered by cohort: a flag is a patient to
    follow up whatever the filters (the argument is accepted for a uniform call). Of its two "when" columns it
    keeps those the data uses: a dated export's rows have no day (a dated row's day counts from 1970 and means
    nothing to a reader), an export with day offsets has no date, so a column empty in every row is dropped
    (both stay when dated and undated exports are stored together)."""
    _sorted_asof_joins(con)
    flags = database.query(con, "marts/item9_flags")
    return flags.drop(columns=[c for c in ("assessment_date", "assessment_day") if flags[c].isna().all()]
                      if not flags.empty else [])


def item9_cohort_answers(con, cohort: Cohort | None = None) -> pd.DataFrame:
    """The PHQ-9 item 9 answers of 1 or more given in the cohort's series: the pack's item 9 counts, which follow
    its filters (item9_flags is every flag of the clinic, for follow-up)."""
    return _mart(con, "item9_cohort_answers", None, cohort)


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


def casemix_series(con, instrument: str, by: str = "site", cohort: Cohort | None = None) -> pd.DataFrame:
    """The series scored at the end of induction with their case mix: what the adjusted comparison is fitted on."""
    return _mart(con, "casemix_series", instrument, cohort,
                 by=_split(by, ("all", *casemix.ADJUSTED_DIMENSIONS), "the case-mix comparison"))


def casemix_comparison(con, instrument: str, by: str = "site", cohort: Cohort | None = None) -> "casemix.Adjusted":
    """Observed and case-mix expected responders by site or clinician (ketamine_outcomes/metrics/casemix.py)."""
    return casemix.adjusted_comparison(casemix_series(con, instrument, by, cohort))


def activity(con, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "activity", None, cohort)


def series_trajectories(con, instrument: str, cohort: Cohort | None = None, max_series: int = 200) -> pd.DataFrame:
    return _mart(con, "series_trajectories", instrument, cohort, max_series=max_series)


def severity_transitions(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    return _mart(con, "severity_transitions", instrument, cohort)


def coverage(con, cohort: Cohort | None = None) -> pd.DataFrame:
    """What the database holds; not filtered by cohort (the argument is accepted for a uniform call)."""
    return database.query(con, "marts/coverage")


def end_statuses(con, instrument: str, cohort: Cohort | None = None) -> pd.DataFrame:
    """How many series ended their induction in each status (one row per status)."""
    return _mart(con, "end_statuses", instrument, cohort)


def first_response_weeks(con, instrument: str, cohort: Cohort | None = None,
                         evaluable_only: bool = False) -> pd.DataFrame:
    """How many series first responded in each week (one row per week; responders only). `evaluable_only`: as
    weekly_outcomes."""
    return _mart(con, "first_response_weeks", instrument, cohort, evaluable_only=evaluable_only)


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
