"""Guards every dashboard page through Streamlit's AppTest: it renders with default filters and after a
filter change, the numbers it shows are the marts' numbers, suppressed cells never show a count from 1
to 10, and empty databases, empty cohorts, meeting mode and uploads behave as a user expects."""

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, SAMPLE_FILES, ingest_summary, open_app, shown
from ketamine_outcomes.dashboard import tables
from ketamine_outcomes.metrics import declarations, marts
from ketamine_outcomes.store import database
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics.marts import Cohort
from ketamine_outcomes.ingest.pipeline import ingest_file

ENTRY = str(ROOT / "dashboard" / "app.py")
PAGES = ["overview", "trajectories", "response", "compare", "durability", "quality_review", "safety", "data", "definitions"]
CHART_PAGES = {"overview": 3, "trajectories": 1, "response": 3, "compare": 3, "durability": 3, "quality_review": 1, "safety": 5}
COUNT_COLUMNS = ("Series scored", "Series paired", "Responders", "Remitters", "Series", "Series evaluable", "Events",
                 "Sessions", "Sessions measured", "High systolic peaks", "Courses finished", "Cases at baseline", "Recovered",
                 "Reliably improved", "Reliably recovered", "Reliably deteriorated", "PHQ-9 fell 5 or more",
                 "Series with boosters", "Re-inducted", "Completed induction", "Within window",
                 "Sessions with pre and peak", "Rises", "Sessions with a pre-dose reading", "Raised before dosing",
                 "Series meeting it")


def page_warnings(app: AppTest) -> list[str]:
    """The page's warnings but the stale-data one (the sample clinic's data is from 2025: every page warns)."""
    return [w.value for w in app.warning if not w.value.startswith("The data is ")]


def left_out_of_n(note: str, instrument: str) -> tuple[str, str]:
    """What the Response page's "Not in that n" says is left out of the evaluable n, as shown (a count, or "a
    hidden number of"): (series whose window is still open, series without a baseline on `instrument`)."""
    found = re.search(rf"Not in that n: (.+?) series whose window is still open .*?(\S+) series without a "
                      rf"{re.escape(instrument)} baseline", note)
    return found.groups()


def read(column: pd.Series) -> dict:
    """A table column as a reader sees it, a rate without its % sign: a column with a hidden cell holds words
    (tables.cell_keys: "hidden", "1,234", "46%" after a rank that reads as nothing); another its numbers."""
    return {k: "hidden" if pd.isna(v) else tables.cell_words(v).removesuffix("%") if isinstance(v, str)
            else f"{int(v):,}" for k, v in column.items()}


def as_numbers(column: pd.Series) -> pd.Series:
    """A table column's numbers as shown, a hidden or "—" cell missing (words or numbers alike)."""
    def number(v):
        if isinstance(v, str):
            words = tables.cell_words(v)
            return float("nan") if words in ("hidden", "—") else float(words.rstrip("%").replace(",", ""))
        return v
    return column.map(number).astype("float64")


def expected(db: Path, function, *args, **kwargs):
    """A mart's value through the same kind of connection the app uses."""
    con = database.connect(db)
    try:
        return function(con, *args, **kwargs)
    finally:
        con.close()


def chart_traces(app: AppTest, index: int) -> list[dict]:
    spec = json.loads(app.get("plotly_chart")[index].proto.spec)

    def decode(values):
        if isinstance(values, dict) and "bdata" in values:
            return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
        return values

    return [{k: decode(v) for k, v in trace.items()} for trace in spec["data"]]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_default_and_changed_filters(clinic_db, monkeypatch, page):
    app = open_app(clinic_db, monkeypatch, page)
    assert not app.exception, [e.value for e in app.exception]
    assert len(app.get("plotly_chart")) >= CHART_PAGES.get(page, 0)
    app.multiselect(key="filters_routes").set_value(["IV"]).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.multiselect(key="filters_routes").value == ["IV"]


def test_overview_tiles_are_the_marts_numbers(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch)
    activity = expected(clinic_db, marts.activity).iloc[0]
    # Counts to the nearest 5 under suppression (648 series read 650), rates from the exact counts.
    assert [m.value for m in app.metric][:4] == [f"{suppress.rounded(int(n), 11):,}" for n in (
        activity.n_series, activity.n_active_series, activity.n_patients, activity.n_sessions)]
    assert all(int(m.value.replace(",", "")) % 5 == 0 for m in app.metric[:4])
    # End of induction: series at or above caseness at baseline (PHQ-9 >= 10), the headline default.
    rates = expected(clinic_db, marts.cohort_comparison, "PHQ-9", cohort=Cohort(min_baseline=10)).iloc[0]
    assert [m.value for m in app.metric][4:8] == [f"{rates[c]:.0%}" for c in (
        "response_rate", "remission_rate", "itt_response_rate", "itt_remission_rate")]


def test_overview_tiles_of_a_hidden_few_series_hide_their_zeros_too(clinic_db, monkeypatch):
    # Clinician N02: 8 series, 8 patients, 9 sessions, none active. "0 active series" beside a hidden number of
    # series would say none of those few is still being treated: it reads hidden, as the counts do.
    activity = expected(clinic_db, marts.activity, Cohort(clinicians=("N02",))).iloc[0]
    assert (activity.n_series, activity.n_active_series) == (8, 0)
    app = open_app(clinic_db, monkeypatch)
    app.multiselect(key="filters_clinicians").set_value(["N02"]).run()
    assert [m.value for m in app.metric][:4] == ["hidden"] * 4


def test_filters_are_kept_across_pages_and_change_the_numbers(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "safety")
    app.multiselect(key="filters_sites").set_value(["Northside"]).run()
    app.switch_page("app_pages/overview.py").run()
    assert app.multiselect(key="filters_sites").value == ["Northside"]
    activity = expected(clinic_db, marts.activity, Cohort(sites=("Northside",))).iloc[0]
    assert app.metric[0].value == f"{suppress.rounded(int(activity.n_series), 11):,}"
    assert any("site: Northside" in shown(c.value) for c in app.caption)


def test_trajectory_points_are_the_weekly_means(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "trajectories")
    weekly = expected(clinic_db, marts.weekly_outcomes, "PHQ-9")
    visible = weekly.n_scored >= 11
    line = next(t for t in chart_traces(app, 0) if t.get("name") == "all series")
    # Every week keeps its place; a hidden week has no value (the line breaks) and no n label.
    assert list(line["x"]) == weekly.week.tolist()
    drawn = np.array([np.nan if y is None else y for y in line["y"]], dtype=float)
    # Each mean to one decimal, as shown under rounded counts: to full precision, total / n gives n back.
    assert np.allclose(drawn[visible.to_numpy()], weekly.mean_score[visible].round(1), rtol=0, atol=1e-9)
    assert not np.allclose(weekly.mean_score[visible], weekly.mean_score[visible].round(1), rtol=0, atol=1e-9)
    assert np.isnan(drawn[~visible.to_numpy()]).all()
    # The n under each point as counts are shown: rounded to 5 (449 reads n=450).
    assert line["text"] == [f"n={suppress.rounded(n, 11)}" if shown else "" for n, shown in zip(weekly.n_scored, visible)]


@pytest.mark.slow
def test_suppressed_cells_never_show_a_count_from_1_to_10(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch)
    app.multiselect(key="filters_sites").set_value(["Lakeview"]).run()
    app.multiselect(key="filters_routes").set_value(["IM"]).run()
    small = {str(n) for n in range(1, 11)}
    for page in PAGES:
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception
        assert not small & {m.value for m in app.metric}, page
        if page == "data":
            continue  # the analysts' own upload results and batch history are not meeting material
        for frame in app.dataframe:
            table = frame.value
            assert not any("_" in str(c) for c in table.columns), (page, list(table.columns))  # human headers
            for column in set(COUNT_COLUMNS) & set(table.columns):
                # A column with a hidden cell holds words (tables.cell_keys): "hidden", "—", or a number's words
                # after its rank, which read as nothing; another holds its numbers.
                values = {tables.cell_words(v).replace(",", "") if isinstance(v, str) else str(int(v))
                          for v in table[column].dropna()}
                assert not small & values, (page, column)


@pytest.mark.slow
def test_meeting_mode_hides_patient_level_rows_and_forces_suppression(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "safety")
    assert any("Item 9 answer" in frame.value.columns for frame in app.dataframe)
    app.number_input(key="filters_min_cell").set_value(0).run()
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    assert not any("Item 9 answer" in frame.value.columns for frame in app.dataframe)
    assert any("Hidden in meeting mode" in c.value for c in app.caption)
    assert any("counts under 11 suppressed" in c.value for c in app.caption)


def test_meeting_mode_shows_the_data_page_without_uploader_undo_or_audit_trail(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "data")
    assert len(app.get("file_uploader")) == 1 and any(s.value == "Audit trail" for s in app.subheader)
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    assert app.get("file_uploader") == [] and not any(s.value == "Audit trail" for s in app.subheader)
    assert any(s.value == "Batch history" for s in app.subheader) and not app.exception


