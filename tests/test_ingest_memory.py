"""Guards the ingest's memory limit (issue 26: a first load of 1M patients under 2.5 GB): an ingest runs
with DuckDB's buffer limit lowered to INGEST_MEMORY_LIMIT, never raised above the configured
MEMORY_LIMIT, and leaves the limit as configured for the dashboard's connections to the same file."""

import pytest

from conftest import SAMPLE_FILES
from ketamine_outcomes.ingest import pipeline
from ketamine_outcomes.store import database


def limit(con) -> str:
    return con.execute("select current_setting('memory_limit')").fetchall()[0][0]


def test_the_limit_is_lowered_meanwhile_and_restored(tmp_path):
    con = database.connect(tmp_path / "clinic.duckdb")
    configured = limit(con)
    with database.memory_limit(con, "1500MB"):
        assert limit(con) == "1.3 GiB"  # 1.5e9 bytes, as DuckDB shows it
    assert limit(con) == configured == "2.7 GiB"  # MEMORY_LIMIT's 3 GB
    with database.memory_limit(con, "5GB"):  # never above the configured limit
        assert limit(con) == configured
    con.close()


def test_a_size_that_is_not_one_is_refused_before_any_statement(tmp_path):
    con = database.connect(tmp_path / "clinic.duckdb")
    with pytest.raises(ValueError, match="not a memory size"):
        with database.memory_limit(con, "1GB'; drop table sessions; --"):
            pass
    assert con.execute("select count(*) from sessions").fetchall() == [(0,)] and limit(con) == "2.7 GiB"
    with database.memory_limit(con, "1.5 GiB"):  # binary units too
        assert limit(con) == "1.5 GiB"
    con.close()


def test_an_ingest_runs_under_the_ingest_limit_and_leaves_the_configured_one(tmp_path, monkeypatch):
    seen = []
    real = database.one_checkpoint

    def watching(con):  # entered inside the ingest's limit, around every file and the build
        seen.append(limit(con))
        return real(con)

    monkeypatch.setattr(database, "one_checkpoint", watching)
    results = pipeline.ingest_files(tmp_path / "clinic.duckdb", SAMPLE_FILES)
    assert [r.refused for r in results] == [None, None, None]
    assert seen == ["1.3 GiB"]
    con = database.connect(tmp_path / "clinic.duckdb")
    assert limit(con) == "2.7 GiB"
    con.close()
