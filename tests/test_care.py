"""Guards measurement-based care: the series view classifies a series exactly as the population marts do
(every end-of-induction status), shows its sessions, escapes an export's ids, and stays away from meetings;
the "not on track" list and its calibration equal a hand-computed example."""

import base64
import json
import math
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from ketamine_outcomes.care import chart_notes, follow_up
from ketamine_outcomes.care import series
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import safety_panels, suppress
from ketamine_outcomes.ingest.pipeline import ingest_file
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.metrics import quality
from ketamine_outcomes.metrics.marts import Cohort
from ketamine_outcomes.report import pack
from ketamine_outcomes.store import database

ENTRY = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def clinic_db(tmp_path, sample_db) -> Path:
    """A private copy of the sample clinic: the app holds its own write connection to it."""
    path = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, path)
    return path


def open_page(db: Path, monkeypatch, page: str, **params) -> AppTest:
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(db))
    app = AppTest.from_file(ENTRY, default_timeout=60).run()
    for name, value in params.items():
        app.query_params[name] = value
    return app.switch_page(f"app_pages/{page}.py").run()


def decoded(values):
    """A figure's array as numbers (Plotly's JSON writes numeric arrays as base64)."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return values


def unescaped(markdown: str) -> str:
    return markdown.replace("\\", "").replace("\u2060", "")


def warnings_but_stale(app: AppTest) -> list[str]:
    """The page's warnings but the stale-data one (ui.data_as_of: the sample's data is from 2025)."""
    return [unescaped(w.value) for w in app.warning if not w.value.startswith("The data is ")]


def why_table(app: AppTest) -> dict[str, str]:
    """The first instrument's table of reasons: definition -> result."""
    frame = next(t.value for t in app.table if "Because" in t.value.columns)
    return frame["Result"].to_dict()


STATUSES = ("remission", "response", "no response", "no score", "not reached", "no baseline")


@pytest.mark.parametrize("status", STATUSES)
def test_the_series_view_says_what_series_summary_says_for_every_status(clinic_db, monkeypatch, status):
    con = database.connect(clinic_db)
    summary = marts.series_summary(con, "PHQ-9")  # the whole clinic's mart, as the Response page reads it
    con.close()
    # Every way the sample holds this status: closed or still open, dropped out or not (a dropout with no
    # baseline is not evaluable, one with a baseline is).
    kinds = summary[summary.end_status == status].groupby(["is_evaluable", "is_dropped_out"]).head(1)
    assert len(kinds) >= 1 + (status not in ("not reached",)), kinds
    for row in kinds.itertuples():
        app = open_page(clinic_db, monkeypatch, "series", series=row.series_id)
        assert not app.exception, [e.value for e in app.exception]
        why = why_table(app)
        seen = (row.series_id, why)
        assert why["end-of-induction status"] == row.end_status, seen
        assert why["completed sessions"] == str(row.sessions_completed), seen
        assert why["dropped out"] == ("yes" if row.is_dropped_out else "no"), seen
        assert (why["evaluable"] == "yes") == bool(row.is_evaluable), seen
        assert (why["scored at end of induction"] == "yes") == pd.notna(row.end_score), seen
        sessions = next(d.value for d in app.dataframe if "Session number" in d.value.columns)
        assert sessions["Session number"].tolist() == list(range(1, row.sessions_completed + 1))


def test_a_dropout_without_a_baseline_is_not_evaluable_on_the_view_as_in_the_mart(clinic_db):
    """series_summary: is_evaluable is false without a baseline, a dropout included (it is in no rate). The view
    said "evaluable: yes, it counts as not responding" for such a series."""
    con = database.connect(clinic_db, read_only=True)
    summary = marts.series_summary(con, "PHQ-9")
    row = summary[(summary.end_status == "no baseline") & summary.is_dropped_out].iloc[0]
    assert not row.is_evaluable
    settings = dict(con.execute("select name, value from settings").fetchall())
    why = {d: (r, b) for d, r, b in series.reasons(series.classification(con, row.series_id, "PHQ-9"),
                                                   series.series(con, row.series_id), settings)}
    con.close()
    assert why["evaluable"][0] == "no" and why["dropped out"][0] == "yes"
    assert "no PHQ-9 baseline" in why["evaluable"][1]


@pytest.mark.slow
def test_boosters_and_reinductions_of_every_series_add_up_to_the_maintenance_mart(sample_db):
    """Each series' view, summed over the clinic, gives the Durability page's figures: boosters, series with a
    booster, re-inducted series, and the series counted (those that completed their induction)."""
    con = database.connect(sample_db, read_only=True)
    whole = marts.maintenance(con, "all").iloc[0]
    summary = marts.series_summary(con, "PHQ-9")
    settings = dict(con.execute("select name, value from settings").fetchall())
    results = []
    for row in summary.itertuples():
        found = series.Classification("PHQ-9", pd.Series(row._asdict()), series.maintenance(con, row.series_id),
                                      pd.DataFrame(columns=["day", "n_events"]))
        why = {d: r for d, r, _ in series.reasons(found, series.series(con, row.series_id), settings)}
        results.append((why["boosters"], why["re-induction"]))
    con.close()
    counted = [(b, r) for b, r in results if b != "not counted"]
    assert len(counted) == whole.n_series
    assert sum(int(b) for b, _ in counted) == whole.n_boosters
    assert sum(int(b) > 0 for b, _ in counted) == whole.n_with_boosters
    assert sum(r == "yes" for _, r in counted) == whole.n_reinducted
    assert {r for b, r in results if b == "not counted"} <= {"not counted"}