def test_safety_item9_list_ignores_the_filters_and_the_trend_figures_are_the_marts(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "safety")
    flags = expected(clinic_db, marts.item9_flags)
    assert (~flags.is_in_series).sum() > 0  # the sample holds screening PHQ-9s before any series

    def flag_table():
        return next(f.value for f in app.dataframe if "Item 9 answer" in f.value.columns)

    table = flag_table()
    assert len(table) == len(flags) and (~table["In a series"]).sum() == (~flags.is_in_series).sum()
    assert {"Site", "Clinician", "Date"} <= set(table.columns) and "Day" not in table.columns  # a dated export
    assert any("whatever the filters in the sidebar" in shown(c.value) for c in app.caption)
    app.multiselect(key="filters_sites").set_value(["Northside"]).run()
    assert len(flag_table()) == len(flags)
    # The walk: filtered to one site, the list's file carried that site in its name while holding every site's flags.
    # Its caption, its file's name and (the button's help) its first line all say it is the whole clinic's.
    assert any(shown(c.value).replace("**", "").startswith(f"Whole clinic, not filtered: {len(flags):,} PHQ-9 answers")
               for c in app.caption)
    button = next(b for b in app.get("download_button") if "item-9-flags" in b.proto.help)
    assert shown(button.proto.help).startswith(
        "`item-9-flags_PHQ-9_whole-clinic-not-filtered_patient-level-exact-counts.csv`, its first line naming what it "
        "follows: PHQ-9 · whole clinic, not filtered · patient-level, exact counts.")
    # Above the list, the counts that do follow the filters: the pack's (the same panel), Northside's series only.
    answers = expected(clinic_db, marts.item9_cohort_answers, Cohort(sites=("Northside",)))
    assert 0 < len(answers) < len(flags)
    line = next(shown(m.value) for m in app.markdown if "In the series of these filters" in m.value)
    assert line.startswith(f"**In the series of these filters**: {suppress.count_text(len(answers), 11)} PHQ-9 answers "
                           f"with item 9 of 1 or more ({suppress.count_text(int(answers.is_rise.sum()), 11)} higher "
                           f"than at the series' baseline), from {suppress.count_text(answers.patient_id.nunique(), 11)} "
                           "patients")
    # The other tables follow the site filter, and name it; blood pressure has no instrument to name, item 9 over the
    # induction is PHQ-9's whatever the sidebar's instrument (Northside has no CADSS table: no CADSS scores).
    names = sorted(b.proto.help.split("`")[1] for b in app.get("download_button") if "item-9-flags" not in b.proto.help)
    assert names == ["blood-pressure_site-Northside_suppressed-under-11-rounded-to-5.csv",
                     "item-9-over-the-induction_PHQ-9_site-Northside_suppressed-under-11-rounded-to-5.csv"]
    course = suppress.for_chart(expected(clinic_db, marts.item9_course, cohort=Cohort(sites=("Northside",))),
                                "item9_course", 11)
    shown_course = next(f.value for f in app.dataframe if "Series meeting it" in f.value.columns)
    assert as_numbers(shown_course["Series"]).fillna(-1).tolist() == course.n_series.fillna(-1).tolist()
    assert (as_numbers(shown_course["Share %"]).fillna(-1).tolist()
            == (course.measure_rate * 100).round(0).fillna(-1).tolist())  # whole percents under rounding
    # The sample rates CADSS at Lakeview only: at Northside the chart gives way to a sentence.
    assert not any("CADSS" in json.loads(c.proto.spec)["layout"]["title"]["text"] for c in app.get("plotly_chart"))
    assert any("No CADSS scores" in i.value for i in app.info)


