"""Guards the tables a director reads and downloads: human headers, counts and rates kept as numbers
(rates in percent), suppressed cells marked and blank in the file, statuses in clinical order, and a
download whose name and first line say the filters it was made with, with formulas neutralised."""

import csv
import io

import pandas as pd

from conftest import numbers_in
from ketamine_outcomes.dashboard import tables
from ketamine_outcomes.dashboard.filters import View
from ketamine_outcomes.metrics.marts import Cohort

VIEW = View("PHQ-9", Cohort(sites=("Northside",), routes=("IV",)), meeting_mode=False, min_cell=11)


def test_counts_stay_numbers_and_a_small_group_is_hidden_with_its_rates():
    rows = pd.DataFrame({"group_value": ["=HYPERLINK(1)", "Lakeview"], "n_series": [45, 5], "n_evaluable": [30, 5],
                         "n_scored": [30, 4], "responders": [12, 2], "response_rate": [0.4, 0.5]})
    numbers, hidden = tables.shown(rows, "cohort_comparison", VIEW)
    assert list(numbers.columns) == ["Group", "Series", "Series evaluable", "Series scored", "Responders", "Response %"]
    assert numbers["Series"].tolist()[0] == 45 and pd.api.types.is_numeric_dtype(numbers["Series"])
    assert numbers["Response %"].tolist()[0] == 40.0
    # Lakeview: every count is 1-10, so its counts and its rate are hidden, and marked as hidden.
    assert numbers.iloc[1, 1:].isna().all()
    assert hidden.iloc[1, 1:].all() and not hidden.iloc[0].any()


def test_end_of_induction_statuses_read_in_clinical_order():
    status = pd.DataFrame({"end_status": ["no response", "not reached", "remission", "response"],
                           "n_series": [30, 12, 25, 40]})
    numbers, _ = tables.shown(status, "series_counts", VIEW)
    assert numbers["Status at end of induction"].tolist() == ["remission", "response", "no response", "not reached"]
    assert numbers["Series"].tolist() == [25, 40, 30, 15]  # 12 reads 15: never a number of the hidden range


def test_the_download_names_its_filters_and_neutralises_formulas():
    rows = pd.DataFrame({"group_value": ["=HYPERLINK(1)", "Lakeview"], "n_scored": [30, 4], "responders": [12, 2],
                         "response_rate": [0.4, 0.5]})
    numbers, _ = tables.shown(rows, "cohort_comparison", VIEW)
    text = tables.csv_with_filters(numbers, VIEW, "numbers by site")
    lines = list(csv.reader(io.StringIO(text)))
    # A plain comment line: not quoted (no comma in it), so it reads "# ..." in a text editor too.
    # The wording is the point: the line a downloaded CSV opens with, read by whoever opens the file.
    assert text.splitlines()[0] == ("# numbers by site. Filters: PHQ-9 · site: Northside; route: IV · counts under 11 "
                                    "suppressed; others rounded to 5. Suppressed cells are blank.")
    assert lines[0] == [text.splitlines()[0]]
    assert lines[1] == ["Group", "Series scored", "Responders", "Response %"]
    assert lines[2] == ["'=HYPERLINK(1)", "30", "15", "40.0"]
    assert lines[3] == ["Lakeview", "", "", ""]
    assert tables.file_name("numbers by site", VIEW) == \
        "numbers-by-site_PHQ-9_site-Northside_route-IV_suppressed-under-11-rounded-to-5.csv"


def test_a_site_name_with_a_comma_a_quote_and_a_line_break_stays_on_the_comment_line():
    view = View("PHQ-9", Cohort(sites=('North, "A"\r\n=HYPERLINK("x")',)), meeting_mode=False, min_cell=11)
    rows = pd.DataFrame({"group_value": ["a"], "n_scored": [30], "responders": [12], "response_rate": [0.4]})
    numbers, _ = tables.shown(rows, "cohort_comparison", view)
    text = tables.csv_with_filters(numbers, view, "numbers by site")
    lines = list(csv.reader(io.StringIO(text)))
    assert len(lines) == 3  # the comment, the header, one row: the line break did not start a line of its own
    assert lines[0] == ["# numbers by site. Filters: PHQ-9 · site: North; 'A' =HYPERLINK('x') · counts under 11 "
                        "suppressed; others rounded to 5. Suppressed cells are blank."]
    assert lines[1] == ["Group", "Series scored", "Responders", "Response %"]