def test_boosters_and_reinduction_are_the_maintenance_marts(clinic_db, monkeypatch):
    """KP000003#1 completed its IV induction, had sessions after it and a later series: the series view's booster
    count is the number of its sessions past the induction (as maintenance counts them) and it links the next."""
    con = database.connect(clinic_db)
    one = con.execute("select sessions_completed - induction_sessions from int_treatment_series "
                      "where series_id = 'KP000003#1'").fetchall()[0][0]
    maintenance = marts.maintenance(con, "all", Cohort(series_ids=("KP000003#1",))).iloc[0]
    con.close()
    app = open_page(clinic_db, monkeypatch, "series", series="KP000003#1")
    why = why_table(app)
    assert why["boosters"] == str(one) == str(maintenance.n_boosters)
    assert why["re-induction"] == "yes"
    links = {unescaped(link.proto.label): link.proto.query_string for link in app.get("page_link")}
    assert links["KP000003#2 (IV)"] == "series=KP000003%232"


def test_an_unknown_series_id_says_so_and_meeting_mode_hides_the_view(clinic_db, monkeypatch):
    app = open_page(clinic_db, monkeypatch, "series", series="NOPE#9")
    assert any("No series has the id NOPE#9" in unescaped(w.value) for w in app.warning)
    app = open_page(clinic_db, monkeypatch, "series", series="KP000003#1")
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    assert not app.get("plotly_chart") and not app.dataframe
    assert any("Hidden in meeting mode" in i.value for i in app.info)


@pytest.mark.parametrize("given", ["KP000003#1' or '1'='1", "KP000003#1; drop table sessions; --", "ＫＰ000003#1",
                                   "KP000003#1\u200b", "%", "KP000003", "<script>x</script>#1", "9" * 5000])
def test_an_odd_series_id_in_the_link_is_refused_in_one_sentence_showing_nothing(clinic_db, monkeypatch, given):
    """SQL-ish text, look-alike unicode, a bare patient id, a wildcard, markup, a very long id: one warning, no rows,
    no chart, no traceback; the id is echoed cut to 40 characters; and the sample's data is unchanged."""
    app = open_page(clinic_db, monkeypatch, "series", series=given)
    assert not app.exception, [e.value for e in app.exception]
    (warning,) = warnings_but_stale(app)
    assert warning.startswith("No series has the id ") and warning.count(". ") == 0 and len(warning) < 200
    assert not app.dataframe and not app.table and not app.get("plotly_chart")
    con = database.connect(clinic_db, read_only=True)
    assert con.execute("select count(*) from sessions").fetchall() == [(3562,)]
    con.close()


@pytest.mark.parametrize("page", ["series", "not_on_track", "follow_up"])
def test_a_meeting_link_shows_no_patient_and_not_whether_a_series_exists(clinic_db, monkeypatch, page):
    """meeting=true in the link: each patient-level page says one thing, the same for a series that exists and
    one that does not, with no search box, no id, no table or chart."""
    seen = []
    for given in ("KP000003#1", "NOPE#9"):
        app = open_page(clinic_db, monkeypatch, page, series=given, meeting="true")
        assert not app.exception, [e.value for e in app.exception]
        assert not app.text_input and not app.dataframe and not app.table and not app.get("plotly_chart")
        assert not any(b.label == "Record the follow-up" for b in app.button)
        shown = [e.value for e in (*app.markdown, *app.caption, *app.header, *app.info, *app.warning)]
        assert not any("KP000003" in t or "NOPE" in t for t in shown), shown
        seen.append([i.value for i in app.info])
    assert seen[0] == seen[1] and seen[0][0].startswith("Hidden in meeting mode")


def test_spaces_around_an_id_in_a_pasted_link_still_open_the_series(clinic_db, monkeypatch):
    app = open_page(clinic_db, monkeypatch, "series", series="  KP000003#1 ")
    assert not warnings_but_stale(app) and unescaped(app.header[0].value) == "KP000003#1"
    app = open_page(clinic_db, monkeypatch, "series", series="   ")
    assert not warnings_but_stale(app) and any(i.value.startswith("Type a series or patient id") for i in app.info)


