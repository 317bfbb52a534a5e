"""Guards the upgrade path of the cohort macros (queries/cohort_series.sql): a database an older version built
lacks the macros added since (scored_weeks, counted_series) even though its data has not changed. Opened for
writing the way the command line and the dashboard open it, it gets this version's macros and every mart
reads; a published copy an older version made is replaced by one with them, which the replicas read."""

import shutil

import duckdb
import pytest

from conftest import open_app, run_cli, shown
from ketamine_outcomes.ingest.pipeline import ingest_file
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database, publish

# Two IV series, each scored at baseline and in week 1: P1 20 -> 8 (responds), P2 20 -> 15 (does not).
SESSIONS = "patient_id,session_day,status,route,site\n" + "".join(
    f"{p},{d},completed,IV,North\n" for p in ("P1", "P2") for d in (0, 2, 4, 7, 9, 11))
OUTCOMES = ("patient_id,assessment_day,instrument,score\n"
            "P1,0,PHQ-9,20\nP1,7,PHQ-9,8\nP2,0,PHQ-9,20\nP2,7,PHQ-9,15\n")
# Macros this version added to queries/cohort_series.sql after databases were already in clinics.
ADDED_SINCE = ("scored_weeks", "counted_series")


@pytest.fixture
def older_db(tmp_path, export):
    """The two-series clinic, built, then left as an older version's build leaves it: the macros added since
    missing, and its build record naming other code than this version's."""
    path = tmp_path / "clinic.duckdb"
    con = database.connect(path)
    for name, text in (("sessions.csv", SESSIONS), ("outcomes.csv", OUTCOMES)):
        assert ingest_file(con, export(name, text)).rows_rejected == 0
    marts.build(con)
    as_an_older_version_left_it(con)
    con.close()
    return path


def as_an_older_version_left_it(con) -> None:
    for name in ADDED_SINCE:
        con.execute(f"drop macro table if exists {name}")
    con.execute("update build_state set facts = 'built by an older version'")


def macros_in(path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {name for (name,) in con.execute("select function_name from duckdb_functions() where "
                                                "database_name = current_database() and not internal").fetchall()}


def test_the_older_database_lacks_the_macros(older_db):
    assert not set(ADDED_SINCE) & macros_in(older_db)


def test_the_command_line_brings_an_older_database_up_to_date_and_every_weekly_mart_reads(older_db):
    weekly = run_cli("weekly", "--db", older_db, "--instrument", "PHQ-9", "--json")
    assert weekly.returncode == 0, weekly.stderr
    assert '"n_scored": 2' in weekly.stdout and '"responders": 1' in weekly.stdout
    assert set(ADDED_SINCE) <= macros_in(older_db)
    con = database.connect(older_db, read_only=True, init=False)
    try:
        assert marts.is_current(con)
        week1 = marts.weekly_outcomes(con, "PHQ-9").set_index("week").loc[1]
        assert (week1.n_scored, week1.responders) == (2, 1)
        assert marts.first_response_weeks(con, "PHQ-9").values.tolist() == [[1, 1]]
        assert marts.weekly_outcomes_itt(con, "PHQ-9").set_index("week").loc[0, "n_series"] == 2
        assert sorted(marts.series_trajectories(con, "PHQ-9").score.tolist()) == [8, 15, 20, 20]
    finally:
        con.close()


def test_the_meeting_pack_of_an_older_database_is_written_after_bringing_it_up_to_date(sample_db, tmp_path):
    # The sample clinic (dated sessions: a pack covers a period of starts), as an older version left it.
    path = tmp_path / "sample.duckdb"
    shutil.copy(sample_db, path)
    with duckdb.connect(str(path)) as con:
        as_an_older_version_left_it(con)
    out = tmp_path / "pack.html"
    made = run_cli("report", "--db", path, "--out", out, "--period", "2025-Q2")
    assert made.returncode == 0, made.stderr
    assert "mean score by week" in out.read_text() and set(ADDED_SINCE) <= macros_in(path)


def test_the_dashboard_brings_an_older_database_up_to_date_and_shows_the_trajectories(older_db, monkeypatch):
    app = open_app(older_db, monkeypatch, "trajectories")
    app.number_input(key="filters_min_cell").set_value(0).run()  # exact counts: two series
    assert not app.exception and not app.error
    table = app.dataframe[0].value.set_index("Week")
    assert table["Series scored"].to_dict() == {0: 2, 1: 2}
    assert set(ADDED_SINCE) <= macros_in(older_db)


@pytest.mark.parametrize("writer", ["command line", "dashboard"])
def test_a_copy_an_older_version_published_is_republished_with_the_macros(older_db, monkeypatch, writer):
    publish.folder(older_db).mkdir()
    older_copy = publish.publish_file(older_db)
    monkeypatch.setenv("KETAMINE_OUTCOMES_REPLICA", "1")
    replica = open_app(older_db, monkeypatch, "trajectories")
    assert [shown(e.value) for e in replica.error] == [f"The database cannot be used. clinic.duckdb: {database.OUT_OF_DATE}"]
    # The writer opens it (any command that reads the marts, or the writer's dashboard): the tables are built again
    # and published.
    if writer == "command line":
        assert run_cli("weekly", "--db", older_db).returncode == 0
    else:
        monkeypatch.delenv("KETAMINE_OUTCOMES_REPLICA")
        assert not open_app(older_db, monkeypatch, "overview").exception
        monkeypatch.setenv("KETAMINE_OUTCOMES_REPLICA", "1")
    newest = publish.newest(older_db)
    assert newest != older_copy and set(ADDED_SINCE) <= macros_in(newest)
    replica = open_app(older_db, monkeypatch, "trajectories")
    replica.number_input(key="filters_min_cell").set_value(0).run()
    assert not replica.exception and not replica.error
    assert replica.dataframe[0].value.set_index("Week")["Series scored"].to_dict() == {0: 2, 1: 2}
