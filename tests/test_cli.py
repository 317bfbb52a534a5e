"""Guards the command line an analyst schedules: summaries, first rejected lines, exit codes, batches."""

import csv
import io
import json
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ingest_summary


def test_ingest_prints_a_summary_per_file_and_the_rejected_lines(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    good = export("sessions.csv", "patient_id,session_day,route\nP1,0,IV\nP2,1,laser\n")
    run = cli("ingest", good, "--db", db, "--init")
    assert run.returncode == 0
    summary, how_to_list, reason = run.stdout.splitlines()
    # batch 1: 2 lines read, 1 inserted, 0 replaced, 0 duplicate, 1 rejected
    assert re.findall(r"\d+", summary) == ["1", "2", "1", "0", "0", "1"]
    assert "ketamine-outcomes rejects --batch 1 --csv" in how_to_list
    assert reason.split(": ")[0].split() == ["1", "x", "route"] and reason.endswith("line 3: 'laser'")


def test_rejects_and_warnings_are_counted_by_reason_with_three_examples_and_downloadable(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    lines = "".join(f"P{n},{n},{route},{dose}\n" for n, route, dose in [
        (1, "laser", ""), (2, "laser", ""), (3, "laser", ""), (4, "=cmd|' /C calc'!A0", ""), (5, "IV", "lots"),
        (6, "IV", "45 mg")])
    run = cli("ingest", export("s.csv", "patient_id,session_day,route,dose\n" + lines), "--db", db, "--init")
    assert run.stdout.splitlines()[1:] == [
        "  lines rejected, by reason (all of them: ketamine-outcomes rejects --batch 1 --csv):",
        "    4 x route: unknown route: expected IV, IM, intranasal or oral. e.g. line 2: 'laser'; line 3: 'laser'; "
        "line 4: 'laser'",
        "  lines stored with a warning, by reason (all of them: ketamine-outcomes rejects --warnings --batch 1 --csv):",
        "    1 x dose: dose not read, stored empty: expected a number, mg or mg/kg. e.g. line 6: 'lots'",
    ]
    rejects = list(csv.DictReader(io.StringIO(cli("rejects", "--db", db, "--csv").stdout)))
    assert [(r["line_number"], r["value"]) for r in rejects] == [
        ("2", "laser"), ("3", "laser"), ("4", "laser"), ("5", "'=cmd|' /C calc'!A0")]
    warnings = list(csv.DictReader(io.StringIO(cli("rejects", "--warnings", "--db", db, "--csv").stdout)))
    assert [(w["line_number"], w["column_name"], w["value"]) for w in warnings] == [("6", "dose", "lots")]


def test_every_listing_of_rejected_lines_is_recorded_in_the_audit_trail(tmp_path, export, cli):
    # Rejected values are line-level data (the dashboard's "All rejects as CSV" is audited): so is the command's.
    from ketamine_outcomes.store import database

    db = tmp_path / "c.duckdb"
    cli("ingest", export("s.csv", "patient_id,session_day,route,dose\nP1,0,laser,\nP2,1,laser,\nP3,2,IV,lots\n"),
        "--db", db, "--init")
    assert len(list(csv.DictReader(io.StringIO(cli("rejects", "--db", db, "--csv").stdout)))) == 2
    cli("rejects", "--warnings", "--batch", "1", "--db", db, "--json")
    cli("rejects", "--db", db)
    con = database.connect(db, read_only=True, init=False)
    rows = con.execute("select action, detail from audit_log where detail like 'rejects%' or detail like 'warnings%' "
                       "order by logged_at").fetchall()
    con.close()
    assert rows == [("download", "rejects (every batch): 2 rows as CSV"),
                    ("download", "warnings (batch 1): 1 rows as JSON"),
                    ("download", "rejects (every batch): 2 rows as a table")]


def test_batches_undo_restores_and_is_recorded(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    cli("ingest", export("a.csv", "patient_id,session_day,route\nP1,0,IV\n"), "--db", db, "--init")
    cli("ingest", export("b.csv", "patient_id,session_day,route\nP1,0,IM\nP2,0,IV\n"), "--db", db)
    run = cli("batches", "--undo", "2", "--db", db)
    # batch 2 undone as batch 3: its 1 inserted row removed, the 1 it replaced restored
    assert re.findall(r"\d+", run.stdout) == ["2", "3", "1", "1"]
    activity = json.loads(cli("mart", "activity", "--db", db, "--json").stdout)[0]
    assert (activity["n_patients"], activity["n_sessions"]) == (1, 1)
    assert cli("batches", "--undo", "9", "--db", db).stderr.strip() == "cannot undo: no batch 9"


def test_refused_file_gives_a_non_zero_exit_and_other_files_still_land(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    refused = export("people.csv", "patient_id,email,session_day,route\nP1,a@b.org,0,IV\n")
    good = export("o.csv", "patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,20\n")
    run = cli("ingest", refused, good, "--db", db, "--init")
    assert run.returncode == 1
    assert "people.csv: refused, nothing stored. column 'email' looks like a direct identifier" in run.stderr
    assert ingest_summary(run.stdout, "o.csv") == {"batch": 1, "read": 1, "inserted": 1, "replaced": 0, "duplicate": 0,
                                                   "rejected": 0}


@pytest.mark.parametrize("args, message", [
    (("mart", "adverse_events", "--by", "xyz"),
     "mart adverse_events: adverse events are split by one of all, route, session_number, dose_band, not 'xyz'"),
    (("mart", "series_summary", "--by", "site"), "mart series_summary is not split: --by applies to weekly_outcomes, "
     "adverse_events, cohort_comparison, sustained_response"),  # and the other marts that take one
])
def test_a_mistyped_split_is_one_line_not_a_traceback(tmp_path, export, args, message, cli):
    db = tmp_path / "c.duckdb"
    cli("ingest", export("s.csv", "patient_id,session_day,route\nP1,0,IV\n"), "--db", db, "--init")
    run = cli(*args, "--db", db)
    assert (run.returncode, run.stdout, run.stderr.count("\n")) == (2, "", 1)
    assert run.stderr.startswith(message)


@pytest.mark.parametrize("command", [("batches",), ("batches", "--undo", "1"), ("rejects",), ("rejects", "--warnings"),
                                     ("mappings",)])
def test_a_missing_database_is_one_line_and_is_not_created(tmp_path, command, cli):
    db = tmp_path / "typo.duckdb"
    run = cli(*command, "--db", db)
    assert (run.returncode, run.stdout) == (2, "")
    # The wording is the point: it names the file and what to do (--init), and that nothing was created.
    assert run.stderr == (f"{db}: no such database (moved, deleted or mistyped?). Nothing was created; give --init "
                          "to create a new one.\n")
    assert not db.exists()


def test_batches_lists_every_ingest(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    path = export("o.csv", "patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,20\n")
    cli("ingest", path, "--db", db, "--init")
    cli("ingest", path, "--db", db)
    run = cli("batches", "--db", db, "--json")
    batches = json.loads(run.stdout)
    assert [(b["batch_id"], b["file_name"], b["rows_inserted"], b["rows_duplicate"]) for b in batches] == [
        (1, "o.csv", 1, 0), (2, "o.csv", 0, 1)]
    # As text, an empty value (no source, never undone) is blank, not NaN or None.
    assert [line.split()[-3:] for line in cli("batches", "--db", db).stdout.splitlines()[1:]] == [
        ["0", "[]", batches[0]["sha256"]], ["0", "[]", batches[1]["sha256"]]]


def test_weekly_json_is_the_stable_contract_scripts_read(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    sessions = export("s.csv", "patient_id,session_day,route,site\nP1,0,IV,North\nP2,0,IV,South\nP3,0,IM,South\n")
    outcomes = export("o.csv", "patient_id,assessment_day,instrument,score\n"
                               "P1,0,PHQ-9,20\nP1,7,PHQ-9,9\nP2,0,PHQ-9,15\nP2,7,PHQ-9,14\nP3,7,PHQ-9,3\n")
    assert cli("ingest", sessions, outcomes, "--db", db, "--init").returncode == 0
    run = cli("weekly", "--db", db, "--instrument", "PHQ-9", "--json")
    weeks = json.loads(run.stdout)
    assert weeks[0] == {"week": 0, "n_scored": 2, "mean_score": 17.5}
    week1 = weeks[1]
    assert {k: week1[k] for k in ("week", "n_scored", "mean_score", "n_paired", "mean_change", "responders",
                                  "remitters")} == {
        "week": 1, "n_scored": 3, "mean_score": 8.67, "n_paired": 2, "mean_change": -6.0, "responders": 1,
        "remitters": 0}
    south = json.loads(cli("weekly", "--db", db, "--site", "South", "--json").stdout)
    assert south[1]["n_scored"] == 2


def test_dashboard_serves_this_machine_only_by_default():
    from ketamine_outcomes.cli.commands import parser
    assert parser().parse_args(["dashboard"]).address == "127.0.0.1"


def test_a_changed_setting_changes_the_metrics_and_reset_restores_them(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    sessions = export("s.csv", "patient_id,session_day,route\nP1,0,IV\nP1,61,IV\nP1,63,IV\nP1,65,IV\n")
    assert cli("ingest", sessions, "--db", db, "--init").returncode == 0

    def series_count():
        run = cli("mart", "activity", "--db", db, "--json")
        return json.loads(run.stdout)[0]["n_series"]

    assert series_count() == 2  # after a 61-day gap, three sessions in 21 days start a new series (a re-induction)
    changed = cli("settings", "set", "series_gap_days", "90", "--db", db, "--json")
    gap = next(s for s in json.loads(changed.stdout) if s["name"] == "series_gap_days")
    assert (gap["value"], gap["default_value"]) == (90.0, 60.0)
    assert series_count() == 1
    assert cli("settings", "reset", "series_gap_days", "--db", db).returncode == 0
    assert series_count() == 2
    refused = cli("settings", "set", "gap", "90", "--db", db)
    assert refused.returncode == 2 and "unknown setting 'gap'" in refused.stderr


@pytest.mark.parametrize("name, value, reason", [
    ("min_cell_size", "-3", "min_cell_size must be a whole number from 0 to 100; got '-3'"),
    ("induction_sessions_iv", "nan", "induction_sessions_iv must be a whole number from 1 to 50; got 'nan'"),
    ("series_gap_days", "-5", "series_gap_days must be a whole number from 1 to 3650; got '-5'"),
    ("induction_sessions_oral", "6.5", "induction_sessions_oral must be a whole number from 1 to 50; got '6.5'"),
    ("response_fraction_pcl5", "1.5", "response_fraction_pcl5 must be a number from 0.01 to 0.99; got '1.5'"),
    ("end_of_induction_days", "inf", "end_of_induction_days must be a whole number from 0 to 365; got 'inf'"),
    ("dropout_quiet_days", "many", "dropout_quiet_days must be a whole number from 1 to 365; got 'many'"),
    # float() reads these; a person setting a window types plain decimal digits
    ("induction_sessions_iv", "1e1", "induction_sessions_iv must be a whole number from 1 to 50; got '1e1'"),
    ("series_gap_days", "1_000", "series_gap_days must be a whole number from 1 to 3650; got '1_000'"),
    ("series_gap_days", "\u0663\u0660", "series_gap_days must be a whole number from 1 to 3650; got '\u0663\u0660'"),
    ("response_fraction_pcl5", ".5", "response_fraction_pcl5 must be a number from 0.01 to 0.99; got '.5'"),
])
def test_a_setting_outside_its_range_is_refused_and_nothing_changes(tmp_path, export, name, value, reason, cli):
    db = tmp_path / "c.duckdb"
    assert cli("ingest", export("s.csv", "patient_id,session_day,route\nP1,0,IV\n"), "--db", db, "--init").returncode == 0
    refused = cli("settings", "set", name, value, "--db", db)
    assert refused.returncode == 2 and reason in refused.stderr
    listed = json.loads(cli("settings", "--db", db, "--json").stdout)
    setting = next(s for s in listed if s["name"] == name)
    assert setting["value"] == setting["default_value"]


def test_a_setting_at_the_edge_of_its_range_is_accepted(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    assert cli("ingest", export("s.csv", "patient_id,session_day,route\nP1,0,IV\n"), "--db", db, "--init").returncode == 0
    changed = cli("settings", "set", "min_cell_size", "-0", "--db", db, "--json")
    assert changed.returncode == 0
    assert next(s for s in json.loads(changed.stdout) if s["name"] == "min_cell_size")["value"] == 0.0
    assert cli("audit", "--db", db, "--json", "--since", "2000-01-01").stdout.count('"settings",') == 1
    assert "min_cell_size = 0" in cli("audit", "--db", db).stdout


def test_mart_csv_neutralises_formulas_in_export_text(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    sessions = export("s.csv", 'patient_id,session_day,route,site\nP1,0,IV,"=HYPERLINK(""http://x"",""y"")"\n'
                               "P2,0,IV,@SUM(1)\nP3,0,IV,Northside\n")
    outcomes = export("o.csv", "patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,20\nP2,0,PHQ-9,20\n"
                               "P3,0,PHQ-9,20\n")
    assert cli("ingest", sessions, outcomes, "--db", db, "--init").returncode == 0
    rows = list(csv.DictReader(io.StringIO(cli("mart", "cohort_comparison", "--by", "site", "--db", db).stdout)))
    assert sorted(r["group_value"] for r in rows) == ["'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(1)", "Northside"]
    assert {r["n_series"] for r in rows} == {"1"}  # numbers untouched


def test_the_replaced_response_fraction_is_refused_and_names_the_five_per_instrument_settings(tmp_path, cli):
    refused = cli("settings", "set", "response_fraction", "0.6", "--db", tmp_path / "c.duckdb", "--init")
    assert refused.returncode == 2
    assert ("response_fraction is now per instrument: response_fraction_phq9, response_fraction_gad7, "
            "response_fraction_pcl5, response_fraction_madrs, response_fraction_qidssr16") in refused.stderr


def test_weekly_and_mart_keep_every_series_by_default_and_min_baseline_when_asked(tmp_path, export, cli):
    # P1 starts mild (PHQ-9 6, below caseness 10), P2 at 20. Scripts read every series unless they ask:
    # the dashboard's headline default (cases only) does not change what the CLI prints.
    db = tmp_path / "c.duckdb"
    cli("ingest", export("s.csv", "patient_id,session_day,route\nP1,0,IV\nP2,0,IV\n"), "--db", db, "--init")
    cli("ingest", export("o.csv", "patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,6\nP1,7,PHQ-9,2\n"
                                  "P2,0,PHQ-9,20\nP2,7,PHQ-9,16\n"), "--db", db)
    week = lambda *extra: next(r for r in json.loads(cli("weekly", "--db", db, "--json", *extra).stdout)
                               if r["week"] == 1)
    assert (week()["n_paired"], week()["responders"]) == (2, 1)
    assert (week("--min-baseline", "10")["n_paired"], week("--min-baseline", "10")["responders"]) == (1, 0)
    mart = cli("mart", "series_summary", "--db", db).stdout
    assert "P1#1" in mart and "P2#1" in mart


def strict_json(text: str):
    """Parse as JSON is written: NaN and Infinity are not JSON, and a strict parser refuses them."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict_json_with_null_for_an_empty_value(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    cli("ingest", export("s.csv", "patient_id,session_day,route\nP1,0,IV\n,1,IV\n"), "--db", db, "--init")
    (reject,) = strict_json(cli("rejects", "--db", db, "--json").stdout)
    assert (reject["line_number"], reject["column_name"], reject["value"]) == (3, "patient_id", None)
    (batch,) = strict_json(cli("batches", "--db", db, "--json").stdout)
    assert (batch["rows_inserted"], batch["rows_rejected"], batch["undone_at"], batch["source"]) == (1, 1, None, None)
    (series,) = strict_json(cli("mart", "series_summary", "--db", db, "--json").stdout)
    assert (series["patient_id"], series["sessions_completed"], series["baseline_score"], series["end_status"]) \
        == ("P1", 1, None, "no baseline")


def test_the_report_takes_no_json_option(tmp_path, cli):
    run = cli("report", "--db", tmp_path / "c.duckdb", "--out", tmp_path / "p.html", "--json")
    assert run.returncode == 2 and "unrecognized arguments: --json" in run.stderr


def test_a_report_written_onto_a_folder_or_an_impossible_path_is_one_sentence(tmp_path, sample_db, cli):
    db = tmp_path / "clinic.duckdb"  # its own copy: the shared sample is held open read-only by other tests
    shutil.copy(sample_db, db)
    folder = tmp_path / "pack.html"
    folder.mkdir()
    run = cli("report", "--db", db, "--out", folder)
    assert (run.returncode, run.stderr) == (2, f"report: {folder}: is a folder; give the pack a file name "
                                               f"(e.g. {folder / 'pack.html'})\n")
    run = cli("report", "--db", db, "--out", "/proc/pack.html")
    assert (run.returncode, run.stderr) == (2, "report: /proc/pack.html: cannot write the pack there "
                                               "(No such file or directory)\n")
    assert list(folder.iterdir()) == []


@pytest.mark.subprocess
def test_a_reader_that_stops_early_gets_no_traceback_and_the_ingest_is_stored(tmp_path, export, cli):
    """`ketamine-outcomes ingest ... | head -1`: the reader is gone before the summary is printed."""
    db = tmp_path / "c.duckdb"
    cli("settings", "--db", db, "--init")
    ingest = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "ingest", "--db", str(db),
                               export("s.csv", "patient_id,session_day,route\nP1,0,IV\nP2,0,laser\n")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ingest.stdout.close()  # before the command has started up, let alone printed
    assert (ingest.wait(timeout=120), ingest.stderr.read()) == (141, "")
    (batch,) = strict_json(cli("batches", "--db", db, "--json").stdout)
    assert (batch["rows_inserted"], batch["rows_rejected"]) == (1, 1)


@pytest.mark.parametrize("args, usage, extra", [
    (("list", "extra"), "settings list", "extra"),
    (("set", "series_gap_days"), "settings set NAME VALUE", "series_gap_days"),
    (("reset",), "settings reset NAME", "nothing"),
])
def test_settings_with_the_wrong_number_of_words_is_refused(tmp_path, export, args, usage, extra, cli):
    db = tmp_path / "c.duckdb"
    cli("settings", "--db", db, "--init")
    run = cli("settings", *args, "--db", db)
    assert (run.returncode, run.stdout, run.stderr) == (
        2, "", f"refused, nothing changed: the command is `{usage}`; got {extra} after {args[0]}\n")


@pytest.mark.parametrize("command", ["ingest", "backup"])
@pytest.mark.parametrize("wait", ["-5", "nan", "inf", "1e3"])
def test_a_wait_that_is_not_a_number_of_seconds_is_refused(tmp_path, command, wait, cli):
    run = cli(command, tmp_path / "x", "--wait", wait, "--db", tmp_path / "c.duckdb")
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1].endswith(f"argument --wait: expected a number of seconds, 0 or more; got {wait!r}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("batches", "--undo", "1_0"), ("rejects", "--batch", "\u0663"),
                                  ("report", "--out", "p.html", "--min-cell", "-11"), ("dashboard", "--port", "8_501")])
def test_a_number_option_takes_plain_digits_only(tmp_path, args, cli):
    run = cli(*args, "--db", tmp_path / "c.duckdb")
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1].endswith(f"expected a whole number, 0 or more, in plain digits; got {args[-1]!r}")
    assert list(tmp_path.iterdir()) == []


def test_an_undone_batch_rejects_are_listed_only_when_asked_for(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    bad = export("s.csv", "patient_id,session_day,route\nP1,0,IV\nP2,1,laser\n")
    cli("ingest", bad, "--db", db, "--init")
    cli("batches", "--undo", "1", "--db", db)
    assert json.loads(cli("rejects", "--db", db, "--json").stdout) == []
    assert [r["line_number"] for r in json.loads(cli("rejects", "--batch", "1", "--db", db, "--json").stdout)] == [3]
    cli("ingest", bad, "--db", db)  # filed again, with the new batch: listed once
    assert [(r["batch_id"], r["line_number"]) for r in json.loads(cli("rejects", "--db", db, "--json").stdout)] == [
        (3, 3)]