def test_a_hostile_patient_id_is_shown_as_text_on_the_series_view(tmp_path, monkeypatch, export):
    """The series id comes from the export's patient id: markdown, a link, HTML and a formula stay text."""
    db = tmp_path / "clinic.duckdb"
    con = database.connect(db)
    hostile = "P-001<b>2</b>:red[x]$y$"  # (a markdown link is refused at ingest: it reads as a name)
    ingest_file(con, export("sessions.csv", "patient_id,session_day,status,route,site\n"
                            + "".join(f'"{hostile}",{d},completed,IV,North\n' for d in (0, 2, 4))))
    ingest_file(con, export("outcomes.csv", f'patient_id,assessment_day,instrument,score\n"{hostile}",0,PHQ-9,20\n'))
    marts.build(con)
    con.close()
    app = open_page(db, monkeypatch, "series", series=f"{hostile}#1")
    assert not app.exception, [e.value for e in app.exception]
    header = app.header[0].value
    assert unescaped(header) == f"{hostile}#1"
    assert ":red[" not in header and "<b>" not in header and "$y$" not in header  # every mark escaped: text


# Not on track ----------------------------------------------------------------------------------------

def sessions_at(patient: str, days) -> str:
    return "".join(f"{patient},{d},completed,IV,North\n" for d in days)


@pytest.fixture
def tracked(con, export):
    """A hand-computable clinic, all IV (checkpoint: the 3rd completed session), baseline PHQ-9 20 on day 0.
    Closed (induction day 11, window closed by day 200):
      A1 score 16 by the checkpoint (improvement 0.2), end 8: responded;   A2 12 (0.4), end 6: responded;
      A3 8 (0.6), end 2: responded (remission);   A4 18 (0.1), end 15: not;   A5 10 (0.5), end 12: not;
      C1 19 (0.05) and then dropped out after session 3: not (closed, counts as not responding).
    Responders' improvements 0.2, 0.4, 0.6: the 0.25 quantile (linear) is 0.3. Active (started day 190):
      B1 15 (0.25): flagged;  B2 13 (0.35): not flagged;  B3 no score by its checkpoint: not judged."""
    six = (0, 2, 4, 7, 9, 11)
    lines = {"A1": (16, 8), "A2": (12, 6), "A3": (8, 2), "A4": (18, 15), "A5": (10, 12)}
    sessions = "".join(sessions_at(p, six) for p in lines) + sessions_at("C1", (0, 2, 4))
    sessions += sessions_at("B1", (190, 192, 194)) + sessions_at("B2", (190, 192, 194, 200)) + sessions_at("B3", (190, 192, 194))
    outcomes = "".join(f"{p},0,PHQ-9,20\n{p},4,PHQ-9,{mid}\n{p},12,PHQ-9,{end}\n" for p, (mid, end) in lines.items())
    outcomes += "C1,0,PHQ-9,20\nC1,4,PHQ-9,19\nB1,190,PHQ-9,20\nB1,194,PHQ-9,15\nB2,190,PHQ-9,20\nB2,193,PHQ-9,13\n"
    outcomes += "B3,190,PHQ-9,20\nB3,195,PHQ-9,5\n"
    for name, text in (("sessions.csv", "patient_id,session_day,status,route,site\n" + sessions),
                       ("outcomes.csv", "patient_id,assessment_day,instrument,score\n" + outcomes)):
        result = ingest_file(con, export(name, text))
        assert result.rows_rejected == 0 and result.refused is None, result.rejects
    con.execute("insert or replace into setting_overrides values ('not_on_track_min_series', 2)")
    marts.build(con)
    return con


def wilson(k: int, n: int) -> tuple[float, float]:
    z, p = 1.959964, k / n
    centre, spread = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def test_not_on_track_flags_below_the_responders_quantile_and_calibrates_on_closed_series(tracked):
    checkpoint, calibration = series.not_on_track(tracked, "PHQ-9")
    rows = checkpoint.set_index("patient_id")
    assert rows.threshold_improvement.dropna().round(6).unique().tolist() == [0.3]
    assert rows.n_reference.unique().tolist() == [3]
    assert sorted(rows.index) == ["A1", "A2", "A3", "A4", "A5", "B1", "B2", "C1"]  # B3: no score by its checkpoint
    assert rows.improvement.round(6).to_dict() == {"A1": 0.2, "A2": 0.4, "A3": 0.6, "A4": 0.1, "A5": 0.5,
                                                   "B1": 0.25, "B2": 0.35, "C1": 0.05}
    assert series.flagged(checkpoint).patient_id.tolist() == ["B1"]
    table = calibration[calibration.group_value == "all"].set_index("is_flagged")
    assert table.loc[True, ["n_closed", "n_responded"]].tolist() == [3, 1]  # A1 responded; A4, C1 did not
    assert table.loc[False, ["n_closed", "n_responded"]].tolist() == [3, 2]  # A2, A3 responded; A5 did not
    for flag, (k, n) in ((True, (1, 3)), (False, (2, 3))):
        low, high = wilson(k, n)
        assert table.loc[flag, "response_rate"] == pytest.approx(k / n)
        assert (table.loc[flag, "response_rate_low"], table.loc[flag, "response_rate_high"]) == (
            pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))
    assert table.is_enough.all()


