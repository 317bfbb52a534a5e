"""Guards what the series view reads: every query it runs carries that series' rows only (its patient's, for the
links to the other series and re-induction) from the scan up, so its cost does not grow with the clinic. Read
from DuckDB's own profile of each query as the view runs it: the rows each operator put out."""

import json

import pytest

from ketamine_outcomes.care import series
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database

PER_PATIENT = ("int_series_sessions", "int_series_assessments", "int_weekly_scores", "int_baselines",
               "int_end_of_induction", "int_treatment_series")


class Profiled:
    """A connection that keeps DuckDB's profile of every query run through it (read once its rows are fetched:
    at the next query, or at the end)."""

    def __init__(self, con):
        self._con = con
        self._pending = False
        self.profiles: list[dict] = []
        con.execute("set enable_profiling = 'no_output'")

    def execute(self, sql, params=None):
        self.harvest()
        result = self._con.execute(sql, params if params is not None else {})
        self._pending = True
        return result

    def harvest(self) -> None:
        if self._pending:
            self.profiles.append(json.loads(self._con.get_profiling_information(format="json")))
            self._pending = False

    def __getattr__(self, name):
        return getattr(self._con, name)


def table_of(node: dict) -> str | None:
    name = node.get("extra_info", {}).get("Table") if isinstance(node.get("extra_info"), dict) else None
    return name.rsplit(".", 1)[-1] if name else None


def outputs(node: dict) -> list[tuple[str, int, set[str]]]:
    """(operator, rows it put out, tables under it) for every operator of the plan. A filter straight over a
    table scan is taken with its scan, as the scan with that filter pushed into it (DuckDB leaves some there)."""
    children = node.get("children", [])
    if node.get("type") == "FILTER" and len(children) == 1 and children[0].get("type") == "TABLE_SCAN":
        return [(f"{table_of(children[0])} scan, filtered", node.get("intermediate_rows", 0), {table_of(children[0])})]
    found, tables = [], set()
    for child in children:
        below = outputs(child)
        found += below
        tables |= below[-1][2] if below else set()
        for _, _, t in below:
            tables |= t
    if node.get("type") == "TABLE_SCAN":
        tables = {table_of(node)} - {None}
    found.append((node.get("name", "?"), node.get("intermediate_rows", 0), tables))
    return found


@pytest.fixture(scope="module")
def sample(sample_db):
    con = database.open_file(sample_db, read_only=True)
    yield con
    con.close()


def a_rich_series(con) -> str:
    """A series that exercises every part of the view: it responded at the end of induction on PHQ-9 (so it is
    followed for durability), had boosters after it, and its patient came back for a later series."""
    rows = con.execute(
        "select s.series_id from int_treatment_series as s "
        "join int_end_of_induction as e on e.series_id = s.series_id and e.instrument = 'PHQ-9' and e.is_response "
        "where s.sessions_completed > s.induction_sessions and s.patient_id in "
        "(select patient_id from int_treatment_series where series_number > s.series_number) "
        "order by s.series_id limit 1").fetchall()
    assert rows, "the sample clinic should hold a responder with boosters and a later series"
    return rows[0][0]


def test_every_query_of_the_series_view_carries_only_that_patients_rows(sample):
    series_id = a_rich_series(sample)
    (patient_id,) = sample.execute("select patient_id from int_treatment_series where series_id = $s",
                                   {"s": series_id}).fetchall()[0]
    # The most rows this patient has in any per-patient table: nothing the view runs should carry more.
    bound = max(sample.execute(f"select count(*) from {t} where series_id in (select series_id from "
                               "int_treatment_series where patient_id = $p)", {"p": patient_id}).fetchall()[0][0]
                if t != "int_series_sessions" else
                sample.execute("select count(*) from int_series_sessions where patient_id = $p",
                               {"p": patient_id}).fetchall()[0][0]
                for t in PER_PATIENT)
    # The test can fail: the clinic's PHQ-9 weekly scores, aggregated whole, are many times the bound.
    (clinic,) = sample.execute("select count(*) from int_weekly_scores where instrument = 'PHQ-9'").fetchall()[0]
    assert clinic > 20 * bound

    # Counted once per data version (the page keeps them), not per view: read outside the profile.
    counts = {name: series.expected_range_counts(sample, name) for name in ("PHQ-9", "GAD-7", "PCL-5", "CADSS")}
    con = Profiled(sample)
    one = series.series(con, series_id)
    series.sessions(con, series_id)
    scores = series.scores(con, series_id)
    series.patient_series(con, series_id)
    boosters = series.maintenance(con, series_id)
    for instrument in series.instruments_of(scores):
        found = series.classification(con, series_id, instrument, boosters)
        assert found is not None and found.summary.series_id == series_id
        baseline = scores[(scores.instrument == instrument) & (scores.week == 0)].score
        if len(baseline):
            expected = series.expected_range(con, series_id, instrument, float(baseline.iloc[0]), counts[instrument])
            assert instrument != "PHQ-9" or len(expected) > 0
    con.harvest()
    sample.execute("set enable_profiling = 'no_output'")
    sample.execute("pragma disable_profiling")

    assert one is not None and boosters is not None and int(boosters.n_boosters) > 0
    assert len(con.profiles) >= 8
    wide = []
    for profile in con.profiles:
        for operator, rows, tables in (o for top in profile.get("operator", []) for o in outputs(top)):
            if tables & set(PER_PATIENT) and rows > bound:
                wide.append((profile["query"]["sql"].splitlines()[0][:80], operator, rows, sorted(tables)))
    assert wide == [], f"operators carrying more than this patient's {bound} rows: {wide}"


