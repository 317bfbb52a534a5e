"""Guards what a person sees: the real dashboard, served by `streamlit run`, in Debian's chromium.
Every page draws its charts without an exception; uploading exports through the file input fills
the Overview; a malformed file shows its reasons. Screenshots go to test-artifacts/."""

import csv
import re
import subprocess
import sys

import duckdb
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from conftest import ARTIFACTS, SAMPLE_FILES, choose, new_page, settle, start_dashboard, stop_server, wait_for_app
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database

pytestmark = [pytest.mark.browser, pytest.mark.server]
CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg'
PAGES = {"": 3, "trajectories": 1, "response": 3, "compare": 2, "durability": 3, "quality_review": 1, "safety": 5, "data": 0,
         "definitions": 0}


@pytest.mark.parametrize("path", PAGES)
def test_page_draws_its_charts_without_an_exception(page, dashboard_url, path):
    page.goto(f"{dashboard_url}/{path}")
    wait_for_app(page)
    if PAGES[path]:
        page.locator(CHART).nth(PAGES[path] - 1).wait_for(timeout=60_000)
    elif path == "definitions":
        page.get_by_role("heading", name="Response", exact=True).first.wait_for(timeout=60_000)
    else:
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
    assert page.locator(CHART).count() >= PAGES[path]
    assert page.get_by_test_id("stException").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path or 'overview'}.png"), full_page=True)


def test_a_table_offers_only_the_products_own_download(page, dashboard_url):
    """Streamlit's own "Download as CSV" in a table's toolbar would write export text unneutralised, to any
    role, unrecorded: it is switched off (client.disableDataExport); the product's button below each
    table is the one download."""
    page.goto(f"{dashboard_url}/data")
    wait_for_app(page)
    page.get_by_test_id("stDataFrame").first.hover()
    page.get_by_role("button", name="Search").first.wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Download as CSV").count() == 0
    page.get_by_test_id("stDownloadButton").first.wait_for(timeout=60_000)


def downloaded(page, button):
    """Click a download button as a person does and return the file. The product's buttons make their file on the
    click (a callable) and rerun nothing (signin.recorded_download); when a click's rerun replaced the file before
    the browser fetched it, one of four stress runs (-n 2, two busy loops, load 15) got no file. That cause is
    gone; a person who got nothing would click again, and so does this, at most three times."""
    for attempt in range(3):
        try:
            with page.expect_download(timeout=90_000) as download:
                button.click()
            return download.value
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            wait_for_app(page)


@pytest.mark.parametrize("mart, options, label", [("adverse_events", {"by": "route"}, "Adverse events by route (CSV)"),
                                                  ("item9_course", {}, "Item 9 over the induction (CSV)"),
                                                  ("dissociation", {}, "Dissociation, CADSS (CSV)")])
def test_a_mart_file_on_the_data_page_is_made_when_clicked(page, dashboard_url, sample_db, mart, options, label):
    con = duckdb.connect(str(sample_db), read_only=True)
    expected = getattr(marts, mart)(con, **options)
    con.close()
    assert len(expected) > 0
    page.goto(f"{dashboard_url}/data")
    wait_for_app(page)
    download = downloaded(page, page.get_by_role("button", name=label, exact=True))
    # words on the button; the mart's name on the file, which says it is unsuppressed (an analyst's file)
    assert download.suggested_filename == f"{mart}_INTERNAL-unsuppressed.csv"  # no instrument, no filter set
    lines = open(download.path(), encoding="utf-8").read().splitlines()
    # Its first line names the filters it follows (none set here) and that it is an analyst's file.
    assert lines[0] == f"# {mart}. Filters: INTERNAL; not for circulation · all series · exact counts; small cells " \
                       "not suppressed. An analyst's file: not for circulation."
    assert lines[1].split(",") == list(expected.columns)
    assert len(lines) - 2 == len(expected)