def test_too_few_responders_flag_nothing_and_say_so(tracked):
    tracked.execute("insert or replace into setting_overrides values ('not_on_track_min_series', 4)")
    marts.build(tracked)
    checkpoint, calibration = series.not_on_track(tracked, "PHQ-9")
    assert checkpoint.threshold_improvement.isna().all() and not checkpoint.is_flagged.any()
    assert calibration.empty


def test_the_not_on_track_page_says_in_words_when_too_few_closed_series_judge(tracked, db_path, monkeypatch):
    """3 IV responders, 4 asked for: no IV threshold, nothing flagged, and the page says so in sentences (the
    route, and the calibration), not with an empty table alone."""
    tracked.execute("insert or replace into setting_overrides values ('not_on_track_min_series', 4)")
    marts.build(tracked)
    tracked.close()
    app = open_page(db_path, monkeypatch, "not_on_track")
    assert not app.exception, [e.value for e in app.exception]
    assert [unescaped(w.value) for w in app.warning] == [
        "Too few closed series to judge IV: fewer than 4 eventual responders scored at the checkpoint, so no series "
        "of that route is flagged."]
    assert any(i.value.startswith("Too few closed series to judge the signal") for i in app.info)
    assert any(h.value == "0 active series not on track" for h in app.subheader)


def test_the_not_on_track_page_lists_the_flagged_series_with_a_link_to_its_view(tracked, db_path, monkeypatch):
    tracked.close()
    app = open_page(db_path, monkeypatch, "not_on_track")
    assert not app.exception, [e.value for e in app.exception]
    listed = next(d.value for d in app.dataframe if "Threshold %" in d.value.columns)
    assert listed.iloc[:, 1].tolist() == ["B1#1"]
    assert listed["View"].tolist() == ["series?series=B1%231"]
    assert listed["Improvement %"].tolist() == [25.0] and listed["Threshold %"].tolist() == [30.0]
    calibration = next(d.value for d in app.dataframe if "Closed series" in d.value.columns)
    assert calibration[["Closed series", "Responded"]].values.tolist()[:2] == [[3, 1], [3, 2]]
    # 3 and 1 are under the clinic's 11, shown exactly: the filters line says so, claiming no suppression.
    [line] = [c.value for c in app.caption if c.value.startswith("Filters:")]
    assert "exact counts" in line and "suppressed" not in line
    assert any(c.value.startswith("Counts here are exact") for c in app.caption)


# Item 9 follow-up ----------------------------------------------------------------------------------------

def test_the_follow_up_list_holds_exactly_the_item9_flags_open_first(sample_db, tmp_path):
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    con = database.connect(db)
    flags = follow_up.flags(con)
    mart = marts.item9_flags(con)
    assert len(flags) == len(mart) and sorted(flags.patient_id) == sorted(mart.patient_id)
    assert flags.is_open.all()
    first = flags.iloc[0]
    follow_up.mark(con, first.patient_id, int(first.assessment_day), "escalated", "nurse@clinic.example", "director")
    again = follow_up.flags(con)
    assert (again.iloc[-1].patient_id, again.iloc[-1].outcome, again.iloc[-1].recorded_by) == (
        first.patient_id, "escalated", "nurse@clinic.example")
    assert again.is_open.tolist() == [True] * (len(flags) - 1) + [False]
    assert len(follow_up.flags(con, only_open=True)) == len(flags) - 1
    assert follow_up.flags(con, limit=5).patient_id.tolist() == again.patient_id.head(5).tolist()
    assert set(follow_up.flags(con, patient=first.patient_id).patient_id) == {first.patient_id}
    counts = follow_up.counts(con).set_index("state").n_flags.to_dict()
    assert counts == {"open": len(flags) - 1, "contacted": 0, "safety plan reviewed": 0, "escalated": 1,
                      "no action needed": 0}
    con.close()


def test_a_refused_mark_writes_neither_the_follow_up_nor_the_audit_row(con, export):
    ingest_file(con, export("outcomes.csv", "patient_id,assessment_day,instrument,score,item9\n"
                                            "P1,0,PHQ-9,20,2\nP1,7,PHQ-9,12,0\n"))
    marts.build(con)
    before = con.execute("select count(*) from audit_log").fetchall()
    with pytest.raises(follow_up.FollowUpRefused, match="no item 9 flag"):
        follow_up.mark(con, "P1", 7, "contacted", "a@clinic.example", "analyst")  # item 9 was 0 that day
    with pytest.raises(follow_up.FollowUpRefused, match="not a follow-up outcome"):
        follow_up.mark(con, "P1", 0, "called her at home", "a@clinic.example", "analyst")
    assert con.execute("select count(*) from item9_follow_ups").fetchall() == [(0,)]
    assert con.execute("select count(*) from audit_log").fetchall() == before
    follow_up.mark(con, "P1", 0, "contacted", "a@clinic.example", "analyst")
    assert con.execute("select role, action, detail from audit_log where action = 'follow-up'").fetchall() == [
        ("analyst", "follow-up", "item 9 flag of patient P1 on day 0: contacted")]


