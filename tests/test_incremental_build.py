"""Targeted differential tests of the incremental metric build (docs/metrics.md, "When the metric tables are
rebuilt"): after each upload, correction, undo or setting change, `marts.ensure_built` on one database must
give exactly the int_* tables a full `marts.build` gives on a twin that saw the same steps.

Each case changes one thing the random sequences of test_reupload_fuzz.py rarely reach on their own: one
column of a series that a later table reads, a series split or merged, a window's edge, the data's last day
moving back. The twin is never built incrementally, and the incremental one is never rebuilt in full, so an
error that only shows after several incremental builds in a row shows too. Six steady background patients
keep one or two changed patients under metrics.INCREMENTAL_SHARE, so the incremental path is the one tested
(each check asserts that it ran, unless the case is about the fallback)."""

from pathlib import Path

import pytest

from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_file, undo_batch

# Each test builds two databases (incremental and full) and compares every table: the engine's
# regression suite, seconds each; `make test` runs it, `make check` does not.
pytestmark = pytest.mark.slow

SESSIONS = "patient_id,session_day,route,status,dose_mg,site,clinician_id,session_id\n"
OUTCOMES = "patient_id,assessment_day,instrument,score,item9\n"
PATIENTS = "patient_id,age_band,sex,primary_indication,site\n"
BACKGROUND = [f"B{n}" for n in range(1, 7)]


def background_sessions() -> str:
    """Six patients, each a finished IV induction long before the data's last day (out of every window)."""
    return "".join(f"{p},{d},IV,completed,40,Northside,N01,S{p}-{d}\n" for p in BACKGROUND for d in range(0, 16, 3))


def background_scores() -> str:
    return "".join(f"{p},{d},PHQ-9,{s},0\n" for p in BACKGROUND for d, s in ((-2, 18), (10, 9), (20, 4)))


def background_patients() -> str:
    # B6's PTSD: T1 changed to PTSD leaves int_indications as it was (a new spelling there builds all).
    return "".join(f"{p},35-44,female,{'PTSD' if p == 'B6' else 'depression'},Northside\n" for p in BACKGROUND)