def test_overview_tiles_match_the_marts(page, dashboard_url, sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    activity = marts.activity(con).iloc[0]
    con.close()
    page.goto(dashboard_url)
    wait_for_app(page)
    page.locator(CHART).first.wait_for(timeout=60_000)
    # Counts of 11 or more read rounded to the nearest 5 (docs/metrics.md, Small cells).
    assert page.get_by_test_id("stMetricValue").all_text_contents()[:4] == [f"{int(suppress.rounded(n, 11)):,}" for n in (
        activity.n_series, activity.n_active_series, activity.n_patients, activity.n_sessions)]


@pytest.fixture
def empty_served(tmp_path):
    """A real dashboard server on a new, empty database: (its URL, the database file)."""
    db = tmp_path / "empty.duckdb"
    database.connect(db).close()
    process = start_dashboard(db)
    yield process.url, db
    stop_server(process)


@pytest.fixture
def empty_dashboard(empty_served):
    return empty_served[0]


def test_uploading_the_sample_exports_fills_the_overview(page, empty_dashboard):
    page.goto(empty_dashboard)
    page.get_by_text("holds no treatment series yet").wait_for(timeout=60_000)
    page.goto(f"{empty_dashboard}/data")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(
        [str(p) for p in SAMPLE_FILES])
    page.get_by_text("outcomes.csv: outcomes, batch").first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "data-upload.png"), full_page=True)
    page.goto(empty_dashboard)
    wait_for_app(page)
    page.locator(CHART).first.wait_for(timeout=60_000)
    assert page.get_by_test_id("stMetricValue").all_text_contents()[2] == "600"


def test_a_malformed_file_shows_its_rejection_reasons(page, empty_dashboard, tmp_path):
    bad = tmp_path / "bad_outcomes.csv"
    bad.write_text("patient_id,assessment_day,instrument,score\nP1,0,PHQ-9,30\nP2,0,PHQ-9,12\n")
    page.goto(f"{empty_dashboard}/data")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(bad))
    page.get_by_text("bad_outcomes.csv: outcomes, batch 1: 2 lines read, 1 inserted").first.wait_for(timeout=60_000)
    page.get_by_test_id("stDataFrame").first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data-rejects.png"), full_page=True)
    refused = tmp_path / "people.csv"
    refused.write_text("patient_id,First Name,session_day,route\nP1,Ann,0,IV\n")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(refused))
    page.get_by_text("people.csv: refused, nothing stored. column 'First Name' looks like a direct identifier"
                     ).first.wait_for(timeout=60_000)


@pytest.mark.subprocess
def test_a_scheduled_ingest_runs_while_the_dashboard_is_open(page, empty_served):
    url, db = empty_served
    page.goto(url)
    page.get_by_text("holds no treatment series yet").wait_for(timeout=60_000)
    run = subprocess.run([sys.executable, "-m", "ketamine_outcomes.cli", "ingest", *map(str, SAMPLE_FILES),
                          "--db", str(db), "--wait", "60"], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    assert "outcomes.csv: outcomes, batch 3" in run.stdout
    page.reload()
    wait_for_app(page)
    page.locator(CHART).first.wait_for(timeout=60_000)
    assert page.get_by_test_id("stMetricValue").all_text_contents()[2] == "600"


def test_an_unknown_header_is_mapped_saved_and_reused_through_the_upload(page, empty_dashboard, tmp_path):
    first = tmp_path / "ehr.csv"
    first.write_text("Client,Appt Dt,Route,Notes\nP1,2024-03-01,IV,x\nP1,2024-03-04,IV,\n")
    page.goto(f"{empty_dashboard}/data")
    page.get_by_text("This clinic has no data yet").wait_for(timeout=60_000)
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(first))
    page.get_by_text("ehr.csv: refused, nothing stored. this looks like a sessions export but has no patient_id "
                     "column").first.wait_for(timeout=60_000)
    wait_for_app(page)
    patient = page.get_by_test_id("stSelectbox").filter(has_text="Header holding patient_id").locator("input")
    assert patient.input_value() == "Client"  # the closest header is proposed
    assert choose(page, "Header holding patient_id", "Client", "Client") == "Client"
    name = page.get_by_label("Save the mapping as")
    name.fill("EHR sessions")
    name.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Save the mapping and ingest again").click()
    page.get_by_text("ehr.csv: sessions, batch 1: 2 lines read, 2 inserted").first.wait_for(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data-mapping.png"), full_page=True)

    second = tmp_path / "ehr2.csv"
    second.write_text("Client,Appt Dt,Route\nP2,2024-04-01,IM\n")
    wait_for_app(page)
    assert choose(page, "Column mapping", "EHR sessions", "EHR sessions") == "EHR sessions"
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(second))
    page.get_by_text("ehr2.csv: sessions, batch 2: 1 lines read, 1 inserted").first.wait_for(timeout=60_000)
    assert page.get_by_test_id("stException").count() == 0