def test_a_flag_corrected_away_by_a_re_upload_leaves_the_list_and_counts_and_cannot_be_marked(con, export):
    """P1's PHQ-9 on day 0 had item 9 = 2 and was marked; a later export corrects it to 0. The flag leaves the list
    and the meeting's counts (its old mark is kept, not counted), and marking it now is refused, writing nothing."""
    header = "patient_id,assessment_day,instrument,score,item9\n"
    ingest_file(con, export("outcomes.csv", header + "P1,0,PHQ-9,20,2\nP1,7,PHQ-9,12,1\n"))
    marts.build(con)
    follow_up.mark(con, "P1", 0, "contacted", "a@clinic.example", "analyst")
    assert follow_up.counts(con).set_index("state").n_flags.to_dict()["contacted"] == 1
    corrected = ingest_file(con, export("outcomes.csv", header + "P1,0,PHQ-9,20,0\nP1,7,PHQ-9,12,1\n"))
    assert corrected.rows_replaced == 1, corrected.summary()
    marts.build(con)
    assert follow_up.flags(con)[["patient_id", "assessment_day", "is_open"]].values.tolist() == [["P1", 7, True]]
    assert follow_up.counts(con).set_index("state").n_flags.to_dict() == {
        "open": 1, "contacted": 0, "safety plan reviewed": 0, "escalated": 0, "no action needed": 0}
    audit_before = con.execute("select count(*) from audit_log").fetchall()
    with pytest.raises(follow_up.FollowUpRefused, match="no item 9 flag"):
        follow_up.mark(con, "P1", 0, "escalated", "a@clinic.example", "analyst")
    assert con.execute("select outcome from item9_follow_ups").fetchall() == [("contacted",)]
    assert con.execute("select count(*) from audit_log").fetchall() == audit_before


def test_a_mark_whose_audit_row_cannot_be_written_is_not_kept_either(con, export):
    """One transaction: the follow-up row is written first, and when its audit row then fails (here the trail's
    table is gone, a real DuckDB error) the follow-up is rolled back with it: no mark without its audit row."""
    ingest_file(con, export("outcomes.csv", "patient_id,assessment_day,instrument,score,item9\nP1,0,PHQ-9,20,2\n"))
    marts.build(con)
    con.execute("drop table audit_log")
    with pytest.raises(duckdb.CatalogException):
        follow_up.mark(con, "P1", 0, "contacted", "a@clinic.example", "analyst")
    assert con.execute("select count(*) from item9_follow_ups").fetchall() == [(0,)]


def test_the_table_itself_takes_only_the_fixed_outcomes(con):
    """The database's own check holds the list follow_up.OUTCOMES offers (the last line of defence)."""
    for outcome in follow_up.OUTCOMES:
        con.execute("insert into item9_follow_ups values ('P1', 0, $o, 'a', 'analyst', now())", {"o": outcome})
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into item9_follow_ups values ('P1', 0, 'rang Jane Doe', 'a', 'analyst', now())")


def test_meeting_counts_hide_a_small_state_and_the_one_that_would_give_it_away():
    frame = pd.DataFrame({"state": list(follow_up.STATES), "n_flags": [40, 25, 3, 0, 14]})
    assert safety_panels.follow_up_counts_for_meeting(frame, 11).shown.tolist() == ["40", "25", "hidden", "0", "hidden"]
    frame = pd.DataFrame({"state": list(follow_up.STATES), "n_flags": [40, 25, 3, 0, 4]})
    assert safety_panels.follow_up_counts_for_meeting(frame, 11).shown.tolist() == ["40", "25", "hidden", "0", "hidden"]


def test_marking_on_the_page_records_it_and_meeting_mode_shows_only_counts(clinic_db, monkeypatch):
    app = open_page(clinic_db, monkeypatch, "follow_up")
    assert not app.exception, [e.value for e in app.exception]
    listed = next(d.value for d in app.dataframe if "Outcome" in d.value.columns)
    first_patient = listed["Patient"].iloc[0]
    app.selectbox(key="follow_up_flag").select_index(0)
    app.radio(key="follow_up_outcome").set_value("no action needed")
    next(b for b in app.button if b.label == "Record the follow-up").click().run()
    assert any(f"Recorded for {first_patient}: no action needed" in unescaped(s.value) for s in app.success)
    con = database.connect(clinic_db)
    rows = con.execute("select patient_id, outcome, role from item9_follow_ups").fetchall()
    audit_rows = con.execute("select action, detail from audit_log where action = 'follow-up'").fetchall()
    con.close()
    assert rows == [(first_patient, "no action needed", "local (no sign-in)")]
    assert len(audit_rows) == 1 and audit_rows[0][1].startswith(f"item 9 flag of patient {first_patient} on ")
    app = open_page(clinic_db, monkeypatch, "safety")
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    counts = app.table[0].value
    assert counts["Follow-up"].tolist() == list(follow_up.STATES)
    assert counts["Flags"].tolist()[3] == "0" and "hidden" in counts["Flags"].tolist()  # 1 no action needed: hidden
    app.switch_page("app_pages/follow_up.py").run()
    assert not any("Outcome" in d.value.columns for d in app.dataframe)


