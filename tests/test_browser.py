"""Guards what a person sees: the real dashboard, served by `streamlit run`, in Debian's chromium."""

import duckdb
import pytest

from conftest import ARTIFACTS
from ketamine_outcomes import metrics

pytestmark = pytest.mark.browser


def test_overview_shows_the_sample_clinic(page, dashboard_url, sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    activity = metrics.activity(con).iloc[0]
    con.close()
    page.goto(dashboard_url)
    values = page.get_by_test_id("stMetricValue")
    values.first.wait_for(timeout=30_000)
    assert values.all_text_contents()[:4] == [f"{int(n):,}" for n in (
        activity.n_series, activity.n_active_series, activity.n_patients, activity.n_sessions)]
    assert page.get_by_test_id("stException").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