def test_a_shared_link_reproduces_the_view_and_choices_follow_the_user(page, dashboard_url):
    page.goto(f"{dashboard_url}/trajectories?instrument=GAD-7&site=Northside&split=route&itt=true")
    wait_for_app(page)
    page.locator(CHART).first.wait_for(timeout=60_000)
    chart = page.locator(".st-key-trajectories_chart")
    # Wrapped to a phone's width: one line per tspan. (Plotly draws a title after the chart's frame: waited for.)
    expect(chart.locator(".gtitle tspan.line")).to_have_text(["GAD-7: mean score by week (week 0 =", "baseline)"],
                                                              timeout=60_000)
    filters_line = chart.locator(".gtitle-subtitle")
    filters_line.wait_for(timeout=60_000)
    assert " ".join(filters_line.locator("tspan.line").all_text_contents() or [filters_line.text_content()]) == (
        "Filters: GAD-7 · site: Northside · counts under 11 suppressed, others rounded to 5")
    for name in ("IV", "intranasal", "intention to treat (limited LOCF, then BOCF)"):
        chart.locator(".legendtext").filter(has_text=re.compile(f"^{re.escape(name)}$")).first.wait_for(timeout=60_000)
    assert page.get_by_test_id("stSidebar").get_by_text("Northside", exact=True).count() == 1
    # Another page keeps the filters; coming back finds the page's own choices where they were.
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare cohorts").click()
    page.wait_for_url(re.compile(r"/compare\?instrument=GAD-7&site=Northside(&by=site)?$"), timeout=60_000)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Symptom trajectories").click()
    page.wait_for_url(re.compile(r"/trajectories\?instrument=GAD-7&site=Northside&split=route&itt=true$"),
                      timeout=60_000)


def test_a_table_downloads_with_human_headers_and_its_filters(page, dashboard_url):
    page.goto(f"{dashboard_url}/compare?site=Northside&route=IV")
    wait_for_app(page)
    download = downloaded(page, page.get_by_role("button", name="Download this table (CSV)").first)
    assert download.suggested_filename == "numbers-by-site_PHQ-9_site-Northside_route-IV_baseline-10_suppressed-under-11-rounded-to-5.csv"
    lines = open(download.path(), encoding="utf-8").read().splitlines()
    # The first line is one CSV field (quoted: the suppression rule holds a comma).
    assert next(csv.reader([lines[0]]))[0].startswith("# numbers by site. Filters: PHQ-9 · site: Northside; route: IV")
    assert lines[1] == ("Site,Series,Series evaluable,Series scored,Responders,Response %,Remitters,Remission %,"
                        "\"Response %, intention to treat\",\"Remission %, intention to treat\",\"Evaluable, no baseline\"")
    assert lines[2].startswith("Northside,")


def test_an_all_suppressed_chart_is_a_sentence(page, dashboard_url):
    page.goto(f"{dashboard_url}/response?site=Lakeview&route=oral")
    wait_for_app(page)
    page.get_by_text("No PHQ-9 week has enough paired series to show a rate").wait_for(timeout=60_000)
    assert page.get_by_text("response and remission by week").count() == 0


def test_the_individual_series_toggle_draws_them(page, dashboard_url):
    page.goto(f"{dashboard_url}/trajectories")
    wait_for_app(page)
    page.locator(CHART).first.wait_for(timeout=60_000)
    page.get_by_text("Individual series").click()
    chart = page.locator(".st-key-trajectories_chart")
    chart.get_by_text(re.compile(r"individual series \(\d+\)")).wait_for(timeout=60_000)
    page.wait_for_url(re.compile(r"/trajectories\?(split=none&)?series=true$"), timeout=60_000)
    # The series are one trace (one legend entry), not 200: the chart keeps a handful of traces.
    assert chart.locator(".legendtext").get_by_text(re.compile("individual series")).count() == 1
    assert chart.locator("g.scatterlayer .trace").count() < 10


SIDEBAR_FOLDED = "document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().right <= 0"


def test_a_meeting_link_opens_with_the_sidebar_folded(page, dashboard_url):
    """A link with meeting=true (sent before a meeting) opens as the toggle leaves it: sidebar folded away."""
    page.goto(f"{dashboard_url}/response")
    wait_for_app(page)
    page.locator(CHART).first.wait_for(timeout=60_000)
    assert not page.evaluate(SIDEBAR_FOLDED)  # a plain link at desktop width: the sidebar is open
    page.goto(f"{dashboard_url}/response?meeting=true")
    wait_for_app(page)
    page.locator(CHART).first.wait_for(timeout=60_000)
    page.wait_for_function(SIDEBAR_FOLDED, timeout=60_000)
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "20px"  # meeting mode is on