def marks(db: Path) -> list[tuple]:
    con = database.connect(db, read_only=True)
    try:
        return con.execute("select patient_id, assessment_day, outcome, recorded_by from item9_follow_ups "
                           "order by recorded_at").fetchall()
    finally:
        con.close()


def test_a_flag_marked_by_someone_else_meanwhile_keeps_the_mark_on_the_flag_chosen(clinic_db, monkeypatch):
    """Two people at once: A chooses the top open flag; B marks that same flag first, which moves it to the foot
    of the list. A's mark must still land on the flag A chose, never on the one now at the top."""
    app = open_page(clinic_db, monkeypatch, "follow_up")
    app.selectbox(key="follow_up_flag").select_index(0)
    con = database.connect(clinic_db)
    chosen, next_one = follow_up.flags(con).iloc[0], follow_up.flags(con).iloc[1]
    follow_up.mark(con, chosen.patient_id, int(chosen.assessment_day), "contacted", "b@clinic.example", "director")
    con.close()
    app.radio(key="follow_up_outcome").set_value("escalated")
    next(b for b in app.button if b.label == "Record the follow-up").click().run()
    assert not app.exception, [e.value for e in app.exception]
    mine = [m for m in marks(clinic_db) if m[3] != "b@clinic.example"]
    assert [m[:3] for m in mine] == [(chosen.patient_id, chosen.assessment_day, "escalated")]
    assert (next_one.patient_id, next_one.assessment_day) not in {m[:2] for m in mine}


def test_a_flag_that_left_the_list_before_submitting_is_not_marked_in_its_place(clinic_db, monkeypatch):
    """Open flags only: the flag A chose is marked by B meanwhile and leaves A's list. A's submit records nothing
    (on no other patient either) and asks A to choose again."""
    app = open_page(clinic_db, monkeypatch, "follow_up")
    app.toggle(key="follow_up_only_open").set_value(True).run()
    app.selectbox(key="follow_up_flag").select_index(0)
    con = database.connect(clinic_db)
    chosen = follow_up.flags(con, only_open=True).iloc[0]
    follow_up.mark(con, chosen.patient_id, int(chosen.assessment_day), "contacted", "b@clinic.example", "director")
    con.close()
    app.radio(key="follow_up_outcome").set_value("escalated")
    next(b for b in app.button if b.label == "Record the follow-up").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert marks(clinic_db) == [(chosen.patient_id, chosen.assessment_day, "contacted", "b@clinic.example")]
    assert any(w.value.startswith("Choose a flag") for w in app.warning)


# Notes on the charts -------------------------------------------------------------------------------------

def test_a_note_is_refused_when_it_looks_like_an_identifier_and_kept_with_its_audit_row_otherwise(con, export):
    ingest_file(con, export("sessions.csv", "patient_id,session_day,status,route\nKP77,0,completed,IV\n"))
    for label, reason in (("", "needs a short label"), ("x" * 61, "at most 60"), ("ask jane@clinic.example", "email"),
                          ("call 555-123-4567", "phone"), ("after KP77's review", "patient id"),
                          ("review of KP77#1", "patient id"), ("kp77 moved site", "patient id"),
                          ("KP77/notes", "patient id"), ("Dr. Okafor's protocol", "names a person"),
                          ("asked by Mrs Patel", "names a person"),
                          ("tab\there", None)):
        if reason is None:  # a tab is whitespace: collapsed, not refused
            continue
        with pytest.raises(chart_notes.NoteRefused, match=reason):
            chart_notes.record(con, date(2025, 3, 1), label, True, "dee@clinic.example", "director")
    with pytest.raises(chart_notes.NoteRefused, match="after today"):
        chart_notes.record(con, date.today() + timedelta(days=1), "new protocol", True, "dee@clinic.example", "director")
    assert con.execute("select count(*) from chart_notes").fetchall() == [(0,)]
    assert con.execute("select count(*) from audit_log where action = 'note'").fetchall() == [(0,)]
    # A process's own words pass: a route, a site, a version number, "Dr-led".
    for label in ("IV protocol v2.1", "moved to Riverside", "Dr-led sessions", "MS clinic opened"):
        assert chart_notes.clean_label(con, label) == label
    note = chart_notes.record(con, date(2025, 3, 1), "  new   dosing protocol ", True, "dee@clinic.example", "director")
    kept = chart_notes.notes(con)
    assert kept[["label", "recalculate_limits", "recorded_by"]].values.tolist() == [
        ["new dosing protocol", True, "dee@clinic.example"]]
    chart_notes.take_back(con, note, "ana@clinic.example", "analyst")
    assert chart_notes.notes(con).empty
    assert con.execute("select role, detail from audit_log where action = 'note' order by logged_at").fetchall() == [
        ("director", "process change 2025-03-01: new dosing protocol (limits recalculated from it)"),
        ("analyst", "taken back: process change 2025-03-01: new dosing protocol")]


