"""Guards the daily cumulative re-upload: a line an earlier batch stored as it is is known by the hash of
its text and not checked again, and the result is the same as checking every line: the same counts, the
same conflicts, warnings and refusals, and the same metric tables."""

import shutil
from pathlib import Path

import pytest

from conftest import numbers_in
from ketamine_outcomes.ingest import mappings
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database

OUTCOMES = "patient_id,assessment_day,instrument,score,item9\n"
SESSIONS = "patient_id,session_date,route,status,dose_mg,session_id\n"
WIDE = "patient_id,assessment_date,phq9_total,gad7_total,phq9_item9\n"


def rows(con, sql, params=None):
    return con.execute(sql, params or {}).fetchall()


@pytest.fixture
def sample_files(tmp_path):
    """The sample clinic's patients, sessions and outcomes exports (600 patients), copied."""
    sample = Path(__file__).parent.parent / "sample_data"
    return [Path(shutil.copy(sample / name, tmp_path / name)) for name in ("patients.csv", "sessions.csv",
                                                                             "outcomes.csv")]


def test_an_unchanged_reupload_knows_every_line(load, con):
    text = OUTCOMES + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,15,0\nP2,0,GAD-7,12,\n"
    first = load("day1.csv", text)
    again = load("day2.csv", text)
    assert (first.lines_known, first.rows_inserted) == (0, 3)
    assert (again.lines_known, again.rows_read, again.rows_duplicate, again.rows_inserted, again.rows_replaced) == (
        3, 3, 3, 0, 0)