@pytest.mark.slow
def test_safety_cadss_chart_is_the_mean_by_session_number_with_its_n(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "safety")
    index = next(i for i, c in enumerate(app.get("plotly_chart"))
                 if "CADSS" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    rows = suppress.for_chart(expected(clinic_db, marts.dissociation), "dissociation", 11)
    line = next(t for t in chart_traces(app, index) if t["name"] == "all")
    assert list(line["x"]) == rows.session_number.tolist()
    drawn = np.array([np.nan if y is None else y for y in line["y"]], dtype=float)
    assert np.allclose(drawn, rows.mean_score.astype(float), equal_nan=True)
    labels = [a["text"] for a in json.loads(app.get("plotly_chart")[index].proto.spec)["layout"]["annotations"]]
    # "n=..." over at most six sessions, every step-th (twelve ran into one another on a phone); every session's n
    # is in its hover.
    step = -(-len(rows) // 6)
    assert [t for t in labels if t.startswith("n=")] == [
        f"n={int(n):,}" for k, (n, m) in enumerate(zip(rows.n_sessions, rows.mean_score)) if k % step == 0
        and not pd.isna(m)]
    assert [None if v != v else v for v in line["customdata"]] == [None if pd.isna(n) else n for n in rows.n_sessions]
    app.selectbox(key="safety_cadss_by").set_value("route").run()
    names = {t["name"] for t in chart_traces(app, index)}
    assert {"IV", "intranasal"} <= names


@pytest.mark.slow
def test_meeting_mode_offers_no_download_but_the_suppressed_pack(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "data")
    assert len(app.get("download_button")) >= 6  # the analysts' unsuppressed mart files
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    assert app.get("download_button") == []
    assert any("Hidden in meeting mode" in c.value for c in app.caption)
    for page in PAGES:
        app.switch_page(f"app_pages/{page}.py").run()
        labels = [b.proto.label for b in app.get("download_button")]
        assert labels == (["Meeting pack (HTML)"] if page == "quality_review" else []), page


def plain(shown: str) -> str:
    """Text as the reader sees it: export text reaches the page markdown-escaped (safe_text.markdown)."""
    return re.sub(r"\\(.)", r"\1", shown)


def test_an_empty_database_explains_what_to_do(tmp_path, monkeypatch):
    db = tmp_path / "empty.duckdb"
    database.connect(db).close()
    app = open_app(db, monkeypatch)
    assert not app.exception
    assert "holds no treatment series yet" in app.info[0].value


@pytest.mark.slow
def test_filters_that_leave_nothing_say_so(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch)
    app.number_input(key="filters_min_baseline").set_value(27).run()
    app.multiselect(key="filters_sites").set_value(["Lakeview"]).run()
    app.multiselect(key="filters_routes").set_value(["oral"]).run()
    for page in ("overview", "trajectories", "response", "compare", "durability", "quality_review"):
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, page
        assert any("No treatment series match" in w.value for w in app.warning), page


@pytest.mark.slow
def test_upload_on_the_data_page_fills_an_empty_database(tmp_path, monkeypatch):
    db = tmp_path / "new.duckdb"
    database.connect(db).close()
    app = open_app(db, monkeypatch, "data")
    files = [(p.name, p.read_bytes(), "text/csv") for p in SAMPLE_FILES]
    app.file_uploader(key="data_upload").set_value(files).run()
    assert not app.exception, [e.value for e in app.exception]
    assert [plain(s.value).split(":")[0] for s in app.success] == [p.name for p in SAMPLE_FILES]
    app.switch_page("app_pages/overview.py").run()
    activity = expected(db, marts.activity).iloc[0]
    assert app.metric[2].value == f"{int(activity.n_patients):,}" == "600"


def test_a_malformed_upload_shows_each_rejected_line_and_why(tmp_path, monkeypatch):
    db = tmp_path / "new.duckdb"
    database.connect(db).close()
    app = open_app(db, monkeypatch, "data")
    bad = b"patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,30\nP2,0,BDI,10\nP3,0,PHQ-9,12\n"
    app.file_uploader(key="data_upload").set_value([("bad.csv", bad, "text/csv")]).run()
    assert "1 inserted" in app.warning[0].value and "2 rejected" in app.warning[0].value
    assert len(app.warning) == 1  # one summary per file
    rejects = app.dataframe[0].value
    # (column, lines, the line and its value); the reason names what was wrong.
    assert [(r[0], r[2], r[3]) for r in rejects.values.tolist()] == [("score", 1, "line 2: '30'"),
                                                                   ("instrument", 1, "line 3: 'BDI'")]
    assert rejects.values[0][1].startswith("score out of range") and rejects.values[1][1].startswith("unknown instrument")
    refused = b"patient_id,email,session_day,route\nP1,a@b.org,0,IV\n"
    app.file_uploader(key="data_upload").set_value([("people.csv", refused, "text/csv")]).run()
    assert any("refused, nothing stored" in plain(e.value) and "'email'" in plain(e.value) for e in app.error)


def test_an_upload_reads_slash_dates_in_the_order_the_analyst_chose(tmp_path, monkeypatch):
    db = tmp_path / "new.duckdb"
    database.connect(db).close()
    app = open_app(db, monkeypatch, "data")
    app.selectbox(key="data_date_format").set_value("Day first: DD/MM/YYYY").run()
    sessions = b"patient_id,session_date,route\nP1,03/04/2024,IV\nP1,05/04/2024,IV\n"
    app.file_uploader(key="data_upload").set_value([("s.csv", sessions, "text/csv")]).run()
    assert "2 inserted" in app.success[0].value
    with database.open_file(db, read_only=True) as con:
        assert con.execute("select min(session_date)::varchar, max(session_date)::varchar from sessions"
                           ).fetchall() == [("2024-04-03", "2024-04-05")]


def test_quality_review_p_chart_by_quarter_plots_the_marts_rates(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "quality_review")
    # By month every month of the sample clinic is hidden: the chart is a sentence, not an empty frame.
    app.radio(key="quality_period").set_value("month").run()
    assert any(i.value.startswith("No month has enough evaluable series to chart") for i in app.info)
    assert not app.get("plotly_chart")
    # Nothing charted: no signal can be judged (not "none", which would call the months common cause).
    said = [m.value for m in app.markdown]
    # The wording is the point: "cannot be judged" is what a meeting must read here.
    assert "No signal can be judged: no month has enough series to show (small-cell suppression)." in said
    assert not any("common cause" in m for m in said)
    app.radio(key="quality_period").set_value("quarter").run()
    assert not app.exception
    # The headline cohort, as on the Overview and in the pack: cases at baseline (PHQ-9 10 or more).
    quarters = expected(clinic_db, marts.cohort_comparison, "PHQ-9", by="start_quarter", cohort=Cohort(min_baseline=10))
    quarters = quarters[(quarters.group_value != "unknown") & (quarters.n_scored > 0)]
    # Every quarter has at least 11 series scored, responding and not responding: all are drawn, the closed ones on
    # the line, the one still being scored apart.
    closed = quarters[quarters.n_evaluable == quarters.n_series]
    rate_line = next(t for t in chart_traces(app, 0) if t.get("name") == "rate")
    assert list(rate_line["x"]) == closed.group_value.tolist()
    # Drawn to whole percents under rounding (docs/metrics.md, Small cells, rule 3).
    assert [round(r, 6) for r in rate_line["y"]] == [round(r, 2) for r in closed.response_rate]
    still_open = next(t for t in chart_traces(app, 0) if t.get("name", "").startswith("still open"))
    assert list(still_open["x"]) == ["2025-Q3"]
    assert round(still_open["y"][0], 6) == round(quarters.response_rate.iloc[-1], 2)


@pytest.mark.slow
def test_quality_review_by_month_draws_nothing_a_hidden_month_could_be_solved_from(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "quality_review")
    # At the default 11 every month of the sample clinic is hidden; at 6 some are shown and some are not.
    app.number_input(key="filters_min_cell").set_value(6).run()
    app.radio(key="quality_period").set_value("month").run()
    months = expected(clinic_db, marts.cohort_comparison, "PHQ-9", by="start_month", cohort=Cohort(min_baseline=10))
    months = months[(months.group_value != "unknown") & (months.n_scored > 0)].reset_index(drop=True)

    def small(v):
        return 0 < v < 6

    hidden = [small(n) or small(k) or small(n - k) for n, k in zip(months.n_scored, months.responders)]
    if hidden.count(True) == 1:  # the clinic's total minus the shown months would give it: one more goes
        hidden[months.n_scored.where(~pd.Series(hidden)).idxmin()] = True
    traces = chart_traces(app, 0)
    rate_line = next(t for t in traces if t.get("name") == "rate")
    assert [y is None or y != y for y in rate_line["y"]] == hidden
    for limit in (traces[0], traces[1]):  # the upper and lower control limits
        assert [y is None or y != y for y in limit["y"]] == hidden
    shown = months[[not h for h in hidden]]
    assert 0 < len(shown) < len(months)
    centre = next(t for t in traces if t.get("name") == "mean")["y"][0]
    assert round(centre, 6) == round(shown.responders.sum() / shown.n_scored.sum(), 6)
    assert f"{sum(hidden)} of {len(months)} months hidden" in " ".join(c.value for c in app.caption)
    # The choice survives a visit to another page (the radio's own state does not).
    app.switch_page("app_pages/overview.py").run()
    app.switch_page("app_pages/quality_review.py").run()
    assert app.radio(key="quality_period").value == "month"


def test_minimum_baseline_keeps_the_overview_filled(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch)
    app.number_input(key="filters_min_baseline").set_value(10).run()
    activity = expected(clinic_db, marts.activity, Cohort(min_baseline=10, baseline_instrument="PHQ-9")).iloc[0]
    assert 0 < activity.n_series < expected(clinic_db, marts.activity).iloc[0].n_series
    assert app.metric[0].value == f"{suppress.rounded(int(activity.n_series), 11):,}"
    assert not page_warnings(app)


def test_quality_review_explains_exports_without_dates(tmp_path, monkeypatch, export):
    db = tmp_path / "days.duckdb"
    sessions = export("s.csv", "patient_id,session_day,route\n" + "\n".join(
        f"P{p},{d}" + ",IV" for p in range(12) for d in (0, 2, 4, 7, 9, 11)) + "\nP99,200,IV\n")
    outcomes = export("o.csv", "patient_id,assessment_day,instrument,score\n" + "\n".join(
        f"P{p},0,PHQ-9,20\nP{p},14,PHQ-9,{8 if p % 2 else 15}" for p in range(12)) + "\n")
    from ketamine_outcomes.ingest.pipeline import ingest_files
    ingest_files(db, [sessions, outcomes])
    app = open_app(db, monkeypatch, "quality_review")
    assert not app.exception
    assert "day offsets instead of dates" in app.info[0].value
    app.switch_page("app_pages/overview.py").run()
    assert app.metric[0].value == "15" and not app.exception  # 12 patients plus P99: 13, rounded to 5


def test_compare_draws_one_trajectory_per_site_shown_in_the_funnel(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "compare")
    # Charts: the raw funnel, the case-mix adjusted funnel (by site), then the trajectories.
    rates = expected(clinic_db, marts.cohort_comparison, "PHQ-9", by="site")
    lines = [t["name"] for t in chart_traces(app, 2) if t.get("mode") == "lines+markers+text"]
    assert lines == rates[rates.n_scored >= 11].group_value.tolist()
    northside = expected(clinic_db, marts.weekly_outcomes, "PHQ-9", Cohort(sites=("Northside",)))
    line = next(t for t in chart_traces(app, 2) if t.get("name") == "Northside")
    # Weeks 9 and 10 (under 11 series) are hidden between shown weeks: the line breaks there (a missing value,
    # not a straight segment across), without a point or an n label, and the gap is labelled. Week 11 (12 series)
    # is drawn: Lakeview's 7 that week is hidden, and the all-series n minus Northside's and Riverside's, all three
    # rounded to 5, gives it only give or take 7 (docs/metrics.md, Small cells: rounding, not a second hidden cell).
    assert list(line["x"]) == northside.week.tolist()
    drawn = [y is not None and y == y for y in line["y"]]
    assert drawn == (northside.n_scored >= 11).tolist()
    assert [t for t, d in zip(line["text"], drawn) if not d] == [""] * drawn.count(False)
    gaps = [a for a in json.loads(app.get("plotly_chart")[2].proto.spec)["layout"]["annotations"]
            if a.get("text") == "hidden"]
    assert sorted(a["x"] for a in gaps) == [9, 10]


def test_a_definitions_link_opens_its_card_first_with_the_setting_in_force(clinic_db, monkeypatch):
    with database.open_file(clinic_db) as con:
        con.execute("insert or replace into setting_overrides values ('response_fraction_phq9', 0.6)")
        marts.ensure_built(con)
    app = open_app(clinic_db, monkeypatch, "response")
    link = next(p for p in app.get("page_link") if p.proto.label == "How is response defined?")
    assert "card=response" in str(link.proto)
    app.query_params["card"] = "response"
    app.switch_page("app_pages/definitions.py").run()
    assert not app.exception
    assert app.subheader[0].value == "Response"
    assert "`response_fraction_phq9` = **0.6** (changed from the default, 0.5)" in app.markdown[2].value


def test_a_refused_upload_is_mapped_saved_and_the_mapping_reused(tmp_path, monkeypatch):
    db = tmp_path / "new.duckdb"
    database.connect(db).close()
    app = open_app(db, monkeypatch, "data")
    sessions = b"Client,Appt Dt,Route,Notes\nP1,2024-03-01,IV,x\nP1,2024-03-04,IV,\n"
    app.file_uploader(key="data_upload").set_value([("ehr.csv", sessions, "text/csv")]).run()
    assert "no patient_id column" in plain(app.error[0].value)
    key = "ehr.csv"  # the form's widgets are keyed by the file's name
    assert app.selectbox(key=f"data_map_header_{key}_1").value == "Appt Dt"  # the closest header is proposed
    app.selectbox(key=f"data_map_header_{key}_0").set_value("Client")
    app.text_input(key=f"data_map_name_{key}").set_value("EHR sessions").run()
    app.button(key=f"data_map_save_{key}").click().run()
    assert not app.exception
    assert "2 inserted" in plain(app.success[0].value)
    with database.open_file(db, read_only=True) as con:
        assert con.execute("select header, column_name from column_mappings order by 1").fetchall() == [
            ("Appt Dt", "session_date"), ("Client", "patient_id")]
    later = b"Client,Appt Dt,Route\nP2,2024-04-01,IM\n"
    app.selectbox(key="data_mapping").set_value("EHR sessions")
    app.file_uploader(key="data_upload").set_value([("ehr2.csv", later, "text/csv")]).run()
    said = "\n".join(plain(s.value) for s in app.success)
    assert {k: ingest_summary(said, "ehr2.csv")[k] for k in ("batch", "read", "inserted")} == {
        "batch": 2, "read": 1, "inserted": 1}


def test_below_the_clinics_threshold_the_view_is_labelled_internal_and_meeting_mode_never_is(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "overview")
    assert not page_warnings(app)  # the default: the clinic's threshold, no label
    app.number_input(key="filters_min_cell").set_value(5).run()
    assert "Internal view, not for circulation" in page_warnings(app)[0]
    assert any(shown(c.value).startswith("Filters: INTERNAL, not for circulation") for c in app.caption)
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    assert not page_warnings(app)
    assert not any("INTERNAL" in c.value for c in app.caption)


def open_link(db: Path, monkeypatch, page: str, **params) -> AppTest:
    """The dashboard opened from a link: /page?name=value&name=value (lists repeat the name)."""
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(db))
    app = AppTest.from_file(ENTRY, default_timeout=60)
    for name, value in params.items():
        app.query_params[name.replace("_", "-")] = value
    app.run()
    return app.switch_page(f"app_pages/{page}.py").run() if page != "overview" else app


def test_a_link_opens_its_view_and_what_it_cannot_use_is_named(clinic_db, monkeypatch):
    app = open_link(clinic_db, monkeypatch, "overview", instrument="GAD-7", site=["Northside", "Atlantis"],
                    min_baseline="8", first_series_only="true")
    assert not app.exception
    assert app.selectbox(key="filters_instrument").value == "GAD-7"
    assert app.multiselect(key="filters_sites").value == ["Northside"]
    assert app.number_input(key="filters_min_baseline").value == 8
    cohort = Cohort(sites=("Northside",), min_baseline=8, baseline_instrument="GAD-7", first_series_only=True)
    n_series = int(expected(clinic_db, marts.activity, cohort).iloc[0].n_series)
    assert app.metric[0].value == f"{suppress.rounded(n_series, 11):,}"
    assert any("site Atlantis" in w.value for w in app.sidebar.warning)


def test_the_view_is_written_to_the_link_and_page_choices_persist(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "compare")
    app.selectbox(key="compare_by").set_value("clinician").run()
    app.multiselect(key="filters_routes").set_value(["IV", "IM"]).run()
    assert app.query_params["by"] == "clinician" and app.query_params["route"] == ["IV", "IM"]
    app.switch_page("app_pages/overview.py").run()
    app.switch_page("app_pages/compare.py").run()
    assert app.selectbox(key="compare_by").value == "clinician"
    link = next(c for c in app.sidebar.code)
    assert link.value.endswith("/compare?route=IV&route=IM&by=clinician")


def test_durability_curves_are_the_marts_kaplan_meier_and_meeting_mode_cuts_them_at_11_at_risk(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "durability")
    assert not app.exception, [e.value for e in app.exception]
    app.number_input(key="filters_min_cell").set_value(0).run()
    sustained = expected(clinic_db, marts.sustained_response, "PHQ-9")
    line, at_risk = chart_traces(app, 0)[:2]
    assert sustained.day.iloc[0] == 0  # on the sample clinic the curve's first row is day 0: no start point added
    assert line["y"] == pytest.approx(sustained.survival.tolist()) and line["x"] == sustained.day.tolist()
    assert at_risk["text"][0] == str(sustained.n_at_risk.iloc[0])
    median = sustained.median_days.iloc[0]
    assert app.metric[0].value == f"{int(median)} days"
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    line, at_risk = chart_traces(app, 0)[:2]
    kept = suppress.survival_curve(sustained, 11)
    # The estimate itself, at the end of each week (and where it moved more than 4 points), to the last day with
    # 11 or more at risk; numbers at risk rounded to 5 (tests/test_disclosure.py checks it against lifelines).
    assert line["x"] == kept.day.tolist() and line["x"][-1] < sustained.day.max()
    assert line["y"] == pytest.approx(kept.survival.tolist())
    assert min(line["y"]) < 0.8  # not a flat 100%: responses were lost
    assert all(int(n) >= 15 and int(n) % 5 == 0 for n in at_risk["text"] if n)
    assert any("drawn at the end of each week" in c.value for c in app.caption)
    first = expected(clinic_db, marts.time_to_response, "PHQ-9")
    line = chart_traces(app, 1)[0]
    cut = suppress.survival_curve(first, 11)
    assert line["y"] == pytest.approx(cut.share_responded.tolist())
    assert all(int(n) % 5 == 0 for n in line["customdata"])  # the hover's numbers at risk are rounded too


def test_durability_renders_a_median_never_reached_and_one_curve_per_route(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "durability")
    # Unsuppressed: the sample's PCL-5 curve never has 11 losses of response in a step, so at 11 none is drawn.
    app.number_input(key="filters_min_cell").set_value(0).run()
    app.selectbox(key="filters_instrument").set_value("PCL-5").run()  # no PCL-5 median is reached (NA)
    assert not app.exception, [e.value for e in app.exception]
    last = int(expected(clinic_db, marts.sustained_response, "PCL-5").day.max())
    assert app.metric[0].value == f"> {last} days"  # a number; the words in its caption
    assert any(c.value.endswith(f"median not reached: the curve stays above half to day {last}") for c in app.caption)
    app.selectbox(key="filters_instrument").set_value("GAD-7").run()
    app.selectbox(key="durability_by").set_value("route").run()
    assert not app.exception, [e.value for e in app.exception]
    routes = expected(clinic_db, marts.sustained_response, "GAD-7", by="route").group_value.unique()
    assert len(routes) > 1
    assert [m.label for m in app.metric][:len(routes)] == [f"Median duration of response, {r}" for r in routes]


@pytest.mark.slow
def test_durability_says_so_when_suppression_leaves_no_step_of_the_curve(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "durability")
    app.selectbox(key="filters_instrument").set_value("GAD-7").run()
    app.multiselect(key="filters_sites").set_value(["Northside"]).run()
    app.multiselect(key="filters_routes").set_value(["IV"]).run()
    cohort = Cohort(sites=("Northside",), routes=("IV",))
    sustained = expected(clinic_db, marts.sustained_response, "GAD-7", cohort=cohort)
    # 18 responders at day 0, but fewer than 11 still followed by the first loss of response (day 10).
    assert sustained.n_at_risk.iloc[0] == 18 and (sustained[sustained.day > 0].n_at_risk < 11).all()
    assert app.metric[0].label == "Median duration of response" and app.metric[0].value == "hidden"
    assert any(i.value.startswith("No curve to draw") for i in app.info)
    assert len(app.get("plotly_chart")) == CHART_PAGES["durability"] - 1  # time to response still drawn


def test_safety_peak_chart_of_only_zero_or_hidden_routes_keeps_a_short_axis(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "safety")
    app.multiselect(key="filters_sites").set_value(["Northside"]).run()
    shown = suppress.for_chart(expected(clinic_db, marts.blood_pressure, cohort=Cohort(sites=("Northside",))),
                               "blood_pressure", 11)
    assert shown.high_peak_rate.isna().any() and (shown.high_peak_rate.dropna() == 0).all()  # Northside: hidden or 0
    specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    peaks = next(s for s in specs if s["layout"]["title"]["text"].startswith("Sessions with a systolic peak"))
    axis = peaks["layout"]["yaxis"]
    assert axis["range"] == [0, 0.01] and axis["dtick"] == 0.002  # 6 labels, not 0% to 100% in 0.2% steps


def test_overview_headline_counts_cases_at_baseline_by_default_and_the_filter_clears_it(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch)
    assert app.checkbox(key="filters_cases_only").value is True
    cases = expected(clinic_db, marts.cohort_comparison, "PHQ-9", by="all", cohort=Cohort(min_baseline=10)).iloc[0]
    every = expected(clinic_db, marts.cohort_comparison, "PHQ-9", by="all").iloc[0]
    assert cases.n_scored < every.n_scored  # the sample clinic has mild baselines: the default differs
    assert app.metric[4].value == f"{cases.response_rate:.0%}"
    assert any(f"n = {suppress.rounded(int(cases.n_scored), 11)}" in c.value for c in app.caption)
    assert any("PHQ-9 10 or more" in c.value for c in app.caption)
    subtitle = json.loads(app.get("plotly_chart")[0].proto.spec)["layout"]["title"]["subtitle"]["text"]
    assert "PHQ-9 baseline &gt;= 10" in subtitle  # the chart names the headline cohort (HTML-escaped for Plotly)
    app.checkbox(key="filters_cases_only").uncheck().run()
    assert any(f"n = {suppress.rounded(int(every.n_scored), 11)}" in c.value for c in app.caption)
    assert app.query_params["cases-only"] in ("false", ["false"])  # the link keeps it cleared
    app.checkbox(key="filters_cases_only").check().run()
    app.number_input(key="filters_min_baseline").set_value(15).run()  # a chosen minimum replaces caseness
    chosen = expected(clinic_db, marts.cohort_comparison, "PHQ-9", by="all", cohort=Cohort(min_baseline=15)).iloc[0]
    assert any(f"n = {suppress.rounded(int(chosen.n_scored), 11)}" in c.value for c in app.caption)


def test_response_page_shows_the_nhs_talking_therapies_measures_of_the_mart(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "response")
    nhs = expected(clinic_db, marts.talking_therapies).iloc[0]
    tiles = {m.label: m.value for m in app.metric}
    assert tiles["Recovery"] == f"{nhs.recovery_rate:.0%}"
    assert 0 < nhs.n_reliably_deteriorated < 11 and tiles["Reliable deterioration"] == "hidden"  # a small cell
    assert tiles["PHQ-9 fell 5+ (MCID)"] == f"{nhs.mcid_improvement_rate:.0%}"
    assert any(f"Of {suppress.count_text(nhs.n_cases, 11)} series that were cases at baseline" in c.value
               for c in app.caption)


def test_overview_sets_published_results_only_beside_a_cohort_of_their_route(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch)
    # Every route: each route beside its own papers on a chart of its own, never a band on the headline chart.
    assert any(c.value.startswith("These series mix routes, so each route is set beside") for c in app.caption)
    assert not [t for t in chart_traces(app, 0) if t.get("name") == "published range"]
    app.multiselect(key="filters_routes").set_value(["oral"]).run()
    caption = next(c.value for c in app.caption if c.value.startswith("Published, oral"))
    assert "Hull 2022 (Mindbloom) (n=1,247): response 63%" in caption and "McInnes" not in caption
    assert "observed: the 1,247 who completed" in caption
    app.multiselect(key="filters_routes").set_value(["IV"]).run()
    caption = next(c.value for c in app.caption if c.value.startswith("Published, IV"))
    assert "McInnes 2022 (ORKA-1)" in caption and "Oliver 2022" in caption and "Hull" not in caption
    assert "Kaplan-Meier estimate over all 424 patients" in caption
    # The published band spans the IV papers only: response 50% (Oliver) to 53.6% (McInnes), not Hull's 62.8%.
    band = next(t for t in chart_traces(app, 0) if t.get("name") == "published range")
    assert band["base"] == [0.5] and band["y"] == pytest.approx([0.036])


def test_compare_by_clinician_hides_the_small_group_and_keeps_every_large_one(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "compare")
    app.selectbox(key="compare_by").set_value("clinician").run()
    # The headline cohort, as on the Overview and in the pack: cases at baseline (PHQ-9 10 or more).
    rates = expected(clinic_db, marts.cohort_comparison, "PHQ-9", by="clinician", cohort=Cohort(min_baseline=10))
    scored = dict(zip(rates.group_value, rates.n_scored))
    assert scored["L02"] == 1 and scored["N01"] == 72  # the sample clinic's smallest scored groups but one
    # L02 (1 scored) is hidden. N01 (183 series, 72 scored) stays: the total scored minus the shown groups, all
    # rounded to 5, gives L02 only give or take 7, never exactly (the old rule hid N01 too).
    points = [t for t in chart_traces(app, 0) if t.get("mode") == "markers+text"]
    assert sorted(point[0] for t in points for point in t["customdata"]) == ["L01", "N01", "R01"]
    assert sorted(name for t in points for name in t["text"]) == ["L01", "N01", "R01"]  # every point named
    table = app.dataframe[0].value.set_index("Clinician")
    scored, responders, evaluable = read(table["Series scored"]), read(table["Responders"]), read(table["Series evaluable"])
    assert (scored["N01"], responders["N01"], evaluable["N01"]) == ("70", "40", "180")  # 72, 40, 180 to the nearest 5
    assert scored["L02"] == "hidden" and scored["L01"] == "90"  # 89 to the nearest 5
    assert read(table["Response %, intention to treat"])["N01"] == "22"  # 40 of 180, from the exact counts
    assert any("hidden: 1-10 series or sessions, or hidden to protect another" in c.value for c in app.caption)
    assert any("rounded to the nearest 5" in c.value for c in app.caption)


def test_the_nhs_table_marks_a_count_hidden_for_a_small_difference_as_hidden(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "response")
    app.multiselect(key="filters_sites").set_value(["Northside"]).run()
    app.multiselect(key="filters_routes").set_value(["IM"]).run()
    nhs = expected(clinic_db, marts.talking_therapies, cohort=Cohort(sites=("Northside",), routes=("IM",))).iloc[0]
    assert (nhs.n_finished, nhs.n_paired, nhs.n_cases, nhs.n_reliably_improved, nhs.n_reliably_recovered,
            nhs.n_reliably_deteriorated) == (29, 27, 27, 19, 11, 0)
    table = next(d.value for d in app.dataframe if "Reliably improved" in d.value.columns)
    # 19 of 27 improved: 8 not improved is small, so the rate is blank; 20 improved of 25 cases would put the 8 at 1
    # to 9, so the improved read hidden too (rule 3b), and the cases stay; 11 recovered reads 15; 0 deteriorated shows.
    assert read(table["Reliably improved"]) == {0: "hidden"} and read(table["Reliably recovered"]) == {0: "15"}
    assert read(table["Cases at baseline"]) == {0: "25"}
    assert read(table["Reliable improvement %"]) == {0: "hidden"}
    assert read(table["Reliably deteriorated"]) == {0: "0"}
    # 29 courses finished, 27 paired: both rounded (30 and 25), so the 2 without a pair are not given.
    assert read(table["Courses finished"]) == {0: "30"} and read(table["Series paired"]) == {0: "25"}


@pytest.mark.slow
def test_the_change_chart_draws_no_bar_of_1_to_10_series_and_the_status_table_hides_what_the_total_gives(
        clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "response")
    app.selectbox(key="filters_instrument").set_value("GAD-7").run()
    app.multiselect(key="filters_sites").set_value(["Northside"]).run()
    app.multiselect(key="filters_routes").set_value(["IV"]).run()
    chart = next(i for i, c in enumerate(app.get("plotly_chart")) if "change from baseline" in c.proto.spec)
    bars = [y for t in chart_traces(app, chart) if t.get("type") == "bar" for y in t["y"] if y is not None]
    assert bars and not [y for y in bars if 0 < y < 11]
    assert any(t.get("text") and "hidden" in t["text"] for t in chart_traces(app, chart))
    # Statuses: 5 responses (hidden); the others rounded (13 and 16 read 15). The evaluable series (84) minus the
    # shown statuses leaves the 5 only give or take the rounding, so no second status is hidden.
    status = next(d.value for d in app.dataframe if "Status at end of induction" in d.value.columns)
    status = read(status.set_index("Status at end of induction")["Series"])
    assert status["response"] == "hidden" and (status["remission"], status["no response"]) == ("15", "15")
    assert all(v == "hidden" or int(v) % 5 == 0 for v in status.values())
    # Outside that n, 1 series not yet evaluable (hidden) and 24 without a baseline (25).
    note = next(c.value for c in app.caption if "Not in that n:" in c.value)
    assert left_out_of_n(note, "GAD-7") == ("a hidden number of", "25")


@pytest.mark.slow
def test_the_safety_pages_three_splits_are_in_the_link(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "safety")
    app.selectbox(key="safety_item9_by").set_value("site").run()
    app.selectbox(key="safety_cadss_by").set_value("route").run()
    assert app.query_params["item9-by"] == "site" and app.query_params["cadss-by"] == "route"
    again = open_link(clinic_db, monkeypatch, "safety", item9_by="site", cadss_by="route")
    assert again.selectbox(key="safety_item9_by").value == "site"
    assert again.selectbox(key="safety_cadss_by").value == "route" and not again.exception


def chart_titles(app: AppTest) -> list[str]:
    """The charts' titles as read: the lines each wraps into (for a phone's width) joined by spaces."""
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"].replace("<br>", " ")
            for chart in app.get("plotly_chart")]