TITLES = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')].flatMap(plot => {
    const svg = plot.querySelector('.main-svg').getBoundingClientRect();
    return [...plot.querySelectorAll('.infolayer .gtitle, .infolayer .gtitle-subtitle')].map(title => {
        const box = title.getBoundingClientRect();
        return {text: title.textContent, left: box.left - svg.left, right: box.right - svg.left, top: box.top - svg.top,
                bottom: box.bottom - svg.top, width: svg.width, plot_top: plot._fullLayout._size.t,
                lines: Math.max(1, title.querySelectorAll('tspan.line').length)};
    });
})"""


# A chart's element once Plotly has set it up (one per chart; each holds several .main-svg layers).
DRAWN = '[data-testid="stPlotlyChart"] .js-plotly-plot'
# What the phone tests assert of each title, as JavaScript for the wait before they assert it.
INSIDE_THE_CHART = "t => 0 <= t.left && t.right <= t.width && 0 <= t.top && t.bottom <= t.plot_top"
TITLE_FITS = "t => 0 <= t.left && t.right <= t.screen && !t.cut"


# Meeting mode's chart titles are the page's text above each chart (ui.title_above), which wraps to any width:
# the number of lines each takes, and whether any runs past the screen's edge or is cut.
PAGE_TITLES = """() => [...document.querySelectorAll('[class*="st-key-chart_title_"] [data-testid="stMarkdownContainer"] p')]
    .filter(p => p.getBoundingClientRect().width > 0).map(p => {
        const box = p.getBoundingClientRect();
        return {text: p.innerText, left: box.left, right: box.right, screen: document.documentElement.clientWidth,
                cut: p.scrollWidth > p.clientWidth + 1,
                lines: Math.round(box.height / parseFloat(getComputedStyle(p).lineHeight))};
    })"""


# Meeting mode: each chart's title above it and its filters line, as the screen boxes them.
# A block whose caption has not arrived yet (Streamlit sends a page's elements one by one) is not counted.
TITLE_AND_FILTERS = """() => [...document.querySelectorAll('[class*="st-key-chart_title_"]')]
    .filter(block => block.getBoundingClientRect().width > 0
                     && block.querySelector('[data-testid="stMarkdownContainer"] p')
                     && block.querySelector('[data-testid="stCaptionContainer"]')).map(block => {
        const title = block.querySelector('[data-testid="stMarkdownContainer"] p').getBoundingClientRect();
        const filters = block.querySelector('[data-testid="stCaptionContainer"]').getBoundingClientRect();
        return {text: block.innerText, title_top: title.top, title_bottom: title.bottom, filters_top: filters.top,
                filters_bottom: filters.bottom, title_left: title.left, title_right: title.right,
                filters_left: filters.left, filters_right: filters.right};
    })"""


FILTERS_BELOW = ("b => b.title_bottom <= b.filters_top + 0.5 && b.filters_bottom > b.filters_top "
                 "&& b.title_bottom > b.title_top")


def assert_filters_below_titles(page, path: str) -> None:
    """Each chart's title and its "Filters:" line do not intersect, and the filters line is the lower one (walk:
    every meeting-mode title overlapped its filters line, on a projector and on a phone)."""
    blocks = page.evaluate(TITLE_AND_FILTERS)
    assert blocks, path
    for block in blocks:
        assert block["title_bottom"] <= block["filters_top"] + 0.5, (path, block)  # below, so no intersection
        assert block["filters_bottom"] > block["filters_top"] and block["title_bottom"] > block["title_top"], block


@pytest.mark.parametrize("meeting", [False, True])
def test_chart_titles_wrap_inside_the_chart_on_a_phone(browser, dashboard_url, meeting):
    """At 390 px a title of one line ran off the chart ("End of induction (PHQ-9): this clinic vs publi"): each
    title and its filters line wrap inside the chart, above the plot. In meeting mode (forced on for viewers, who
    may be on a phone) the title is the page's text above the chart, in its larger type, and wraps likewise."""
    page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        for path in ("", "response", "durability"):
            page.goto(f"{dashboard_url}/{path}" + ("?meeting=true" if meeting else ""))
            wait_for_app(page)
            page.locator(CHART).nth(PAGES[path] - 1).wait_for(timeout=60_000)
            if meeting:
                # Every chart the page sends, drawn, with its title above it: the page's text and Plotly's drawing
                # arrive apart, and a count taken between them compares a page half laid out.
                settle(page, f"({PAGE_TITLES})().length >= {PAGES[path]} && ({PAGE_TITLES})().length === "
                             f"document.querySelectorAll({DRAWN!r}).length && ({PAGE_TITLES})().every({TITLE_FITS}) "
                             f"&& ({TITLES})().every(t => t.right <= t.left)")  # Plotly's own: hidden by the styles
                titles = page.evaluate(PAGE_TITLES)
                # One per chart, and no Plotly title left on screen to overflow (the figure keeps one, hidden, for a
                # saved PNG: a hidden title has no width).
                charts = page.locator(DRAWN).count()
                assert len(titles) == charts >= PAGES[path]
                assert not [t for t in page.evaluate(TITLES) if t["right"] > t["left"]]
                for title in titles:
                    assert 0 <= title["left"] and title["right"] <= title["screen"] and not title["cut"], (path, title)
                settle(page, f"({TITLE_AND_FILTERS})().length >= {PAGES[path]} "
                             f"&& ({TITLE_AND_FILTERS})().every({FILTERS_BELOW})")
                assert_filters_below_titles(page, path)
                if path == "response":  # "PHQ-9: response and remission by week" takes two lines in meeting type
                    assert titles[0]["text"].startswith("PHQ-9: response and remission by week")
                    assert titles[0]["lines"] >= 2, titles[0]
                continue
            # A chart's element is there before Plotly has drawn its titles (on a busy machine, seconds later), and
            # its margins settle after them.
            settle(page, f"({TITLES})().length >= {2 * PAGES[path]} && ({TITLES})().every({INSIDE_THE_CHART})")
            titles = page.evaluate(TITLES)
            assert len(titles) >= 2 * PAGES[path]  # a title and its filters line per chart
            for title in titles:
                assert 0 <= title["left"] and title["right"] <= title["width"], (path, title)
                assert 0 <= title["top"] and title["bottom"] <= title["plot_top"], (path, title)
            if not path:  # with no route chosen no published range is drawn, and the title says only "this clinic"
                # Charts draw in any order: wait for the headline's own title, not whichever title came first.
                headline = "End of induction (PHQ-9): this clinic"
                page.wait_for_function(f"({TITLES})().some(t => t.text.startsWith({headline!r}))", timeout=60_000)
                titles = [t for t in page.evaluate(TITLES) if t["text"].startswith(headline)]
                assert [t["lines"] for t in titles] == [1], titles
    finally:
        page.close()