def test_an_internal_views_download_says_internal_in_its_name_and_keeps_exact_counts():
    internal = View("PHQ-9", Cohort(), meeting_mode=False, min_cell=5, internal=True)
    rows = pd.DataFrame({"group_value": ["a", "b"], "n_scored": [12, 4], "responders": [7, 2],
                         "response_rate": [7 / 12, 0.5]})
    numbers, _ = tables.shown(rows, "cohort_comparison", internal)
    assert numbers["Series scored"].tolist() == [12, pd.NA] or numbers["Series scored"].tolist()[0] == 12
    assert tables.file_name("numbers by site", internal) == \
        "numbers-by-site_PHQ-9_INTERNAL-not-for-circulation-under-5.csv"
    unsuppressed = View("PHQ-9", Cohort(), meeting_mode=False, min_cell=0, internal=True)
    assert tables.file_name("t", unsuppressed) == "t_PHQ-9_INTERNAL-not-for-circulation-unsuppressed.csv"


def test_pcl5_headers_say_below_the_cut_off_not_remission():
    rows = pd.DataFrame({"remitters": [12], "remission_rate": [0.4], "itt_remission_rate": [0.3]})
    numbers, _ = tables.shown(rows, None, View("PCL-5", Cohort(), meeting_mode=False, min_cell=11))
    assert list(numbers.columns) == ["Series below cut-off", "Below cut-off %", "Below cut-off %, intention to treat"]
    assert tables.label("remitters", "PHQ-9") == "Remitters"


def test_the_responders_help_is_worded_from_the_instruments_response_fraction(sample_db, tmp_path, monkeypatch):
    import shutil

    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(db))
    # The fraction in force for each instrument (settings), as a share of baseline and as the fall it means.
    assert numbers_in(tables.help_text("responders", "PHQ-9")) == [50, 50]
    assert numbers_in(tables.help_text("responders", "PCL-5")) == [70, 30]


def test_a_table_of_groups_hides_the_group_a_total_would_give_away_with_the_small_one():
    rows = pd.DataFrame({"group_value": ["L01", "L02", "N01", "R01"], "n_scored": [92, 1, 74, 78],
                         "responders": [43, 1, 41, 44], "response_rate": [43 / 92, 1.0, 41 / 74, 44 / 78]})
    numbers, hidden = tables.shown(rows, "cohort_comparison", VIEW, rows_add_up=True)
    # 92 + 1 + 74 + 78 is shown elsewhere, rounded: it gives L02 only give or take 8, so N01 stays (rounded).
    assert numbers["Series scored"].tolist() == [90, pd.NA, 75, 80] or \
        numbers["Series scored"].isna().tolist() == [False, True, False, False]
    assert numbers["Series scored"].dropna().tolist() == [90, 75, 80]
    assert hidden["Response %"].tolist() == [False, True, False, False]


def as_read(element) -> pd.DataFrame:
    """A table as the screen draws it: a column drawn with words of its own (tables.as_shown: text, each cell its
    words after its rank) reads its Styler's display values ("1,234", "46%", "hidden", "—"); the others their
    values."""
    from streamlit import dataframe_util

    values = element.value.astype(object)
    worded = [c for c in values.columns if values[c].map(lambda v: isinstance(v, str)).all()
              and values[c].isin(["hidden", "—"]).any()]
    if worded:
        words = dataframe_util.convert_arrow_bytes_to_pandas_df(element.proto.arrow_data.styler.display_values)
        words.columns = values.columns
        values[worded] = words[worded]
    return values