@pytest.mark.slow
def test_an_instrument_with_no_assessments_stored_says_so_and_only_filters_ask_to_widen_them(clinic_db, monkeypatch):
    """The sample clinic stores no MADRS or QIDS-SR16 score: widening the filters would not help."""
    app = open_app(clinic_db, monkeypatch)
    for instrument in ("MADRS", "QIDS-SR16"):
        app.selectbox(key="filters_instrument").set_value(instrument).run()
        for page in ("overview", "trajectories", "response", "compare", "durability", "quality_review"):
            app.switch_page(f"app_pages/{page}.py").run()
            assert not app.exception, page
            warnings = [w.value for w in app.warning]
            assert sum(f"No {instrument} assessments are stored in this database" in w for w in warnings) == 1, page
            assert not any("Widen the filters" in w for w in warnings), page
    app.selectbox(key="filters_instrument").set_value("PHQ-9").run()
    app.multiselect(key="filters_sites").set_value(["Lakeview"]).run()
    app.number_input(key="filters_min_baseline").set_value(27).run()
    app.multiselect(key="filters_routes").set_value(["oral"]).run()
    app.switch_page("app_pages/response.py").run()
    assert page_warnings(app) == ["No treatment series match these filters. Widen the filters in the sidebar."]


def test_durability_time_to_response_title_names_its_split(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "durability")
    assert "PHQ-9: share responded, all series" in chart_titles(app)
    app.selectbox(key="durability_by").set_value("route").run()
    assert "PHQ-9: share responded, one curve per route" in chart_titles(app)
    app.selectbox(key="durability_by").set_value("site").run()
    assert "PHQ-9: share responded, one curve per site" in chart_titles(app)