def test_a_cumulative_export_checks_only_its_new_and_changed_lines(load, con):
    load("day1.csv", OUTCOMES + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,15,0\nP2,0,GAD-7,12,\n")
    later = load("day2.csv", OUTCOMES + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,14,0\nP2,0,GAD-7,12,\nP2,7,GAD-7,6,\n")
    assert (later.lines_known, later.rows_inserted, later.rows_replaced, later.rows_duplicate) == (2, 1, 1, 2)
    assert rows(con, "select patient_id, assessment_day, score from assessments order by 1, 2") == [
        ("P1", 0, 20), ("P1", 7, 14), ("P2", 0, 12), ("P2", 7, 6)]


def test_a_changed_line_beside_a_known_line_with_its_key_conflicts_as_before(load, con):
    load("day1.csv", OUTCOMES + "P1,0,PHQ-9,20,0\n")
    # Line 2 is known; line 3 has its key with another score: the first line is kept, the second rejected,
    # exactly as if neither had been seen (the stored score must not be replaced by line 3).
    later = load("day2.csv", OUTCOMES + "P1,0,PHQ-9,20,0\nP1,0,PHQ-9,25,0\n")
    assert (later.lines_known, later.rows_replaced, later.rows_rejected) == (0, 0, 1)
    assert later.rejects.line_number.tolist() == [3]
    assert "line 2 is kept" in later.rejects.reason[0]
    assert rows(con, "select score from assessments") == [(20,)]


def test_a_cancelled_line_beside_a_known_completed_one_is_a_warning_not_a_replacement(load, con):
    load("day1.csv", SESSIONS + "P1,2024-03-01,IV,completed,40,S1\n")
    later = load("day2.csv", SESSIONS + "P1,2024-03-01,IV,cancelled,,S1\nP1,2024-03-01,IV,completed,40,S1\n")
    assert (later.rows_replaced, later.rows_with_warnings) == (0, 1)
    assert later.warnings.line_number.tolist() == [2]
    assert rows(con, "select status, dose_mg from sessions") == [("completed", 40.0)]


def test_a_line_with_a_warning_is_checked_again_and_its_warning_filed_as_before(load, con):
    load("day1.csv", OUTCOMES + "P1,0,PHQ-9,12,7\n")  # item 9 of 7: stored empty, a warning
    later = load("day2.csv", OUTCOMES + "P1,0,PHQ-9,12,7\nP1,7,PHQ-9,9,0\n")
    assert (later.lines_known, later.rows_duplicate, later.rows_with_warnings) == (0, 1, 1)
    assert later.warnings[["line_number", "column_name", "value"]].values.tolist() == [[2, "item9", "7"]]


def test_a_duplicate_written_with_a_warning_does_not_lend_its_hash_to_the_stored_row(load, con):
    # The probe's F1: day 2's line is a duplicate of day 1's row but has a warning; day 3 repeats day 2.
    load("day1.csv", OUTCOMES + "P1,0,PHQ-9,12,\n")
    load("day2.csv", OUTCOMES + "P1,0,PHQ-9,12,7\n")
    day3 = load("day3.csv", OUTCOMES + "P1,0,PHQ-9,12,7\n")
    assert (day3.lines_known, day3.rows_with_warnings) == (0, 1)
    # And the mirror: a warned row later repeated without the warning is known the next time, warning-free.
    load("m1.csv", OUTCOMES + "P2,0,PHQ-9,12,7\n")
    load("m2.csv", OUTCOMES + "P2,0,PHQ-9,12,\n")
    m3 = load("m3.csv", OUTCOMES + "P2,0,PHQ-9,12,\n")
    assert (m3.lines_known, m3.rows_with_warnings) == (1, 0)


def test_the_same_file_again_after_its_rows_were_replaced_back_files_its_warning_as_before(load, con):
    # The probe's F2.
    f = OUTCOMES + "P1,0,PHQ-9,12,7\n"
    first = load("f.csv", f)
    load("g.csv", OUTCOMES + "P1,0,PHQ-9,13,0\n")
    load("f.csv", f)
    again = load("f.csv", f)
    assert (again.rows_with_warnings, again.filed_before) == (1, first.batch_id)
    assert again.warnings.line_number.tolist() == [2]


def test_an_identifier_on_a_new_line_refuses_the_file_though_the_other_lines_are_known(load, con):
    header = "patient_id,assessment_day,instrument,score,Notes\n"
    load("day1.csv", header + "P1,0,PHQ-9,20,first visit\n")
    later = load("day2.csv", header + "P1,0,PHQ-9,20,first visit\nP1,7,PHQ-9,15,call 617-555-0142\n")
    assert later.refused and "phone" in later.refused
    assert rows(con, "select count(*) from assessments") == [(1,)]


def test_a_wide_line_is_known_only_when_every_score_on_it_is_stored(load, con):
    load("w1.csv", WIDE + "P1,2024-03-01,18,12,1\nP1,2024-03-08,9,,0\n")
    later = load("w2.csv", WIDE + "P1,2024-03-01,18,10,1\nP1,2024-03-08,9,,0\n")
    # Line 2's GAD-7 changed: its PHQ-9 (unchanged) is a duplicate and its GAD-7 replaced; line 3 is known.
    assert (later.lines_known, later.rows_replaced, later.rows_duplicate, later.rows_inserted) == (1, 1, 2, 0)
    assert rows(con, "select instrument, score from assessments where assessment_date = '2024-03-01' "
                     "order by 1") == [("GAD-7", 10), ("PHQ-9", 18)]


def test_another_header_or_date_style_makes_every_line_new_to_the_hash(load, con):
    load("day1.csv", OUTCOMES + "P1,0,PHQ-9,20,0\n")
    reordered = load("day2.csv", "instrument,patient_id,assessment_day,score,item9\nPHQ-9,P1,0,20,0\n")
    assert (reordered.lines_known, reordered.rows_duplicate) == (0, 1)
    # Still a duplicate, and it takes this line's hash: the next day's same file is known.
    assert load("day3.csv", "instrument,patient_id,assessment_day,score,item9\nPHQ-9,P1,0,20,0\n").lines_known == 1


def test_a_known_line_in_a_file_of_another_date_style_is_read_again_with_that_style(load, con):
    """The date style is part of a line's hash: "05/03/2024" was 5 March in a day/month file and is 3 May in
    a month/day one."""
    load("day1.csv", SESSIONS + "P1,13/02/2024,IV,completed,40,S1\nP2,05/03/2024,IV,completed,40,S2\n")
    later = load("day2.csv", SESSIONS + "P2,05/03/2024,IV,completed,40,S2\nP3,02/13/2024,IV,completed,40,S3\n")
    assert (later.date_style, later.lines_known, later.rows_inserted) == ("us", 0, 2)
    assert rows(con, "select patient_id, session_date::varchar from sessions order by 1, 2") == [
        ("P1", "2024-02-13"), ("P2", "2024-03-05"), ("P2", "2024-05-03"), ("P3", "2024-02-13")]


@pytest.mark.slow
def test_lines_of_a_large_file_keep_their_numbers_when_the_known_ones_are_left_out(load, con):
    """A file read in parallel, each line's fields kept as the one text they were hashed as (ingest's
    read_positional): the changed lines among a million known ones are filed under their own line numbers,
    with their own fields (an empty one stays empty)."""
    day1 = [f"P{i // 8},{i % 8 * 7},PHQ-9,{i % 28},0" for i in range(1_000_000)]
    load("day1.csv", OUTCOMES + "\n".join(day1) + "\n")
    day2 = list(day1)
    changed = [7, 123_457, 650_001, 999_998]  # list positions; the header is line 1
    for i in changed:
        day2[i] = day2[i].replace(",PHQ-9,", ",PHQ-99,")  # no such instrument: rejected
    later = load("day2.csv", OUTCOMES + "\n".join(day2) + "\n")
    assert (later.lines_known, later.rows_rejected) == (1_000_000 - 4, 4)
    assert sorted(later.rejects.line_number.tolist()) == [i + 2 for i in changed]
    day2[500_000] = day2[500_000].rsplit(",", 2)[0] + ",3,"  # a corrected score, item 9 left out: line 500,002
    again = load("day3.csv", OUTCOMES + "\n".join(day2) + "\n")
    assert (again.rows_replaced, again.rows_rejected) == (1, 4)
    assert rows(con, "select line_number, patient_id, assessment_day, score, item9 from assessments "
                     "where batch_id = $b", {"b": again.batch_id}) == [(500_002, "P62500", 0, 3, None)]


def test_fields_that_join_to_one_text_are_different_lines_to_the_hash(load, con):
    load("day1.csv", OUTCOMES + "P1,10,PHQ-9,20,0\nP2,0,PHQ-9,20,\n")
    # "P1" "10" and "P11" "0" join to one text, as do an empty item 9 and a score of "200".
    later = load("day2.csv", OUTCOMES + "P1,10,PHQ-9,20,0\nP11,0,PHQ-9,20,0\nP2,0,PHQ-9,2,0\n")
    assert (later.lines_known, later.rows_inserted, later.rows_replaced) == (1, 1, 1)
    assert rows(con, "select patient_id, assessment_day, score, item9 from assessments order by 1") == [
        ("P1", 10, 20, 0), ("P11", 0, 20, 0), ("P2", 0, 2, 0)]


def test_a_file_holding_the_hash_separators_is_hashed_as_json(load, con):
    """Joined with ASCII's unit separator, "x<US>y","z" and "x","y<US>z" would be one text."""
    header = OUTCOMES.strip() + ",note_a,note_b\n"
    first = load("day1.csv", header + "P1,0,PHQ-9,20,0,x\x1fy,z\n")
    later = load("day2.csv", header + "P1,0,PHQ-9,20,0,x,y\x1fz\n")
    assert first.rows_inserted == 1
    assert (later.lines_known, later.rows_duplicate) == (0, 1)


def test_rows_stored_by_an_older_version_gain_the_hash_on_their_next_upload(load, con):
    text = OUTCOMES + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,15,0\n"
    load("day1.csv", text)
    con.execute("update assessments set source_hash = null")  # as an older version stored them
    assert (load("day2.csv", text).lines_known, load("day3.csv", text).lines_known) == (0, 2)


def test_an_undone_batch_lines_are_new_again(load, con):
    from ketamine_outcomes.ingest.pipeline import undo_batch

    text = OUTCOMES + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,15,0\n"
    first = load("day1.csv", text)
    undo_batch(con, first.batch_id)
    again = load("day1.csv", text)
    assert (again.lines_known, again.rows_inserted) == (0, 2)
    assert rows(con, "select count(*) from assessments") == [(2,)]


def test_undo_restores_a_replaced_rows_hash(load, con):
    from ketamine_outcomes.ingest.pipeline import undo_batch

    text = OUTCOMES + "P1,0,PHQ-9,20,0\n"
    load("day1.csv", text)
    changed = load("day2.csv", OUTCOMES + "P1,0,PHQ-9,22,0\n")
    undo_batch(con, changed.batch_id)
    assert rows(con, "select score from assessments") == [(20,)]
    assert load("day3.csv", text).lines_known == 1


def test_the_metric_tables_after_a_known_line_reupload_equal_a_full_build(load, con):
    load("s.csv", SESSIONS + "".join(f"P1,2024-03-{d:02d},IV,completed,40,S{d}\n" for d in range(1, 13, 2)))
    load("o.csv", OUTCOMES.replace("assessment_day", "assessment_date")
         + "P1,2024-02-28,PHQ-9,20,0\nP1,2024-03-08,PHQ-9,12,0\nP1,2024-03-15,PHQ-9,8,0\n")
    marts.ensure_built(con)
    load("o2.csv", OUTCOMES.replace("assessment_day", "assessment_date")
         + "P1,2024-02-28,PHQ-9,20,0\nP1,2024-03-08,PHQ-9,12,0\nP1,2024-03-15,PHQ-9,9,0\n")
    marts.ensure_built(con)
    assert rows(con, "select week, score, is_response from int_weekly_scores order by week") == [
        (1, 12, False), (2, 9, True)]


def metric_tables(con):
    return {name: rows(con, f"select * from int_{name} order by all") for name in marts.INTERMEDIATE}


def test_a_build_after_a_daily_upload_computes_only_the_changed_patients_and_equals_a_full_build(
        con, tmp_path, sample_files):
    from ketamine_outcomes.ingest.pipeline import ingest_file

    for path in sample_files:
        ingest_file(con, path)
    assert marts.ensure_built(con) == "built for every patient"
    # Tomorrow's export: every 60th assessment corrected, and one patient's new session and PHQ-9 after the
    # data's last day (which moves it: dropped-out and evaluable statuses are measured from it).
    lines = sample_files[2].read_text().splitlines()
    for n in range(1, len(lines), 60):
        patient, day, instrument, score, item9 = lines[n].split(",")
        lines[n] = ",".join([patient, day, instrument, str(max(int(score) - 1, 0)), item9])
    (last_day,) = rows(con, "select max(assessment_date) + 3 from assessments")[0]
    lines.append(f"KP000600,{last_day},PHQ-9,4,0")
    changed = tmp_path / "outcomes_day2.csv"
    changed.write_text("\n".join(lines) + "\n")
    sessions = sample_files[1].read_text() + f"KP000600,{last_day},IV,completed,55,0.50,Riverside,R01,,127,S0009999,,,\n"
    (tmp_path / "sessions_day2.csv").write_text(sessions)
    ingest_file(con, changed)
    ingest_file(con, tmp_path / "sessions_day2.csv")
    (stale,) = rows(con, "select count(distinct patient_id) from stale_patients")[0]
    assert 50 < stale < 150  # of 600: the build below is the incremental one
    done = marts.ensure_built(con)
    assert done.startswith("built again for ") and int(done.split()[3]) >= stale
    incremental = metric_tables(con)
    marts.build(con)
    assert metric_tables(con) == incremental
    assert rows(con, "select count(*) from stale_patients") == [(0,)]


def test_each_metric_table_is_computed_again_for_every_change_it_reads():
    """metrics.READS decides which metric tables an incremental build computes again for a changed stored
    table, a moved last day or a changed metric table: it must name exactly what each query reads."""
    import re

    stored = {"sessions", "assessments", "patients"}
    for name, (reasons, tables) in marts.READS.items():
        code = re.sub(r"--[^\n]*", "", database.sql(f"intermediate/{name}"))
        read = set(re.findall(r"\b(?:from|join)\s+(?:main\.)?(\w+)", code, flags=re.IGNORECASE))
        assert read & stored == set(reasons) - {"last_day"}, name
        assert {t.removeprefix("int_") for t in read if t.startswith("int_")} - set(marts.ACROSS_PATIENTS) \
            == set(tables), name
        assert ("last_day" in reasons) == ("data_last_day" in code), name
    assert list(marts.READS) == list(marts.PER_PATIENT)
    # A table that reads only some columns of the series (as `series`) names them all.
    for name, columns in marts.SERIES_COLUMNS.items():
        code = re.sub(r"--[^\n]*", "", database.sql(f"intermediate/{name}"))
        assert re.search(r"series as \(\s*select \* from int_treatment_series\b", code), name
        used = set(re.findall(r"\bseries\.(\w+)", code))
        for using in re.findall(r"join series using \(([^)]*)\)", code):
            used |= {c.strip() for c in using.split(",")}
        assert used == set(columns), name


def test_a_corrected_session_that_splits_a_series_moves_its_scores_and_equals_a_full_build(con, tmp_path):
    """A session correction reaches the assessments only through the series: P1's third session moved 90
    days on, the day after a PHQ-9 (a new baseline: a re-induction), starts a second series, so that PHQ-9
    leaves the first series for the second. Of ten patients only P1 is computed again."""
    from ketamine_outcomes.ingest.pipeline import ingest_file

    def load(name, text):
        (tmp_path / name).write_text(text)
        return ingest_file(con, tmp_path / name)

    sessions = "".join(f"P{p},2024-03-0{d},IV,completed,40,S{p}{d}\n" for p in range(1, 11) for d in (1, 3, 5))
    outcomes = "".join(f"P{p},2024-02-28,PHQ-9,20,0\nP{p},2024-06-02,PHQ-9,8,0\n" for p in range(1, 11))
    outcomes = "patient_id,assessment_date,instrument,score,item9\n" + outcomes
    load("s.csv", SESSIONS + sessions)
    load("o.csv", outcomes)
    marts.ensure_built(con)
    assert rows(con, "select count(*) from int_treatment_series where patient_id = 'P1'") == [(1,)]
    load("s2.csv", SESSIONS + sessions.replace("P1,2024-03-05", "P1,2024-06-03"))
    built = marts.ensure_built(con)
    assert built.startswith("built again for") and numbers_in(built) == [1]  # patients whose data changed
    assert rows(con, "select series_number, count(*) from int_series_assessments where patient_id = 'P1' "
                     "group by all order by all") == [(1, 1), (2, 1)]
    incremental = metric_tables(con)
    marts.build(con)
    assert metric_tables(con) == incremental


def test_a_corrected_route_reaches_the_weekly_scores_and_a_new_session_leaves_them(con, tmp_path):
    """A series' route is its sessions' most frequent one. P1's corrected session makes it IM, which the weekly
    scores show; P2's new session changes only P2's series' count. The incremental build equals a full one."""
    from ketamine_outcomes.ingest.pipeline import ingest_file

    def load(name, text):
        (tmp_path / name).write_text(text)
        return ingest_file(con, tmp_path / name)

    sessions = "".join(f"P{p},2024-03-0{d},{'IM' if d == 5 else 'IV'},completed,40,S{p}{d}\n"
                       for p in range(1, 11) for d in (1, 3, 5))
    outcomes = "patient_id,assessment_date,instrument,score,item9\n" + "".join(
        f"P{p},2024-02-28,PHQ-9,20,0\nP{p},2024-03-06,PHQ-9,8,0\n" for p in range(1, 11))
    load("s.csv", SESSIONS + sessions + "P1,2024-03-09,IV,completed,40,S19\n")
    load("o.csv", outcomes)
    marts.ensure_built(con)
    assert rows(con, "select distinct route from int_weekly_scores") == [("IV",)]
    corrected = sessions.replace("P1,2024-03-03,IV", "P1,2024-03-03,IM") + "P2,2024-03-09,IV,completed,40,S29\n"
    load("s2.csv", SESSIONS + corrected + "P1,2024-03-09,IM,completed,40,S19\n")
    built = marts.ensure_built(con)
    assert built.startswith("built again for") and numbers_in(built) == [2]  # patients whose data changed
    assert rows(con, "select series_id, route from int_weekly_scores where route = 'IM' group by all") == \
        rows(con, "select series_id, 'IM' from int_treatment_series where patient_id = 'P1'")
    assert rows(con, "select sessions_completed from int_treatment_series where patient_id = 'P2'") == [(4,)]
    incremental = metric_tables(con)
    marts.build(con)
    assert metric_tables(con) == incremental


def test_a_changed_indication_spelling_or_setting_builds_every_patient(con, tmp_path):
    from ketamine_outcomes.ingest.pipeline import ingest_file

    def load(name, text):
        (tmp_path / name).write_text(text)
        return ingest_file(con, tmp_path / name)

    # Outside the vocabulary, an indication is stored as 'other' (issue 23).
    export = "patient_id,primary_indication\nP1,chronic pain\nP2,Chronic pain\nP3,Chronic pain\n"
    load("p.csv", export)
    load("s.csv", SESSIONS + "".join(f"P{p},2024-03-0{d},IV,completed,40,S{p}{d}\n" for p in (1, 2, 3)
                                     for d in (1, 3, 5)))
    marts.ensure_built(con)
    assert rows(con, "select distinct indication from int_treatment_series") == [("other",)]
    # The clinic adds the term and uploads the export again: the indications shown on every series change.
    mappings.add_terms(con, "emr", "primary_indication", ["Chronic pain"])
    load("p2.csv", export)
    assert marts.ensure_built(con) == "built for every patient"
    assert rows(con, "select distinct indication from int_treatment_series") == [("Chronic pain",)]


def test_a_corrected_session_replaces_its_values_and_its_list_of_events_in_place(load, con):
    header = "patient_id,session_date,route,status,dose_mg,adverse_events,session_id\n"
    load("day1.csv", header + "P1,2024-03-01,IV,completed,40,nausea,S1\nP1,2024-03-03,IV,completed,40,nausea,S2\n")
    later = load("day2.csv", header + "P1,2024-03-01,IV,completed,45,nausea,S1\n"
                                      "P1,2024-03-03,IV,completed,40,nausea;headache,S2\n")
    assert (later.rows_replaced, later.rows_duplicate) == (2, 0)
    assert rows(con, "select session_id, dose_mg, adverse_events, batch_id, line_number from sessions "
                     "order by session_id") == [("S1", 45.0, ["nausea"], later.batch_id, 2),
                                                ("S2", 40.0, ["headache", "nausea"], later.batch_id, 3)]
    assert rows(con, "select count(*) from replacements where batch_id = $b", {"b": later.batch_id}) == [(2,)]


def test_a_blank_line_cannot_balance_a_line_with_extra_empty_fields(load, con):
    # The delimiter count alone would say every line holds the header's fields: 2 + 2 + 0 + 4 = 2 x 4 lines.
    result = load("s.csv", "patient_id,session_day,route\nP1,0,IV\n\nP2,1,IV,,\n")
    assert (result.rows_inserted, result.rows_rejected) == (1, 1)
    assert result.rejects.line_number.tolist() == [4]
    assert result.rejects.reason[0].startswith("line has more fields than the header")


def test_a_phone_number_on_a_line_with_empty_extra_fields_refuses_the_file(load, con):
    # The probe's F6: the line is rejected for its extra fields, but what it holds is still scanned.
    result = load("o.csv", OUTCOMES + "P1,0,PHQ-9,20,0\nP2,0,PHQ-9,3,call 617-555-0142,,\n")
    assert result.refused and "phone" in result.refused and "line 3" in result.refused
    assert rows(con, "select count(*) from assessments") == [(0,)]


def test_two_settings_overridden_to_one_value_are_two_versions(con):
    # The probe's F5: the version named the overrides' values only.
    con.execute("insert or replace into setting_overrides values ('dropout_quiet_days', 40)")
    first = database.data_version(con)
    con.execute("delete from setting_overrides")
    con.execute("insert or replace into setting_overrides values ('end_of_induction_days', 40)")
    assert database.data_version(con) != first


def test_a_line_hash_column_of_another_type_is_made_again(db_path):
    con = database.connect(db_path)
    con.execute("alter table sessions drop column source_hash")
    con.execute("alter table sessions add column source_hash ubigint")  # as the first version of the hash was
    con.close()
    con = database.connect(db_path)
    assert rows(con, "select data_type from duckdb_columns() where table_name = 'sessions' "
                     "and column_name = 'source_hash'") == [("HUGEINT",)]
    con.close()


def test_a_wide_line_counts_each_rejected_assessment_as_its_stored_ones_are_counted(load, con):
    result = load("w.csv", WIDE + "P1,2024-03-01,30,25,1\nP1,2024-03-08,9,4,0\n")  # line 2: both scores too high
    assert (result.rows_read, result.rows_inserted, result.rows_rejected) == (2, 2, 2)
    assert sorted(result.rejects.column_name) == ["gad7_total", "phq9_total"]