def test_the_weekly_table_reads_hidden_only_where_a_count_is_protected_and_a_dash_where_nothing_is_counted(
        clinic_db, monkeypatch):
    """walk (desktop_trajectories_01): week 0 read "hidden" in Series paired, Mean change, Responders, Response %
    and Remitters, where nothing is counted (week 0 is the baseline itself): Streamlit draws every empty cell
    of a table with one placeholder."""
    from conftest import open_app
    app = open_app(clinic_db, monkeypatch, "trajectories")
    weekly = as_read(next(f for f in app.dataframe if "Series paired" in f.value.columns))
    baseline = weekly[weekly.Week == 0].iloc[0]
    for header in ("Series paired", "Mean change from baseline", "Responders", "Response %", "Remitters"):
        assert baseline[header] == "—", header
    # Week 0's own figures still shown (as words: these columns hold hidden cells later on).
    assert float(baseline["Series scored"].replace(",", "")) > 0 and float(baseline["Mean score"]) > 0
    # Later weeks: a protected count still reads "hidden", a shown one its number as the screen formats it.
    later = weekly[weekly.Week > 0]
    assert (later.astype(str) == "hidden").to_numpy().any()
    # No "—" after week 0: an empty cell in a row with a hidden count (an interval too few to compute) would tell
    # how small that count is, so it reads "hidden" too.
    assert not (later.astype(str) == "—").to_numpy().any()
    paired = [v for v in later["Series paired"] if v != "hidden"]
    assert paired and all(v.replace(",", "").isdigit() for v in paired)
    assert all(v == "hidden" or v.endswith("%") for v in later["Response %"])
    assert any("—: nothing to count." in c.value for c in app.caption)


def collation(value: str) -> tuple:
    """The order the browser's collation gives a cell's value (Unicode's, checked in chromium by
    test_chart_browser): whitespace first, each control character its own weight in RANK_DIGITS' order, then
    punctuation ("—"), then letters ("hidden")."""
    rank = len(value) - len(value.lstrip(tables.RANK_DIGITS))
    if rank:
        return (0, [tables.RANK_DIGITS.index(c) for c in value[:rank]])
    return (1, []) if value == "—" else (2, [])


def test_a_column_with_hidden_and_dash_cells_sorts_as_numbers_with_them_after_the_numbers(clinic_db, monkeypatch):
    """walk: a "hidden" cell held a +inf stand-in (read aloud and copied as "Infinity") where a column had "—"
    cells, and was empty elsewhere (sorted as 0, among the zeros). Every cell of such a column now holds words a
    person reads ("1,234", "46%", "hidden", "—"), a number's after its rank in characters that read as nothing, so
    the browser sorts the numbers as numbers and puts every "—" and "hidden" after them; no cell holds a number that
    is not shown."""
    from conftest import open_app
    app = open_app(clinic_db, monkeypatch, "trajectories")
    element = next(f for f in app.dataframe if "Series paired" in f.value.columns)
    values, words = element.value, as_read(element)
    for header in ("Series paired", "Mean change from baseline", "Responders", "Response %"):
        column = values[header]
        assert column.map(lambda v: isinstance(v, str)).all(), header  # words, not a number stand-in
        assert column.map(tables.cell_words).tolist() == words[header].tolist(), header  # read as drawn
        stand_in = words[header].isin(["hidden", "—"])
        assert stand_in.any() and (column[stand_in] == words[header][stand_in]).all(), header  # nothing else in it
        assert not column.str.contains("inf", case=False).any(), header
        numbers = words[header][~stand_in].map(lambda w: float(w.rstrip("%").replace(",", "")))
        # The words are the numbers as the page formats them: "1,020", "46%", "-3.2".
        assert all(w.rstrip("%").replace(",", "").lstrip("-").replace(".", "", 1).isdigit()
                   for w in words[header][~stand_in]), header
        # Sorted low to high as the browser sorts a text column: the numbers in order, then "—", then "hidden".
        order = sorted(column.index, key=lambda i: collation(column[i]))
        ordered = words[header][order].tolist()
        count = int((~stand_in).sum())
        assert [float(w.rstrip("%").replace(",", "")) for w in ordered[:count]] == sorted(numbers), header
        assert ordered[count:] == sorted(words[header][stand_in], key=lambda w: w != "—"), header
    assert any("Sorted, a column's — and hidden cells come after its numbers ascending and before them descending"
               in c.value for c in app.caption)