def table_by_title(app: AppTest, title: str):
    return next(d for d in app.dataframe if d.proto.alt == f"Table: {title}")


def test_the_data_pages_tables_have_words_for_headers_and_show_an_empty_value_blank(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "data")
    assert not app.exception, [e.value for e in app.exception]
    history = table_by_title(app, "batch history")
    assert list(history.value.columns) == ["Batch", "Loaded at", "File", "Export", "Rows read", "Rows inserted",
                                           "Rows replaced", "Rows duplicate", "Rows rejected", "Rows with warnings",
                                           "Columns ignored", "Read as", "Undone at"]
    assert history.value["Rows inserted"].tolist() == [5830, 3562, 600]  # outcomes, sessions, patients; newest first
    assert list(table_by_title(app, "audit trail").value.columns) == ["Time (UTC)", "Who", "Role", "Action", "Detail"]
    coverage = table_by_title(app, "coverage")
    assert list(coverage.value.columns) == ["Measure", "Instrument", "Value"]
    assert coverage.value.Instrument.isna().sum() == 6  # patients, dates, sessions and series: no instrument
    # Streamlit prints "None" in an empty cell unless the table gives a placeholder: these give an empty one.
    for title in ("batch history", "audit trail", "coverage"):
        assert table_by_title(app, title).proto.HasField("placeholder") and table_by_title(app, title).proto.placeholder == ""


