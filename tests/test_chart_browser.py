"""Guards, in Debian's chromium against the real dashboard, what only a browser shows of the charts: a chart saved
as PNG from the modebar's camera in meeting mode carries its title and filters line (on screen they are the page's
text above the chart), laid out at a projector's width whatever the screen."""

import numpy as np
import pytest
from PIL import Image

from conftest import new_page, settle, wait_for_app
from ketamine_outcomes.dashboard import ui

pytestmark = [pytest.mark.browser, pytest.mark.server]
PLOT = '[data-testid="stPlotlyChart"] .js-plotly-plot'


@pytest.mark.parametrize("width", [1920, 390])
def test_a_chart_saved_in_meeting_mode_carries_its_title(browser, dashboard_url, tmp_path, width):
    """walk: in meeting mode the PNG the camera saved had no title (the title is page text there), so a slide made
    from it did not say what it shows. Quality review has one chart."""
    page = new_page(browser, viewport={"width": width, "height": 1080 if width > 1000 else 844}, accept_downloads=True)
    try:
        page.goto(f"{dashboard_url}/quality_review?meeting=true")
        wait_for_app(page)
        heading = page.locator('[class*="st-key-chart_title_"] [data-testid="stMarkdownContainer"] p').first
        heading.wait_for(timeout=60_000)
        chart = page.locator(PLOT).first
        chart.locator(".main-svg").first.wait_for(timeout=60_000)
        page.wait_for_function(f"() => document.querySelector('{PLOT}')?._fullLayout?.title?.text", timeout=60_000)
        figure = chart.evaluate("c => ({title: c._fullLayout.title.text, subtitle: c._fullLayout.title.subtitle.text,"
                                " height: c._fullLayout.height, top: c._fullLayout.margin.t})")
        # The figure's title is the page's heading, with its filters line; on screen neither is drawn in the chart.
        assert figure["title"] == heading.inner_text() and figure["subtitle"].startswith("Filters: PHQ-9")
        # (The meeting styles that hide them can land after the chart is drawn.)
        settle(page, "() => [...document.querySelectorAll('.gtitle tspan, .gtitle-subtitle')]"
                     ".every(e => e.getBoundingClientRect().width === 0)")
        assert chart.locator(".gtitle tspan:visible, .gtitle-subtitle:visible").count() == 0
        camera = chart.locator('.modebar-btn[data-title^="Download plot"]')
        camera.wait_for(state="attached", timeout=60_000)
        # Mid-screen, clear of the app's header (on a phone the chart's top, where the modebar is, sat under it).
        camera.evaluate("button => button.scrollIntoView({block: 'center'})")
        chart.hover()
        with page.expect_download(timeout=60_000) as saved:
            camera.click(force=True)  # the modebar shows on hover; force: its fade-in is not awaited
        path = tmp_path / saved.value.suggested_filename
        saved.value.save_as(path)
        assert path.name.startswith("End-of-induction-response") and path.suffix == ".png"
        image = np.asarray(Image.open(path).convert("L"))
        # Laid out at a projector's width at scale 2, on a phone too: the one-line title fits it.
        assert image.shape == (2 * figure["height"], 2 * ui.MEETING_IMAGE_WIDTH)
        # The band above the plot holds the title's and the filters line's text: dark pixels, not an empty margin.
        band = image[: 2 * figure["top"] - 8, : image.shape[1] // 2]
        assert (band < 100).sum() > 2000, (band < 100).sum()
    finally:
        page.close()