def test_a_process_change_splits_the_p_chart_into_phases_with_their_own_limits():
    """Quarters 1-3 of 2024: 10, 12, 8 of 20 (p = 0.5); a new protocol on 2024-09-15 starts the limits again at
    2024-Q4 (the first quarter starting on or after it): 16, 18, 14 of 20 (p = 0.8)."""
    periods = ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
    frame = pd.DataFrame({"period": periods, "k": [10, 12, 8, 16, 18, 14], "n": [20] * 6})
    changes = pd.DataFrame({"change_date": [date(2024, 9, 15)], "label": ["new protocol"], "recalculate_limits": [True]})
    assert chart_notes.breaks(changes, periods) == ["2024-Q4"]
    chart = quality.p_chart(frame, "period", "k", "n", breaks=chart_notes.breaks(changes, periods))
    assert chart.centre.round(6).tolist() == [0.5] * 3 + [0.8] * 3
    assert chart.upper.round(4).tolist() == [round(0.5 + 3 * math.sqrt(0.25 / 20), 4)] * 3 + [1.0] * 3
    assert chart.lower.round(4).tolist() == [round(0.5 - 3 * math.sqrt(0.25 / 20), 4)] * 3 + [
        round(0.8 - 3 * math.sqrt(0.16 / 20), 4)] * 3
    whole = quality.p_chart(frame, "period", "k", "n")
    assert whole.centre.round(6).unique().tolist() == [0.65]  # 78 of 120, without the note
    marked = figures.p_chart(chart, "t", "quarter", notes=chart_notes.placed(changes, periods))
    (line,) = [s for s in marked.layout.shapes if s.type == "line"]
    assert (line.x0, line.x1) == (2.5, 2.5)  # between 2024-Q3 and 2024-Q4
    assert [a.text for a in marked.layout.annotations] == ["new protocol<br>(limits recalculated)"]
    # A change from before the data: marked at the start, the limits the same, and no claim they were recalculated.
    early = changes.assign(change_date=[date(2023, 6, 1)])
    assert chart_notes.breaks(early, periods) == []
    assert quality.p_chart(frame, "period", "k", "n", breaks=chart_notes.breaks(early, periods)).centre.round(6).unique(
        ).tolist() == [0.65]
    marked = figures.p_chart(whole, "t", "quarter", notes=chart_notes.placed(early, periods))
    assert [(a.x, a.text) for a in marked.layout.annotations] == [(-0.5, "new protocol")]


def test_a_note_recorded_on_quality_review_marks_the_p_chart_and_is_listed_on_trajectories(clinic_db, monkeypatch):
    app = open_page(clinic_db, monkeypatch, "quality_review")
    app.radio(key="quality_period").set_value("quarter").run()
    app.date_input(key="notes_date").set_value(date(2024, 12, 20))
    app.text_input(key="notes_label").set_value("<b>new</b> [dosing](https://x.example) protocol")
    next(b for b in app.button if b.label == "Record the note").click().run()
    assert not app.exception, [e.value for e in app.exception]
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    (text,) = [a["text"] for a in spec["layout"]["annotations"] if "protocol" in a["text"]]
    assert text == "&lt;b&gt;new&lt;/b&gt; [dosing](https://x.example) protocol<br>(limits recalculated)"
    # The limits start again at 2025-Q1: each phase's centre is its closed quarters' responders over scored.
    # The headline cohort, as the Quality review and the pack count it: cases at baseline (PHQ-9 10 or more).
    quarters = marts.cohort_comparison(database.connect(clinic_db, read_only=True), "PHQ-9", by="start_quarter",
                                         cohort=Cohort(min_baseline=10))
    closed = quarters[(quarters.group_value != "unknown") & (quarters.n_evaluable == quarters.n_series)
                      & (quarters.n_scored > 0)]
    mean = next(t for t in spec["data"] if t.get("name") == "mean")
    centres = dict(zip(decoded(mean["x"]), decoded(mean["y"])))
    before, after = closed[closed.group_value < "2025-Q1"], closed[closed.group_value >= "2025-Q1"]
    # Drawn to whole percents under rounding (docs/metrics.md, Small cells, rule 4).
    assert round(centres[before.group_value.iloc[0]], 6) == round(before.responders.sum() / before.n_scored.sum(), 2)
    assert round(centres[after.group_value.iloc[0]], 6) == round(after.responders.sum() / after.n_scored.sum(), 2)
    assert any("Process changes recorded" in c.value and "\\<b\\>new" in c.value for c in app.caption)
    app.switch_page("app_pages/trajectories.py").run()
    assert any("2024-12-20" in c.value and "protocol" in c.value for c in app.caption)
    app.switch_page("app_pages/quality_review.py").run()
    app.text_input(key="notes_label").set_value("write to jane@clinic.example")
    app.date_input(key="notes_date").set_value(date(2025, 1, 5))
    next(b for b in app.button if b.label == "Record the note").click().run()
    assert any("email" in e.value for e in app.error)
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    assert not any(b.label == "Record the note" for b in app.button)