def test_the_data_page_offers_every_mart_but_the_drawing_sample_as_csv(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "data")
    buttons = [b for b in app.get("download_button") if b.proto.help.startswith("`")]  # the marts' (the help names the file)
    offered = {b.proto.help.split("`")[1] for b in buttons}
    # Analysts' files, unsuppressed: the name says so wherever the file goes, and names the filters the mart follows
    # (the instrument for a mart that takes one; "whole-clinic-not-filtered" for one that follows no filter).
    def file(mart):
        declared = declarations.MARTS[mart]
        return "_".join([mart] + (["PHQ-9"] if declared.instrument else [])
                        + ([] if declared.filtered else ["whole-clinic-not-filtered"]) + ["INTERNAL-unsuppressed.csv"])
    assert {file(m) for m in marts.MARTS} - offered == {file("series_trajectories")}
    assert {"weekly_outcomes_PHQ-9_INTERNAL-unsuppressed.csv", "blood_pressure_INTERNAL-unsuppressed.csv",
            "item9_flags_whole-clinic-not-filtered_INTERNAL-unsuppressed.csv"} <= offered
    # Labelled in words, every label different (a tablet cuts them short: file names read "weekly_out…" twice).
    labels = {next(m for m in marts.MARTS if b.proto.help.split("`")[1] == file(m)): b.proto.label for b in buttons}
    assert labels["weekly_outcomes"] == "Weekly outcomes (CSV)"
    assert labels["weekly_outcomes_itt"] == "Weekly outcomes, intention to treat (CSV)"
    assert labels["item9_course"] == "Item 9 over the induction (CSV)"
    assert len(set(labels.values())) == len(labels) and not any("_" in label for label in labels.values())
    # The files are the marts as built: the caption says so once, and not also the view's suppression (the walk read
    # "counts under 11 suppressed, others rounded to 5. ... small cells are not suppressed").
    said = next(c.value for c in app.caption if c.value.startswith("For the filters in force"))
    assert "exact counts, small cells not suppressed" in said and "rounded to 5" not in said
    assert "counts under" not in said and said.count("suppressed") == 1


def test_the_cadss_table_shows_session_numbers_as_whole_numbers(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "safety")
    columns = json.loads(table_by_title(app, "CADSS by session").proto.columns)
    assert columns["Session number"]["type_config"]["format"] == "localized"  # 1, 2, 3: not 1.0, 2.0
    assert columns["Mean score"]["type_config"]["format"] == "%.1f"


def test_overview_tile_help_never_gives_a_count_hidden_for_a_small_difference(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch)
    app.multiselect(key="filters_routes").set_value(["oral"]).run()
    rates = expected(clinic_db, marts.cohort_comparison, "PHQ-9", cohort=Cohort(routes=("oral",), min_baseline=10))
    assert (rates.n_scored.iloc[0], rates.responders.iloc[0]) == (26, 16)  # 10 scored did not respond: small
    response = app.metric[4]
    # The rate would give the 10 who did not respond; the counts beside it are rounded (15 of 25), never exact.
    assert response.value == "hidden" and response.help.startswith("15 of 25 series")
    assert not any("16 of 26" in (m.help or "") or "26" in m.value for m in app.metric)


def test_the_nhs_caption_never_gives_the_cases_when_paired_minus_cases_is_small(tmp_path, monkeypatch):
    # 14 IV series scored on PHQ-9 and GAD-7 at baseline and at end of induction; 11 are cases at baseline (PHQ-9 15,
    # GAD-7 12), 3 are not (6 and 4). "11 cases among 14" would give the 3 non-cases: both read 15, and the share
    # of cases is blank.
    # P99's session on day 60 ends the data after every end-of-induction window (to day 17 + 21): all evaluable.
    db = tmp_path / "clinic.duckdb"
    sessions = "patient_id,session_day,status,route,site\n" + "".join(
        f"P{p:02d},{day},completed,IV,North\n" for p in range(14) for day in (0, 3, 7, 10, 14, 17)) + (
        "P99,60,completed,IV,North\n")
    outcomes = "patient_id,assessment_day,instrument,score\n" + "".join(
        f"P{p:02d},0,PHQ-9,{15 if p < 11 else 6}\nP{p:02d},0,GAD-7,{12 if p < 11 else 4}\n"
        f"P{p:02d},20,PHQ-9,{4 if p < 6 else 9}\nP{p:02d},20,GAD-7,{3 if p < 6 else 5}\n" for p in range(14))
    con = database.connect(db)
    try:
        for name, text in (("sessions.csv", sessions), ("outcomes.csv", outcomes)):
            (tmp_path / name).write_text(text)
            assert ingest_file(con, tmp_path / name).rows_rejected == 0
        marts.build(con)
        nhs = marts.talking_therapies(con).iloc[0]
    finally:
        con.close()
    assert (nhs.n_paired, nhs.n_cases) == (14, 11)
    app = open_app(db, monkeypatch, "response")
    assert not app.exception, [e.value for e in app.exception]
    caption = next(c.value for c in app.caption if "series that were cases at baseline" in c.value)
    assert caption.startswith("Of 15 series that were cases") and "among 15 series scored" in caption
    assert "Of 11 series" not in caption and "14" not in caption
    table = next(d.value for d in app.dataframe if "Cases %" in d.value.columns)
    assert read(table["Cases %"]) == {0: "hidden"}


def test_maintenance_by_route_keeps_every_route_and_hides_the_rate_whose_complement_is_small(
        clinic_db, monkeypatch):
    maintenance = expected(clinic_db, marts.maintenance, by="route").set_index("group_value")
    # Intranasal: 49 of 53 had boosters (4 without: small): its share is blank, its counts rounded (50 of 55).
    assert maintenance.n_with_boosters.to_dict() == {"IM": 31, "IV": 97, "intranasal": 49, "oral": 0}
    app = open_app(clinic_db, monkeypatch, "durability")
    app.selectbox(key="durability_by").set_value("route").run()
    table = table_by_title(app, "maintenance").value.set_index("Route")
    assert read(table["Series with boosters"]) == {"IM": "30", "IV": "95", "intranasal": "50", "oral": "0"}
    assert read(table["With boosters %"])["intranasal"] == "hidden" and read(table["With boosters %"])["IV"] != "hidden"


def test_cadss_by_route_hides_the_small_route_and_rounds_the_others(clinic_db, monkeypatch):
    cadss = expected(clinic_db, marts.dissociation, by="route")
    # Session 8: IM 5 (small). All series: 44 (reads 45), so 45 - 20 - 20 leaves the 5 anywhere from 0 to 11: no
    # second route is hidden.
    session8 = cadss[cadss.session_number == 8].set_index("group_value").n_sessions.to_dict()
    assert session8 == {"IM": 5, "IV": 18, "intranasal": 21}
    app = open_app(clinic_db, monkeypatch, "safety")
    app.selectbox(key="safety_cadss_by").set_value("route").run()
    table = table_by_title(app, "CADSS by session").value
    row = read(table[table["Session number"] == 8].set_index("Group")["Sessions"])
    assert row == {"IM": "hidden", "IV": "20", "intranasal": "20"}