def test_every_hidden_cell_on_the_durability_and_compare_pages_reads_hidden_and_sorts_after_the_numbers(
        clinic_db, monkeypatch):
    """A hidden cell in a column with no "—" was empty: drawn with the placeholder, read to a screen reader as
    nothing and sorted as 0. In every table of these pages, a column with a hidden cell now holds words: "hidden"
    for the hidden cell (and nothing else), each number after its rank."""
    from conftest import open_app
    app = open_app(clinic_db, monkeypatch, "durability")
    checked = 0
    for page in ("durability", "compare"):
        app.switch_page(f"app_pages/{page}.py").run()
        if page == "compare":
            app.selectbox(key="compare_by").set_value("clinician").run()
        for element in app.dataframe:
            values, words = element.value, as_read(element)
            for header in values.columns:
                if not (words[header].astype(str) == "hidden").any():
                    continue
                column = values[header]
                hidden = words[header] == "hidden"
                assert (column[hidden] == "hidden").all() and column.map(lambda v: isinstance(v, str)).all(), header
                order = sorted(column.index, key=lambda i: collation(column[i]))
                assert words[header][order].tolist()[-int(hidden.sum()):] == ["hidden"] * int(hidden.sum()), header
                checked += 1
    assert checked >= 2  # the sample's small site and clinicians hide cells on both pages

def test_a_table_of_the_whole_clinic_names_no_filter_it_ignores():
    # The walk: with site Riverside and route IM the Safety page's item 9 list (every flag of every site) went out as
    # item-9-flags_PHQ-9_site-Riverside_route-IM_... headed "site: Riverside; route: IM". The list follows no filter.
    riverside = View("GAD-7", Cohort(sites=("Riverside",), routes=("IM",)), meeting_mode=False, min_cell=11)
    rows = pd.DataFrame({"patient_id": ["KP1", "KP2"], "site": ["Lakeview", "Riverside"], "item9": [1, 2]})
    name = tables.file_name("item 9 flags", riverside, patient_level=True, instrument="PHQ-9", filtered=False)
    assert name == "item-9-flags_PHQ-9_whole-clinic-not-filtered_patient-level-exact-counts.csv"
    first = tables.csv_with_filters(rows, riverside, "item 9 flags", patient_level=True, instrument="PHQ-9",
                                    filtered=False).splitlines()[0]
    assert first == ("# item 9 flags. Filters: PHQ-9 · whole clinic; not filtered · patient-level; exact counts. "
                     "Patient rows for the care team: nothing suppressed.")
    # A table that follows the cohort but no instrument (blood pressure) names the filters and no instrument.
    assert tables.file_name("blood pressure", riverside, instrument=None) == \
        "blood-pressure_site-Riverside_route-IM_suppressed-under-11-rounded-to-5.csv"
    assert "GAD-7" not in tables.csv_with_filters(rows, riverside, "blood pressure", instrument=None)


def test_a_mart_file_keeps_its_name_and_says_its_filters_and_that_it_is_unsuppressed():
    # The Data page's files had no filters in their name and no first line. Now as every table's download.
    north = View("PHQ-9", Cohort(sites=("Northside",), ethnicities=("other",)), meeting_mode=False, min_cell=11)
    rows = pd.DataFrame({"week": [0, 1], "n_scored": [3, 40]})
    assert tables.file_name("weekly_outcomes", north, analyst_file=True) == \
        "weekly_outcomes_PHQ-9_site-Northside_ethnicity-other_INTERNAL-unsuppressed.csv"
    lines = tables.csv_with_filters(rows, north, "weekly_outcomes", analyst_file=True).splitlines()
    assert lines[0] == ("# weekly_outcomes. Filters: INTERNAL; not for circulation · PHQ-9 · site: Northside; "
                        "ethnicity: other · exact counts; small cells not suppressed. An analyst's file: not for "
                        "circulation.")
    assert lines[1:] == ["week,n_scored", "0,3", "1,40"]  # exact: 3 stays 3
    assert tables.file_name("coverage", north, analyst_file=True, instrument=None, filtered=False) == \
        "coverage_whole-clinic-not-filtered_INTERNAL-unsuppressed.csv"
