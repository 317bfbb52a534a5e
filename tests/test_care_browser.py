"""Guards the patient-level pages in Debian's chromium against a real Streamlit server: a series' view, opened by
its link, says what series_summary says about it; a process change recorded on Quality review is drawn on the
p-chart with the limits recalculated from it, its label as text."""

import shutil

import pytest

from conftest import start_dashboard, stop_server, wait_for_app
from ketamine_outcomes.care import chart_notes
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database

pytestmark = [pytest.mark.browser, pytest.mark.server]
CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg'


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_db):
    """The sample clinic on its own server (notes recorded here must not reach other tests' charts)."""
    db = tmp_path_factory.mktemp("care") / "clinic.duckdb"
    shutil.copy(sample_db, db)
    process = start_dashboard(db)
    yield process.url, db
    stop_server(process)


def settled(page) -> None:
    """The page's script run has finished ("not running" alone was true before the first run began, too)."""
    wait_for_app(page, timeout=120_000)


STATUSES = ("remission", "response", "no response", "no score", "not reached", "no baseline")


@pytest.mark.parametrize("status", STATUSES)
def test_a_series_view_opened_by_its_link_states_the_marts_classification(page, served, status):
    """For a series of each end status (closed where the sample has one; for "no baseline" a dropout, which has no
    score at all and is still classified), the page read in chromium says what series_summary says."""
    url, db = served
    con = database.open_file(db, read_only=True)
    try:
        summary = marts.series_summary(con, "PHQ-9")
    finally:
        con.close()
    rows = summary[summary.end_status == status]
    row = (rows[rows.is_dropped_out] if status == "no baseline" else rows.sort_values("is_evaluable", ascending=False)
           ).iloc[0]
    page.goto(f"{url}/series?series={row.series_id.replace('#', '%23')}")
    page.get_by_role("heading", name="Sessions").wait_for(timeout=120_000)
    settled(page)
    reasons = page.get_by_test_id("stTable").first
    cells = {name: reasons.locator("tr").filter(has_text=name).locator("td").first.inner_text().strip()
             for name in ("end-of-induction status", "completed sessions", "dropped out", "evaluable")}
    assert cells == {"end-of-induction status": status, "completed sessions": str(row.sessions_completed),
                     "dropped out": "yes" if row.is_dropped_out else "no",
                     "evaluable": "yes" if row.is_evaluable else ("no" if status == "no baseline" else "not yet")}
    assert page.get_by_role("heading", name=row.series_id).count() == 1
    if status != "no baseline":
        page.locator(CHART).first.wait_for(timeout=60_000)


def test_a_process_change_is_drawn_on_the_p_chart_with_limits_recalculated(page, served):
    url, db = served
    page.goto(f"{url}/quality_review?period=quarter")
    settled(page)
    page.locator(CHART).first.wait_for(timeout=60_000)
    page.get_by_text("Notes on the charts: record a process change").click()
    page.get_by_label("What changed").fill("<b>new</b> dosing protocol")
    for part, value in (("year", "2024"), ("month", "12"), ("day", "20")):
        field = page.get_by_role("spinbutton", name=f"{part}, Date the change took effect")
        field.click()
        field.type(value)
    page.get_by_role("button", name="Record the note").click()
    page.get_by_text("Recorded: 2024-12-20").wait_for(timeout=60_000)
    settled(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.locator(".annotation-text", has_text="dosing protocol").first.wait_for(timeout=60_000)
    texts = chart.locator(".annotation-text").all_text_contents()
    assert any(t.startswith("<b>new</b> dosing protocol") and "(limits recalculated)" in t for t in texts)
    con = database.open_file(db, read_only=True, wait_seconds=30)
    try:
        kept = chart_notes.notes(con)
    finally:
        con.close()
    assert kept[["label", "recalculate_limits"]].values.tolist() == [["<b>new</b> dosing protocol", True]]
