"""Guards two analysts uploading the same export at the same moment, in two chromium pages on one real
dashboard server: it is stored once (the second upload finds every line already stored), and neither page
shows an exception."""

import pytest

from conftest import SAMPLE_FILES, patient, start_dashboard, stop_server, wait_for_app
from ketamine_outcomes.store import database

pytestmark = [pytest.mark.browser, pytest.mark.server]

def test_the_same_export_uploaded_from_two_browsers_at_once_is_stored_once(browser, tmp_path):
    db = tmp_path / "clinic.duckdb"
    database.connect(db).close()
    server = start_dashboard(db)
    sessions = SAMPLE_FILES[1]
    try:
        pages = [patient(browser.new_context()).new_page() for _ in range(2)]  # two people, two sessions
        for page in pages:
            page.goto(f"{server.url}/data")
            wait_for_app(page)
            page.get_by_test_id("stFileUploader").wait_for(timeout=60_000)
        inputs = [page.get_by_test_id("stFileUploader").locator('input[type="file"]') for page in pages]
        # Both files leave the browsers together: Playwright's calls are quick, the ingests take seconds.
        for file_input in inputs:
            file_input.set_input_files(str(sessions))
        for page in pages:
            page.get_by_text("sessions.csv: sessions, batch").first.wait_for(timeout=120_000)
            wait_for_app(page)
        summaries = [page.get_by_text("sessions.csv: sessions, batch").first.inner_text() for page in pages]
        exceptions = [page.get_by_test_id("stException").count() for page in pages]
    finally:
        stop_server(server)
    assert exceptions == [0, 0]
    with database.open_file(db, read_only=True) as con:
        (lines,) = con.execute("select count(*) from read_csv($p, header = true, all_varchar = true)",
                               {"p": str(sessions)}).fetchall()[0]
        assert con.execute("select count(*) from sessions").fetchall() == [(lines,)]
        assert con.execute("select rows_inserted, rows_duplicate from batches order by batch_id").fetchall() == [
            (lines, 0), (0, lines)]
    assert sorted(" 0 inserted" in s for s in summaries) == [False, True], summaries