class Twins:
    """Two databases fed the same files: `inc` is built only by ensure_built, `full` only by marts.build."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.inc, self.full = database.connect(folder / "inc.duckdb"), database.connect(folder / "full.duckdb")
        self.loads: list[tuple[int, int]] = []

    def close(self):
        self.inc.close()
        self.full.close()

    def load(self, name: str, text: str) -> int:
        """Ingest `text` as file `name` into both; returns a handle for undo."""
        ids = []
        for which, con in (("inc", self.inc), ("full", self.full)):
            path = self.folder / which / str(len(self.loads)) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            result = ingest_file(con, path)
            assert result.batch_id is not None, result
            ids.append(result.batch_id)
        self.loads.append(tuple(ids))
        return len(self.loads) - 1

    def undo(self, handle: int):
        for con, batch_id in zip((self.inc, self.full), self.loads[handle]):
            undo_batch(con, batch_id)

    def sql(self, statement: str):
        for con in (self.inc, self.full):
            con.execute(statement)

    def check(self, incremental: bool = True) -> str:
        """Build both ways and assert every metric table is equal; returns what ensure_built did."""
        done = marts.ensure_built(self.inc)
        if incremental:
            assert done.startswith("built again for"), done
        marts.build(self.full)
        for name in marts.INTERMEDIATE:
            query = f"select * from int_{name} order by all"
            got, want = self.inc.execute(query).fetchall(), self.full.execute(query).fetchall()
            assert got == want, f"int_{name} after ensure_built ({done}):\n  incremental {got}\n  full        {want}"
        return done

    def value(self, query: str):
        return self.inc.execute(query).fetchall()


@pytest.fixture
def twins(tmp_path):
    """Both databases with the background patients loaded and built."""
    t = Twins(tmp_path)
    t.load("patients.csv", PATIENTS + background_patients())
    t.load("sessions.csv", SESSIONS + background_sessions())
    t.load("outcomes.csv", OUTCOMES + background_scores())
    t.check(incremental=False)
    yield t
    t.close()


def sessions_of(patient: str, days, route="IV", site="Northside", status="completed") -> str:
    return "".join(f"{patient},{d},{route},{status},40,{site},N01,S{patient}-{d}\n" for d in days)


# --- one column of a series, read by a later table --------------------------------------------------------

@pytest.mark.parametrize("column, before, after", [("sex", "female", "male"), ("age_band", "35-44", "45-54"),
                                                   ("primary_indication", "depression", "PTSD")])
def test_a_patient_attribute_change_reaches_the_weekly_scores(twins, column, before, after):
    twins.load("p.csv", PATIENTS + "T1,35-44,female,depression,Northside\n")
    twins.load("s.csv", SESSIONS + sessions_of("T1", range(100, 118, 3)))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,105,PHQ-9,12,0\nT1,112,PHQ-9,8,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    row = {"age_band": "35-44", "sex": "female", "primary_indication": "depression", "site": "Northside",
           column: after}
    twins.load("p2.csv", PATIENTS + background_patients() + "T1,{age_band},{sex},{primary_indication},{site}\n"
               .format(**row))
    twins.check()
    shown = {"primary_indication": "indication"}.get(column, column)
    assert twins.value(f"select distinct {shown} from int_weekly_scores where series_id = 'T1#1'") == [(after,)]


def test_a_patients_site_shown_where_its_sessions_have_none_reaches_the_weekly_scores(twins):
    twins.load("p.csv", PATIENTS + "T1,35-44,female,depression,Northside\n")
    twins.load("s.csv", SESSIONS + "".join(f"T1,{d},IV,completed,40,,N01,ST1-{d}\n" for d in range(100, 118, 3)))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,105,PHQ-9,12,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    twins.load("p2.csv", PATIENTS + "T1,35-44,female,depression,Riverside\n")
    twins.check()
    assert twins.value("select site from int_weekly_scores where series_id = 'T1#1'") == [("Riverside",)]


def test_a_new_session_that_changes_only_the_series_route_reaches_the_weekly_scores(twins):
    # IV, IM, IM: the series' route is IM; a fourth session IV ties it 2-2, and the earliest (IV) wins.
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100]) + sessions_of("T1", [103, 106], route="IM"))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,105,PHQ-9,12,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    assert twins.value("select distinct route from int_weekly_scores where series_id = 'T1#1'") == [("IM",)]
    twins.load("s2.csv", SESSIONS + sessions_of("T1", [109]))
    twins.check()
    assert twins.value("select route from int_weekly_scores where series_id = 'T1#1'") == [("IV",)]


# --- series split, merged, renumbered, emptied ------------------------------------------------------------

def test_a_late_session_splits_a_series_and_its_undo_merges_it_again(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100, 103, 106, 109]))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,104,PHQ-9,15,0\nT1,175,PHQ-9,9,0\nT1,185,PHQ-9,7,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    # A session 71 days after the last (> series_gap_days 60) starts series 2, which takes the later scores.
    late = twins.load("s2.csv", SESSIONS + sessions_of("T1", [180]))
    twins.check()
    assert twins.value("select series_id, sessions_completed from int_treatment_series where patient_id = 'T1' "
                       "order by 1") == [("T1#1", 4), ("T1#2", 1)]
    assert twins.value("select series_id, baseline_score from int_baselines where series_id like 'T1#%' order by 1"
                       ) == [("T1#1", 20), ("T1#2", 9)]
    twins.undo(late)
    twins.check()
    assert twins.value("select series_id, sessions_completed from int_treatment_series where patient_id = 'T1'") == [
        ("T1#1", 4)]


def test_an_earlier_series_inserted_renumbers_the_later_one(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", [200, 203, 206]))
    twins.load("o.csv", OUTCOMES + "T1,95,PHQ-9,22,0\nT1,198,PHQ-9,20,0\nT1,205,PHQ-9,10,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    twins.load("s2.csv", SESSIONS + sessions_of("T1", [100, 103]))
    twins.check()
    assert twins.value("select series_id, start_day from int_treatment_series where patient_id = 'T1' order by 1") == [
        ("T1#1", 100), ("T1#2", 200)]
    assert twins.value("select series_id, baseline_score from int_baselines where series_id like 'T1#%' order by 1"
                       ) == [("T1#1", 22), ("T1#2", 20)]


def test_undoing_a_patients_only_sessions_removes_every_row_of_theirs(twins):
    handle = twins.load("s.csv", SESSIONS + sessions_of("T1", range(100, 118, 3)))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,105,PHQ-9,12,0\nT1,120,PHQ-9,4,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    twins.undo(handle)
    twins.check()
    for name in marts.PER_PATIENT:
        column = "patient_id" if name not in marts.BY_SERIES else "split_part(series_id, '#', 1)"
        assert twins.value(f"select count(*) from int_{name} where {column} = 'T1'") == [(0,)]


def test_a_cancelled_session_corrected_to_completed_joins_and_bridges_series(twins):
    # 100, 103 | (cancelled 150) | 200, 203: two series; completed at 150 bridges both gaps (50 days each).
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100, 103, 200, 203])
               + sessions_of("T1", [150], status="cancelled"))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,190,PHQ-9,14,0\nT1,205,PHQ-9,9,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    assert twins.value("select count(*) from int_treatment_series where patient_id = 'T1'") == [(2,)]
    twins.load("s2.csv", SESSIONS + sessions_of("T1", [150]))
    twins.check()
    assert twins.value("select count(*), max(sessions_completed) from int_treatment_series where patient_id = 'T1'"
                       ) == [(1, 5)]
    twins.load("s3.csv", SESSIONS + sessions_of("T1", [150], status="cancelled"))  # and back
    twins.check()
    assert twins.value("select count(*) from int_treatment_series where patient_id = 'T1'") == [(2,)]


def test_a_second_session_on_the_same_day_counts_in_the_series(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100, 103, 106]))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,105,PHQ-9,12,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    twins.load("s2.csv", SESSIONS + "T1,103,IM,completed,40,Northside,N02,ST1-103b\n")
    twins.check()
    assert twins.value("select sessions_completed from int_treatment_series where patient_id = 'T1'") == [(4,)]


# --- assessments and windows ------------------------------------------------------------------------------

def test_an_assessment_corrected_into_the_next_series_moves_there(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100, 103, 200, 203]))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,205,PHQ-9,9,0\n")
    wrong = twins.load("o2.csv", OUTCOMES + "T1,150,PHQ-9,14,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    assert twins.value("select count(*) from int_baselines where series_id = 'T1#2'") == [(0,)]
    # Its day was wrong: undone, and loaded again on day 190, in series 2's baseline window (186-200).
    twins.undo(wrong)
    twins.check()
    twins.load("o3.csv", OUTCOMES + "T1,190,PHQ-9,14,0\n")
    twins.check()
    assert twins.value("select series_id, week from int_series_assessments where assessment_day = 190") == [("T1#2", 0)]
    assert twins.value("select baseline_score from int_baselines where series_id = 'T1#2'") == [(14,)]


@pytest.mark.parametrize("day, in_window", [(86, True), (85, False), (100, True), (101, False)])
def test_a_score_at_the_baseline_window_edge(twins, day, in_window):
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100, 103, 106]))
    twins.load("o.csv", OUTCOMES + "T1,80,PHQ-9,25,0\nT1,105,PHQ-9,12,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    twins.load("o2.csv", OUTCOMES + f"T1,{day},PHQ-9,19,0\n")
    twins.check()
    (baseline,) = twins.value("select coalesce(max(baseline_score), -1) from int_baselines where series_id = 'T1#1'")[0]
    assert baseline == (19 if in_window else -1)


def test_the_data_last_day_moving_one_day_closes_an_end_of_induction_window(twins):
    # Induction ends on the 6th session (day 115); the window closes on day 115 + 21 = 136.
    twins.load("s.csv", SESSIONS + sessions_of("T1", range(100, 118, 3)))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,120,PHQ-9,8,0\nT1,135,PHQ-9,6,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    assert twins.value("select is_evaluable from int_end_of_induction where series_id = 'T1#1'") == [(False,)]
    late = twins.load("o2.csv", OUTCOMES + "T1,136,GAD-7,3,\n")
    twins.check()
    assert twins.value("select is_evaluable from int_end_of_induction where series_id = 'T1#1'") == [(True,)]
    twins.undo(late)  # the last day moves back
    twins.check()
    assert twins.value("select is_evaluable from int_end_of_induction where series_id = 'T1#1'") == [(False,)]


def test_the_data_last_day_moving_forward_and_back_flips_a_dropout(twins):
    # Two sessions of an IV induction (6); last session day 110; dropped out once the last day passes 138.
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100, 110]) + sessions_of("T2", [100, 103, 106]))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,108,PHQ-9,15,0\nT2,138,PHQ-9,9,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    assert twins.value("select is_dropped_out from int_treatment_series where patient_id = 'T1'") == [(False,)]
    late = twins.load("o2.csv", OUTCOMES + "T2,139,PHQ-9,8,0\n")
    twins.check()
    assert twins.value("select is_dropped_out from int_treatment_series where patient_id = 'T1'") == [(True,)]
    twins.undo(late)
    twins.check()
    assert twins.value("select is_dropped_out from int_treatment_series where patient_id = 'T1'") == [(False,)]


def test_undoing_the_latest_sessions_moves_the_last_day_back_for_other_patients(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100, 103, 106, 109, 112, 115]))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,130,PHQ-9,8,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    late = twins.load("s2.csv", SESSIONS + sessions_of("T2", [140]))
    twins.check(incremental=False)  # T1 and T2 of 7 patients with series: over the share
    assert twins.value("select data_last_day from int_treatment_series where patient_id = 'T1'") == [(140,)]
    twins.undo(late)
    twins.check()
    assert twins.value("select data_last_day from int_treatment_series where patient_id = 'T1'") == [(130,)]


def test_a_wide_outcomes_file_and_its_correction(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", range(100, 118, 3)))
    wide = "patient_id,assessment_day,phq9_total,gad7_total,phq9_item9\n"
    twins.load("w.csv", wide + "T1,98,20,15,1\nT1,105,12,10,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    twins.load("w2.csv", wide + "T1,98,20,11,0\nT1,112,6,,0\n")
    twins.check()
    assert twins.value("select instrument, baseline_score, baseline_item9 from int_baselines "
                       "where series_id = 'T1#1' order by 1") == [("GAD-7", 11, None), ("PHQ-9", 20, 0)]


# --- stale patients, the fallback ---------------------------------------------------------------------------

def test_a_stale_patient_recorded_without_its_table_is_computed_again_in_every_table(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", range(100, 118, 3)))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,105,PHQ-9,12,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    # An older database's record: the row changed by hand, the patient stale with no source.
    twins.sql("update assessments set score = 9 where patient_id = 'T1' and assessment_day = 105")
    twins.sql("insert into stale_patients values ('T1', null)")
    twins.sql("insert into batches (batch_id, file_name, sha256, kind, rows_read, rows_inserted, rows_replaced, "
              "rows_duplicate, rows_rejected, loaded_at) values (nextval('batch_ids'), 'by hand', '', 'undo', "
              "0, 0, 1, 0, 0, current_timestamp::timestamp)")
    twins.check()
    assert twins.value("select score, is_response from int_weekly_scores where series_id = 'T1#1'") == [(9, True)]


def test_a_change_to_most_patients_builds_all_and_the_next_is_incremental_again(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", range(100, 118, 3)))
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    everyone = twins.load("o.csv", OUTCOMES + "".join(f"{p},5,PHQ-9,11,0\n" for p in BACKGROUND))
    assert twins.check(incremental=False) == "built for every patient"
    twins.load("o2.csv", OUTCOMES + "T1,98,PHQ-9,20,0\n")
    twins.check()
    twins.undo(everyone)
    assert twins.check(incremental=False) == "built for every patient"
    twins.load("o3.csv", OUTCOMES + "T1,105,PHQ-9,9,0\n")
    twins.check()
    assert twins.value("select score, is_response from int_weekly_scores where series_id = 'T1#1'") == [(9, True)]


def test_a_setting_change_builds_all_and_the_next_upload_is_incremental_under_it(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", [100, 103, 150, 153]))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,148,PHQ-9,12,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    twins.sql("insert or replace into setting_overrides values ('series_gap_days', 30)")
    assert twins.check(incremental=False) == "built for every patient"
    twins.load("s2.csv", SESSIONS + sessions_of("T1", [125]))
    twins.check()
    assert twins.value("select count(*) from int_treatment_series where patient_id = 'T1'") == [(1,)]


def test_a_session_added_before_a_series_moves_its_start_and_every_week(twins):
    twins.load("s.csv", SESSIONS + sessions_of("T1", range(100, 118, 3)))
    twins.load("o.csv", OUTCOMES + "T1,98,PHQ-9,20,0\nT1,107,PHQ-9,12,0\nT1,112,PHQ-9,8,0\n")
    twins.check(incremental=False)  # T1 new: the last day moves past everyone
    assert twins.value("select assessment_day, week from int_series_assessments where patient_id = 'T1' "
                       "order by 1") == [(98, 0), (107, 1), (112, 2)]
    # A session five days earlier joins the series (same number, same id): day 0 is now 95.
    twins.load("s2.csv", SESSIONS + sessions_of("T1", [95]))
    twins.check()
    assert twins.value("select assessment_day, week from int_series_assessments where patient_id = 'T1' "
                       "order by 1") == [(98, 1), (107, 2), (112, 3)]