def test_meeting_mode_chart_titles_sit_above_their_filters_line_on_a_projector(browser, dashboard_url):
    """walk (proj-meeting_overview_00, proj-meeting_compare_01): at 1920 x 1080 every chart title in meeting mode
    was drawn over its "Filters:" line."""
    page = new_page(browser, viewport={"width": 1920, "height": 1080})
    try:
        for path in ("", "compare"):
            page.goto(f"{dashboard_url}/{path}?meeting=true")
            wait_for_app(page)
            page.locator(CHART).nth(PAGES[path] - 1).wait_for(timeout=60_000)
            page.wait_for_function(f"({TITLE_AND_FILTERS})().length >= {PAGES[path]}", timeout=60_000)
            settle(page, f"({TITLE_AND_FILTERS})().every({FILTERS_BELOW})")
            assert_filters_below_titles(page, path)
    finally:
        page.close()


def test_the_funnel_plot_keeps_a_readable_height_on_a_phone(browser, dashboard_url):
    """At 390 px the wrapped title and the legend's rows left the funnel's plot about 90-200 px high."""
    page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{dashboard_url}/compare")
        wait_for_app(page)
        # The funnel's own chart: charts draw in any order, so the first plot in the page may not be it yet.
        funnel = "document.querySelector('.st-key-compare_funnel .js-plotly-plot')"
        page.wait_for_function(f"() => {funnel}?._fullLayout?._size", timeout=60_000)
        settle(page, f"() => {funnel}._fullLayout._size.h >= 250")  # its margins settle after the first draw
        plot_height = page.evaluate(f"() => {funnel}._fullLayout._size.h")
        assert plot_height >= 250, plot_height
    finally:
        page.close()