def test_protocol_adherence_by_site_hides_only_the_small_site(clinic_db, monkeypatch):
    cohort = Cohort(age_bands=("55-64",))
    adherence = expected(clinic_db, marts.protocol_adherence, by="site", cohort=cohort).set_index("group_value")
    # Completed inductions by site: 18, 10 (small), 14. Their total, the maintenance table's series (42), reads 40:
    # 40 - 20 - 15 leaves the 10 anywhere from 1 to 11, so Riverside's 14 stays (reads 15).
    assert adherence.n_completed.to_dict() == {"Lakeview": 18, "Northside": 10, "Riverside": 14}
    assert expected(clinic_db, marts.maintenance, by="all", cohort=cohort).n_series.iloc[0] == 42
    app = open_app(clinic_db, monkeypatch, "durability")
    app.multiselect(key="filters_age_bands").set_value(["55-64"]).run()
    table = table_by_title(app, "protocol adherence by site").value.set_index("Site")
    assert read(table["Completed induction"]) == {"Lakeview": "20", "Northside": "hidden", "Riverside": "15"}
    bars = next(t for t in chart_traces(app, len(app.get("plotly_chart")) - 1) if t.get("type") == "bar")
    assert "Northside" not in bars["x"] and "Lakeview" in bars["x"]  # Northside is marked hidden, not drawn


def test_blood_pressure_by_route_hides_only_the_small_route(clinic_db, monkeypatch):
    cohort = Cohort(age_bands=("65+",), sites=("Riverside",))
    pressure = expected(clinic_db, marts.blood_pressure, cohort=cohort).set_index("route")
    # Sessions by route: 25, 22 and 6 (small); the Overview shows 53 completed sessions as 55, so 55 - 25 - 20
    # leaves the 6 anywhere from 4 to 16: IV's 22 stays (reads 20).
    assert pressure.n_sessions.to_dict() == {"IM": 25, "IV": 22, "intranasal": 6}
    assert expected(clinic_db, marts.activity, cohort=cohort).n_sessions.iloc[0] == 53
    app = open_app(clinic_db, monkeypatch, "safety")
    app.multiselect(key="filters_age_bands").set_value(["65+"]).run()
    app.multiselect(key="filters_sites").set_value(["Riverside"]).run()
    table = table_by_title(app, "blood pressure").value.set_index("Route")
    assert read(table["Sessions"]) == {"IM": "25", "IV": "20", "intranasal": "hidden"}


def test_overview_attrition_hides_a_session_whose_fall_from_the_one_before_is_small(clinic_db, monkeypatch):
    attrition = expected(clinic_db, marts.attrition, "PHQ-9")
    sessions = attrition[attrition.stage == "session"].set_index("step").n_series
    assert (sessions[11], sessions[12]) == (41, 36)  # shares of every series shown would give the 5 who stopped
    app = open_app(clinic_db, monkeypatch)
    traces = next(t for t in (chart_traces(app, i) for i in range(len(app.get("plotly_chart"))))
                  if any(x.get("name") == "share of series" for x in t))
    bars = next(t for t in traces if t["name"] == "share of series")
    marks = next(t for t in traces if t["name"].startswith("hidden"))
    assert bars["x"] == list(range(1, 12)) and marks["x"] == [12]


def test_trajectories_by_site_hide_only_the_small_site_in_a_week(clinic_db, monkeypatch):
    week11 = {site: expected(clinic_db, marts.weekly_outcomes, "PHQ-9", Cohort(sites=(site,))).set_index("week")
              .n_scored[11] for site in ("Lakeview", "Northside", "Riverside")}
    # Week 11: 7 (small), 13 and 16 scored; the all-series line shows n=35 that week (36): 35 - 15 - 15 leaves the
    # 7 anywhere from 0 to 12, so Northside's 13 stays (reads 15).
    assert week11 == {"Lakeview": 7, "Northside": 13, "Riverside": 16}
    assert expected(clinic_db, marts.weekly_outcomes, "PHQ-9").set_index("week").n_scored[11] == 36
    app = open_app(clinic_db, monkeypatch, "trajectories")
    app.selectbox(key="trajectories_split").set_value("site").run()
    assert not app.exception, [e.value for e in app.exception]
    table = table_by_title(app, "weekly").value
    row = read(table[table.Week == 11].set_index("Site")["Series scored"])
    assert row == {"Lakeview": "hidden", "Northside": "15", "Riverside": "15"}
    labels = {t["name"]: dict(zip(t["x"], t["text"])) for t in chart_traces(app, 0) if t.get("mode") == "lines+markers+text"}
    assert labels["Northside"][11] == "n=15" and labels["Riverside"][11] == "n=15"


def test_the_end_of_induction_n_is_the_same_on_the_overview_response_and_compare_pages(clinic_db, monkeypatch):
    """One definition (docs/metrics.md, Evaluable): only series whose end-of-induction window has closed, or that
    dropped out, enter the n. The sample clinic has 12 PHQ-9 series whose window is still open: they are shown
    apart on the Response page, never inside its n."""
    app = open_app(clinic_db, monkeypatch)
    app.checkbox(key="filters_cases_only").uncheck().run()  # the Overview's headline then counts every series too
    app.number_input(key="filters_min_cell").set_value(0).run()
    rates = expected(clinic_db, marts.cohort_comparison, "PHQ-9").iloc[0]
    n_evaluable, n_scored = int(rates.n_evaluable), int(rates.n_scored)
    assert (n_evaluable, n_scored) == (574, 245) and rates.n_series == n_evaluable + 12

    overview_n = {int(m.group(1).replace(",", "")) for c in app.caption if (m := re.match(r"n = ([\d,]+)", c.value))}
    assert overview_n == {n_evaluable, n_scored}  # min-cell 0 here (an analyst's view): exact counts

    app.switch_page("app_pages/compare.py").run()
    by_site = next(d.value for d in app.dataframe if "Series evaluable" in d.value.columns)
    assert (by_site["Series evaluable"].sum(), by_site["Series scored"].sum()) == (n_evaluable, n_scored)

    app.switch_page("app_pages/response.py").run()
    assert not app.exception, [e.value for e in app.exception]
    status = next(d.value for d in app.dataframe if "Status at end of induction" in d.value.columns)
    status = dict(zip(status["Status at end of induction"], status["Series"]))
    assert sum(status.values()) == n_evaluable
    assert status["remission"] + status["response"] + status["no response"] == n_scored
    assert "not yet evaluable" not in status and "no baseline" not in status
    note = next(c.value for c in app.caption if "evaluable series (the end-of-induction window" in c.value)
    assert note.startswith(f"n = {n_evaluable:,} evaluable series")
    assert left_out_of_n(note, "PHQ-9") == ("12", "57")
    assert f"at end of induction ({n_scored:,} series)" in " ".join(chart_titles(app))
    transitions = next(i for i, c in enumerate(app.get("plotly_chart")) if "severity at baseline" in c.proto.spec)
    assert sum(y for t in chart_traces(app, transitions) if t.get("type") == "bar" for y in t["y"] if y) == n_scored
    # With the headline's default (cases only), the Overview counts a narrower cohort, and the Response page says so.
    app.checkbox(key="filters_cases_only").check().run()
    note = next(c.value for c in app.caption if "evaluable series (the end-of-induction window" in c.value)
    assert f"n = {n_evaluable:,} evaluable series" in note
    assert re.search(r"Overview's headline counts the cases at baseline among them: PHQ-9 (\d+) or more", note).group(1) \
        == "10"


def test_meeting_mode_suppresses_the_coverage_counts_on_the_data_page(clinic_db, monkeypatch):
    coverage = expected(clinic_db, marts.coverage)
    pcl5 = coverage[(coverage.measure == "assessments in no series") & (coverage.instrument == "PCL-5")]
    assert pcl5.value.tolist() == ["8"]  # 8 PCL-5 answers placed in no series
    app = open_app(clinic_db, monkeypatch, "data")
    app.toggle(key="filters_meeting_mode").set_value(True).run()
    table = table_by_title(app, "coverage").value
    row = table[(table.Measure == "assessments in no series") & (table.Instrument == "PCL-5")]
    assert row.Value.tolist() == ["hidden"]
    assert table[table.Measure == "patients"].Value.tolist() == ["600"]


def test_the_response_page_says_what_each_end_of_induction_status_means(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "response")
    statuses = next(c.value for c in app.caption if c.value.startswith("Statuses:"))
    for status in ("remission", "response", "no response", "no score", "not reached"):
        assert f"**{status}**" in statuses


def test_the_adherence_table_says_who_it_counts(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "durability")
    assert any(c.value.startswith("Who is counted: series whose induction is decided") for c in app.caption)


@pytest.mark.slow
def test_the_pcl5_status_table_says_below_the_cut_off_not_remission(clinic_db, monkeypatch):
    app = open_app(clinic_db, monkeypatch, "response")
    app.selectbox(key="filters_instrument").set_value("PCL-5").run()
    table = next(t.value for t in app.dataframe if t.value.isin(["not reached"]).any().any())
    statuses = table[table.columns[0]].tolist()
    assert "remission" not in statuses and any("cut-off" in s for s in statuses)


