"""Guards what a person sees: the real dashboard, served by `streamlit run`, in Debian's chromium."""

import pytest

from conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_overview_shows_the_sample_clinic(page, dashboard_url):
    page.goto(dashboard_url)
    values = page.get_by_test_id("stMetricValue")
    values.first.wait_for(timeout=30_000)
    assert values.all_text_contents()[:3] == ["600", "3,580", "5,120"]
    assert page.get_by_test_id("stException").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