CUT_TEXT = """() => [...document.querySelectorAll('[data-testid="stMetricLabel"], [data-testid="stMetricValue"],'
    + ' [data-testid="stDownloadButton"] button, [data-testid="stCheckbox"] [data-testid="stMarkdownContainer"]')].filter(e => e.getBoundingClientRect().width > 0).filter(e => {
        const box = e.querySelector('.stMarkdownEllipsis') || e;
        return box.scrollWidth > box.clientWidth + 1;
    }).map(e => e.innerText)"""


def test_tiles_and_download_buttons_are_not_cut_on_a_tablet(browser, dashboard_url):
    """At 820 x 1180 the sidebar stays open and the main column is about 490 px: tile labels read "Completed sessi…",
    the NHS measures "Reliable im…", the mart buttons "weekly_out…" twice and the Trajectories toggles "Intention to
    t…" and "Individual se…". They wrap now (dashboard/styles.py)."""
    page = new_page(browser, viewport={"width": 820, "height": 1180})
    try:
        for path, texts in (("", ["Completed sessions"]), ("response", ["Reliable deterioration"]),
                            ("trajectories", ["Intention to treat (limited LOCF, then BOCF)", "Individual series"]),
                            ("data", ["Weekly outcomes (CSV)", "Weekly outcomes, intention to treat (CSV)"])):
            page.goto(f"{dashboard_url}/{path}")
            wait_for_app(page)
            page.get_by_test_id("stMetric").or_(page.get_by_test_id("stDownloadButton")).first.wait_for(timeout=60_000)
            for text in texts:
                page.get_by_text(text, exact=True).first.wait_for(timeout=60_000)
            settle(page, f"({CUT_TEXT})().length === 0")  # the product's styles can land after the texts
            assert page.evaluate(CUT_TEXT) == [], path
    finally:
        page.close()


N_LABELS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(chart => {
    const frame = chart.getBoundingClientRect();
    const labels = [...chart.querySelectorAll('g.scatterlayer g.textpoint text')].filter(t => /^n=/.test(t.textContent))
        .map(t => { const r = t.getBoundingClientRect(); return {text: t.textContent, left: r.left, right: r.right,
                                                                  top: r.top, bottom: r.bottom}; });
    return {left: frame.left, right: frame.right, labels};
})"""


def test_trajectory_n_labels_neither_collide_nor_leave_the_chart_on_a_phone(browser, dashboard_url):
    """walk2/walk3: at 390 px the Overview's "n=590" lost its "n" at the chart's edge, n=135, n=114 and n=82 ran
    together, and Compare's three sites piled their labels into one cluster."""
    page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        for path in ("", "compare", "trajectories?split=route"):
            page.goto(f"{dashboard_url}/{path}")
            wait_for_app(page)
            page.locator(CHART).first.wait_for(timeout=60_000)
            # The trajectory is the chart with n= labels under its points (its place among the page's charts
            # moves as charts are added above it).
            page.wait_for_function(f"({N_LABELS})().some(c => c.labels.length >= 2)", timeout=60_000)
            settle(page, f"({N_LABELS})().every(c => c.labels.every(a => c.left <= a.left && a.right <= c.right "
                         "&& c.labels.every(b => a === b || !(a.left < b.right && b.left < a.right "
                         "&& a.top < b.bottom && b.top < a.bottom))))")
            frame = max(page.evaluate(N_LABELS), key=lambda c: len(c["labels"]))
            labels = frame["labels"]
            assert len(labels) >= 2, (path, labels)
            for a in labels:
                assert frame["left"] <= a["left"] and a["right"] <= frame["right"], (path, a)
            overlapping = [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
                           if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"]
                           and b["top"] < a["bottom"]]
            assert overlapping == [], path
    finally:
        page.close()


def test_the_adverse_events_chart_keeps_its_bars_and_legend_on_a_phone(browser, dashboard_url):
    """walk2/walk3: at 390 px the turned event names, the title and the legend left the bars about 20 px high, and
    the legend's "… or hidden to protect another" was cut at the right edge."""
    page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{dashboard_url}/safety")
        wait_for_app(page)
        # The adverse events chart itself: charts draw in any order, so the first plot in the page may be another.
        events = "document.querySelector('.st-key-safety_events .js-plotly-plot')"
        page.wait_for_function(f"() => {events}?.querySelector('g.legend') && {events}._fullLayout?._size",
                               timeout=60_000)
        settle(page, f"() => {events}._fullLayout._size.h >= 120")  # its margins settle after the first draw
        chart = page.evaluate("""() => { const c = document.querySelector('.st-key-safety_events .js-plotly-plot');
            const frame = c.getBoundingClientRect();
            return {plot: c._fullLayout._size.h, right: frame.right,
                    legend: [...c.querySelectorAll('g.legend text')].map(t => t.getBoundingClientRect().right)}; }""")
        assert chart["plot"] >= 120, chart
        assert chart["legend"] and max(chart["legend"]) <= chart["right"], chart
    finally:
        page.close()