def test_series_summary_asked_about_one_series_gives_its_row_of_the_whole_clinics(sample):
    """The series' filter is applied before the aggregate now: the row must be the one the population asks."""
    whole = marts.series_summary(sample, "PHQ-9").set_index("series_id")
    for series_id in whole.sample(25, random_state=1).index:
        one = marts.series_summary(sample, "PHQ-9", marts.Cohort(series_ids=(series_id,)))
        assert len(one) == 1
        assert one.iloc[0].drop("series_id").equals(whole.loc[series_id]), series_id


# The expected range as its definition states it, straight from the scores (what care/expected_range.sql computed
# before it read counts): the quartiles of the similar closed series' scores each week, the series left out.
BY_DEFINITION = """
with closed as (
    select series_id, baseline_score from int_end_of_induction
    where instrument = $instrument and is_evaluable and series_id <> $series_id
        and abs(baseline_score - $baseline_score) <= setting('expected_range_baseline_points')
),
scores as (
    select series_id, 0 as week, baseline_score as score from closed
    union all
    select weekly.series_id, weekly.week, weekly.score from int_weekly_scores as weekly
    join closed using (series_id) where weekly.instrument = $instrument
)
select week, count(*) as n_series, quantile_cont(score, 0.25) as low, quantile_cont(score, 0.5) as median,
    quantile_cont(score, 0.75) as high
from scores group by week having count(*) >= setting('min_cell_size') order by week
"""


def test_the_expected_range_from_counts_is_the_quartiles_of_the_similar_closed_series_scores(sample):
    chosen = sample.execute("select b.series_id, b.instrument, b.baseline_score, coalesce(e.is_evaluable, false) "
                            "from int_baselines as b left join int_end_of_induction as e using (series_id, instrument) "
                            "order by hash(b.series_id || b.instrument) limit 120").fetchall()
    assert {closed for *_, closed in chosen} == {True, False}  # series that are among the similar closed, and not
    counts = {}
    drawn = 0
    for series_id, instrument, baseline, _ in chosen:
        if instrument not in counts:
            counts[instrument] = series.expected_range_counts(sample, instrument)
        params = {"series_id": series_id, "instrument": instrument, "baseline_score": float(baseline)}
        wanted = sample.execute(BY_DEFINITION, params).df()
        got = series.expected_range(sample, series_id, instrument, float(baseline), counts[instrument])
        assert got.week.tolist() == wanted.week.tolist(), series_id
        assert got.n_series.tolist() == wanted.n_series.tolist(), series_id
        for column in ("low", "median", "high"):
            assert got[column].tolist() == pytest.approx(wanted[column].tolist(), abs=1e-9), (series_id, column)
        drawn += len(got) > 0
    assert drawn > 60  # most of them have a range to compare


def test_the_not_on_track_list_reads_the_active_series_and_the_thresholds_kept_for_the_data_version(clinic_db):
    """The list is the active series judged against the thresholds learned once per data version: the closed
    series' rows, made nonsense after the thresholds were read, change nothing in it."""
    con = database.connect(clinic_db)
    try:
        reference = series.checkpoint_reference(con, "PHQ-9")
        before = series.active_at_checkpoint(con, "PHQ-9", None, reference.thresholds)
        assert before.is_active.all() and len(before) > 0 and before.is_flagged.any()
        (closed,) = con.execute("select count(*) from int_end_of_induction where instrument = 'PHQ-9' and is_evaluable"
                                ).fetchall()[0]
        assert closed > 10 * len(before)
        # Every closed series now scores its instrument's maximum everywhere: a threshold learned again from them
        # would flag no one (no responder would improve at all).
        con.execute("update int_series_assessments set score = 27 where instrument = 'PHQ-9' and series_id in "
                    "(select series_id from int_end_of_induction where instrument = 'PHQ-9' and is_evaluable)")
        after = series.active_at_checkpoint(con, "PHQ-9", None, reference.thresholds)
        assert after.equals(before)
        assert series.checkpoint_reference(con, "PHQ-9").thresholds.threshold_improvement.dropna().le(0).all()
    finally:
        con.close()