def test_a_hostile_note_label_stays_text_on_trajectories_quality_review_and_in_the_pack(clinic_db, monkeypatch):
    """A formula, a markdown link and markup in one label: each place that shows it shows the characters."""
    label = "=1+1 [dosing](https://x.example) <b>x</b>"
    con = database.connect(clinic_db)
    chart_notes.record(con, date(2024, 12, 20), label, False, "dee@clinic.example", "director")
    text = pack.html_pack(con, instrument="PHQ-9", period=pack.parse_period("2024-Q4"))
    con.close()
    assert "=1+1 [dosing](https://x.example) &lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
    for page in ("trajectories", "quality_review"):
        app = open_page(clinic_db, monkeypatch, page)
        (caption,) = [c.value for c in app.caption if "Process changes recorded" in c.value]
        assert unescaped(caption).endswith(f"2024-12-20: {label}.")
        assert "[dosing](" not in caption and "<b>" not in caption  # every mark escaped: shown, not followed
    spec = json.loads(next(c for c in app.get("plotly_chart")).proto.spec)
    (note,) = [a["text"] for a in spec["layout"]["annotations"] if "dosing" in a["text"]]
    assert note == "=1+1 [dosing](https://x.example) &lt;b&gt;x&lt;/b&gt;"


def test_the_pack_lists_the_notes_escaped_and_the_follow_up_counts(clinic_db):
    con = database.connect(clinic_db)
    chart_notes.record(con, date(2024, 12, 20), "<i>new</i> protocol", True, "dee@clinic.example", "director")
    flags = follow_up.flags(con)
    for row in flags.head(12).itertuples():
        follow_up.mark(con, row.patient_id, int(row.assessment_day), "contacted", "dee@clinic.example", "director")
    text = pack.html_pack(con, instrument="PHQ-9", period=pack.parse_period("2024-Q4"))
    con.close()
    assert "2024-12-20: &lt;i&gt;new&lt;/i&gt; protocol (limits recalculated" in text
    assert "<i>new</i>" not in text
    # Counts as every count is shown: rounded to 5 (12 reads 15).
    assert f"<tr><th>open</th><td class=\"count\">{suppress.count_text(len(flags) - 12, 11)}</td></tr>" in text
    assert "<tr><th>contacted</th><td class=\"count\">15</td></tr>" in text


def test_the_expected_range_leaves_a_gap_where_too_few_similar_series_were_scored():
    scores = pd.DataFrame({"instrument": "PHQ-9", "week": [0, 1, 2], "score": [16, 14, 10],
                           "band": ["moderately severe", "moderate", "moderate"]})
    expected = pd.DataFrame({"week": [0, 1, 3], "n_series": [20, 15, 12], "low": [14, 12, 8], "median": [16, 14, 10],
                             "high": [18, 16, 12]})  # week 2: fewer than min_cell_size
    bands = pd.DataFrame({"band_min": [0, 10], "band_max": [9, 27], "band": ["below", "<b>above</b>"]})
    figure = figures.series_scores(scores, bands, "PHQ-9", 27, expected, response_at=8)
    median = next(t for t in figure.data if t.name and t.name.startswith("expected"))
    assert list(median.x) == [0, 1, 2, 3] and math.isnan(median.y[2]) and list(median.y[:2]) == [16, 14]
    assert [a.text for a in figure.layout.annotations if "above" in a.text] == ["&lt;b&gt;above&lt;/b&gt;"]


def test_the_expected_range_draws_a_week_only_with_min_cell_size_similar_series(con):
    # Closed series with baseline 20: week 0 11 of them (score 20), week 1 ten (four at 10, six at 15), week 2
    # eleven (score 12). At the clinic's 11 week 1 is not drawn; at 10 it is, its middle half 10 to 15.
    marts.build(con)
    counts = pd.DataFrame({"baseline_score": [20, 20, 20, 20], "week": [0, 1, 1, 2], "score": [20, 10, 15, 12],
                           "n_series": [11, 4, 6, 11]})
    shown = series.expected_range(con, "X#1", "PHQ-9", 20, counts)
    assert shown.week.tolist() == [0, 2] and shown.n_series.tolist() == [11, 11]
    con.execute("insert or replace into setting_overrides values ('min_cell_size', 10)")
    shown = series.expected_range(con, "X#1", "PHQ-9", 20, counts)
    assert shown.week.tolist() == [0, 1, 2]
    assert shown[shown.week == 1][["n_series", "low", "median", "high"]].values.tolist() == [[10, 10, 15, 15]]