def test_the_undo_picker_shows_file_names_as_written_without_escapes(tmp_path, monkeypatch):
    # A select box draws its options as text: a markdown escape there is shown (`sessions\.csv`, issue 23).
    db = tmp_path / "clinic.duckdb"
    con = database.connect(db)
    for name in ("sessions.csv", "visits_[v2]*.csv", "line\u202ebreak\nname.csv"):
        path = tmp_path / "s.csv"
        path.write_text(f"patient_id,session_day,route\nP{len(name)},0,IV\n")
        assert ingest_file(con, path, file_name=name).batch_id is not None
    con.close()
    app = open_app(db, monkeypatch, "data")
    assert app.selectbox(key="data_undo_batch").options == [
        "3: linebreak name.csv", "2: visits_[v2]*.csv", "1: sessions.csv"]


@pytest.mark.parametrize("page", ["data", "safety", "response", "overview"])
def test_every_download_is_made_when_clicked_so_no_file_waits_at_a_live_url(clinic_db, monkeypatch, page):
    # Streamlit 1.67 serves a download button's bytes at /media/<hash> to anyone with the URL, no session
    # asked, for as long as a session shows the button; a callable's bytes are made per click, on the
    # session's connection, and dropped at the end of the next run (docs/deploy.md). Issue 23.
    app = open_app(clinic_db, monkeypatch, page)
    buttons = app.get("download_button")
    assert page != "data" or len(buttons) >= 10
    for button in buttons:
        assert button.proto.url == "" and button.proto.deferred_file_id, button.proto.label


def test_durability_says_how_many_responders_were_followed_up_and_that_boosters_keep_a_response(clinic_db,
                                                                                                 monkeypatch):
    curve = expected(clinic_db, marts.sustained_response, "PHQ-9")
    followed, responders = int(curve.n_followed_up.iloc[0]), int(curve.n_responders.iloc[0])
    assert 11 <= followed and responders - followed >= 11  # the sample: neither count nor their difference small
    app = open_app(clinic_db, monkeypatch, "durability")
    assert not app.exception, [e.value for e in app.exception]
    caption = next(c.value for c in app.caption if "responders have a later score" in c.value)
    # Counts rounded to 5, as every count shown.
    assert re.search(r"(\S+) of (\S+) responders have a later score", caption).groups() == (
        suppress.count_text(followed, 11), suppress.count_text(responders, 11))
    assert "Boosters keep a response sustained" in caption and "lower bound" in caption
    traces = chart_traces(app, 0)
    assert any("lost to follow-up" in (t.get("name") or "") for t in traces)


def test_an_analyst_adds_a_vocabulary_term_on_the_data_page_and_the_next_upload_keeps_it(tmp_path, monkeypatch):
    db = tmp_path / "clinic.duckdb"
    database.connect(db).close()
    app = open_app(db, monkeypatch, "data")
    app.selectbox(key="data_vocabulary_column").set_value("Indication")
    app.text_area(key="data_vocabulary_terms").set_value("Chronic pain\ncall 555-867-5309").run()
    app.button(key="data_vocabulary_add").click().run()
    assert any("Nothing added" in e.value and "phone numbers" in e.value for e in app.error)
    app.text_area(key="data_vocabulary_terms").set_value("Chronic pain\n").run()
    app.button(key="data_vocabulary_add").click().run()
    assert any("1 term(s) added: Chronic pain" in s.value for s in app.success)
    app.file_uploader(key="data_upload").set_value(
        [("p.csv", b"patient_id,primary_indication\nP1,CHRONIC PAIN\nP2,back pain per Dr Jones\n", "text/csv")]).run()
    con = database.connect(db, read_only=True)
    assert con.execute("select patient_id, primary_indication from patients order by 1").fetchall() == [
        ("P1", "Chronic pain"), ("P2", "other")]
    assert con.execute("select action from audit_log order by logged_at").fetchall() == [("settings",), ("upload",)]
    con.close()


def overview_n(app: AppTest) -> list[str]:
    """The n under the Overview's four end-of-induction tiles: observed (scored, twice), then intention to treat
    (evaluable, twice)."""
    return [m.group(1) for c in app.caption if (m := re.match(r"n = ([\d,]+|hidden)", c.value))]


@pytest.mark.slow
def test_response_by_week_counts_the_overviews_evaluable_series_not_the_windows_still_open(clinic_db, monkeypatch):
    """Northside, every series: 195 series with a PHQ-9 baseline, 192 evaluable (3 windows still open). The Overview's
    intention-to-treat n is 192; the Response page's rates by week count the same 192, not the 195."""
    cohort = Cohort(sites=("Northside",))
    rates = expected(clinic_db, marts.cohort_comparison, "PHQ-9", cohort=cohort).iloc[0]
    assert (rates.n_series, rates.n_evaluable) == (195, 192)
    evaluable = expected(clinic_db, marts.weekly_outcomes, "PHQ-9", cohort=cohort, evaluable_only=True)
    every = expected(clinic_db, marts.weekly_outcomes, "PHQ-9", cohort=cohort)
    assert evaluable[evaluable.week == 0].n_scored.iloc[0] == 192 and every[every.week == 0].n_scored.iloc[0] == 195
    app = open_app(clinic_db, monkeypatch)
    app.checkbox(key="filters_cases_only").uncheck().run()
    app.multiselect(key="filters_sites").set_value(["Northside"]).run()
    app.number_input(key="filters_min_cell").set_value(0).run()  # exact counts (an analyst's view)
    assert overview_n(app) == [str(int(rates.n_scored))] * 2 + ["192"] * 2
    app.switch_page("app_pages/response.py").run()
    said = next(c.value for c in app.caption if c.value.startswith("Who is counted"))
    assert said.startswith("Who is counted: n = 192 evaluable series with a PHQ-9 baseline")
    observed = next(t for t in chart_traces(app, 0) if t.get("name") == "response (observed)")
    paired = evaluable[evaluable.week > 0].set_index("week").n_paired
    assert dict(zip(observed["x"], observed["customdata"])) == {int(w): int(n) for w, n in paired.items()}
    assert (paired < every[every.week > 0].set_index("week").n_paired.reindex(paired.index)).any()
    # Suppressed (the clinic's 11, counts rounded): both pages show the same rounded n.
    app.number_input(key="filters_min_cell").set_value(11).run()
    app.switch_page("app_pages/response.py").run()
    said = next(c.value for c in app.caption if c.value.startswith("Who is counted"))
    assert said.startswith("Who is counted: n = 190 evaluable series")
    app.switch_page("app_pages/overview.py").run()
    assert overview_n(app)[2:] == ["190"] * 2


@pytest.mark.parametrize("role", ["viewer", "director", "analyst"])
def test_each_role_gets_the_downloads_the_role_table_says(clinic_db, monkeypatch, role):
    """The walk: the README said a viewer has no downloads (it has the suppressed meeting pack) and a director none
    (it has every suppressed table's CSV). The README's, docs/deploy.md's and the sidebar's role table now say what
    roles.py allows; this reads each role's download buttons on the pages where they appear. The role is given as
    the sign-in would give it (tests/test_signin.py signs in through a real identity provider and browser)."""
    from ketamine_outcomes.access import roles
    from ketamine_outcomes.dashboard import signin

    monkeypatch.setattr(signin, "current_user", lambda: signin._remember(
        signin.User(f"{role}@clinic.example", roles.ROLES[role])))
    app = open_app(clinic_db, monkeypatch, "safety")

    def buttons(page):
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, [e.value for e in app.exception]
        return {b.key: b.proto for b in app.get("download_button")}

    safety, quality, trajectories = buttons("safety"), buttons("quality_review"), buttons("trajectories")
    # Every role: the meeting pack, suppressed (at least 11, rounded), on Quality review, and nothing else there.
    assert list(quality) == ["quality_pack_download"]
    # The sidebar's help beside "Signed in as" says the role's line of the README's role table.
    signed_in = next(c for c in app.caption if c.value.startswith(f"Signed in as {role}@clinic"))
    assert signed_in.proto.help == f"A {role} sees {roles.DESCRIPTIONS[role]}."
    if role == "viewer":  # meeting mode forced on: no table's CSV, no patient rows
        assert (safety, trajectories) == ({}, {})
        return
    tables_of_counts = {"safety_bp_table_download", "safety_item9_course_table_download",
                        "safety_cadss_table_download"}
    # A director takes the suppressed tables away, never a patient-level list; an analyst also the item 9 list.
    assert set(safety) == tables_of_counts | ({"safety_item9_download"} if role == "analyst" else set())
    assert list(trajectories) == ["trajectories_table_download"]
    for key in tables_of_counts:
        assert "suppressed-under-11-rounded-to-5.csv" in safety[key].help, key
    data_page = buttons("data")
    if role == "director":  # batch history and coverage, no file
        assert data_page == {}
    else:
        assert {"data_all_rejects", "data_all_warnings"} <= set(data_page)
        assert {k.removeprefix("data_download_") for k in data_page if k.startswith("data_download_")} == \
            set(marts.MARTS) - {"series_trajectories"}