Y_TITLES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(c => {
    const y = c.querySelector('.ytitle'), filters = c.querySelector('.gtitle-subtitle');
    return {title: c.querySelector('.gtitle')?.textContent, top: y?.getBoundingClientRect().top,
            filters_bottom: filters?.getBoundingClientRect().bottom}; })"""


def test_axis_titles_stay_below_the_filters_line_on_a_phone(browser, dashboard_url):
    """walk2/walk3: at 390 px "share of measured sessions" and "share of evaluable series", turned up the side of a
    short plot, ran over the chart's "Filters:" line. A long axis title takes two lines now."""
    page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{dashboard_url}/safety")
        wait_for_app(page)
        page.locator(CHART).nth(PAGES["safety"] - 1).wait_for(timeout=60_000)
        drawn = "c => c.top !== undefined && c.filters_bottom !== undefined"
        page.wait_for_function(f"({Y_TITLES})().filter({drawn}).length >= {PAGES['safety']}", timeout=60_000)
        settle(page, f"({Y_TITLES})().filter({drawn}).every(c => c.top >= c.filters_bottom)")
        charts = [c for c in page.evaluate(Y_TITLES) if c["top"] is not None and c["filters_bottom"] is not None]
        assert len(charts) >= PAGES["safety"]
        assert [c["title"] for c in charts if c["top"] < c["filters_bottom"]] == []
    finally:
        page.close()


# The page link holding TEXT, laid out uncut inside a 390 px screen (what the test below asserts).
LINK_FITS = """() => [...document.querySelectorAll('[data-testid="stPageLink-NavLink"]')]
    .filter(a => a.innerText.includes("TEXT")).every(a => {
        const m = a.querySelector('[data-testid="stMarkdownContainer"]');
        return m && [m, ...m.querySelectorAll('p')].every(x => x.scrollWidth <= x.clientWidth + 1)
               && a.getBoundingClientRect().right <= 390; })"""


def test_a_definitions_link_is_not_cut_in_meeting_mode_on_a_phone(browser, dashboard_url):
    """walk2/walk3: meeting mode's larger text on a 390 px phone cut the link to "How is end-of-induction response
    defi…", the one place that says where the definition is. It wraps now (dashboard/styles.py)."""
    page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{dashboard_url}/compare?meeting=true")
        wait_for_app(page)
        link = page.get_by_test_id("stPageLink-NavLink").filter(has_text="How is end-of-induction response defined?")
        link.wait_for(timeout=60_000)
        settle(page, LINK_FITS.replace("TEXT", "How is end-of-induction response defined?"))  # styles land late
        cut = link.locator('[data-testid="stMarkdownContainer"]').evaluate(
            "e => [e, ...e.querySelectorAll('p')].some(x => x.scrollWidth > x.clientWidth + 1)")
        assert cut is False
        assert link.bounding_box()["x"] + link.bounding_box()["width"] <= 390
    finally:
        page.close()


def test_the_definitions_reference_tables_stay_inside_a_phones_screen(browser, dashboard_url):
    """walk2/walk3: opened on a 390 px phone, the analysts' reference tables (docs/metrics.md) ran past the screen's
    right edge, their last column cut. A markdown table scrolls sideways inside its column now."""
    page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{dashboard_url}/definitions")
        wait_for_app(page)
        page.get_by_text("Every metric, mart column and SQL file (docs/metrics.md)").click()
        page.locator("details[open] table").first.wait_for(timeout=60_000)
        rights = "() => [...document.querySelectorAll('details[open] table')].map(t => t.getBoundingClientRect().right)"
        settle(page, f"Math.max(...({rights})()) <= 390")  # the page's styles can land after the expander opened
        widths = page.evaluate(rights)
        assert len(widths) > 5 and max(widths) <= 390, max(widths)
    finally:
        page.close()
