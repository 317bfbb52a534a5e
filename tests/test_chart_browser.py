"""Guards, in Debian's chromium against the real dashboard, what only a browser shows of the charts and tables: a
chart saved as PNG from the modebar's camera in meeting mode carries its title and filters line (on screen they are
the page's text above the chart), laid out at a projector's width whatever the screen; on a phone and a tablet the
funnels' names stay apart and legends and axis titles inside the chart; a table column with "hidden" and "—"
cells sorts as numbers."""

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

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


# The chart whose title starts with `title` (charts draw in any order: never the first one drawn), with what a phone
# shows of it: its plot's height, its points' names, legend entries and x axis titles as boxes, and how many names
# its figure holds (so a wait can hold out until every one is drawn).
CHART_BOXES = """(title) => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')]
        .find(p => (p._fullLayout?.title?.text || '').replace(/<br>/g, ' ').startsWith(title));
    if (!plot || !plot.querySelector('.main-svg')) return null;
    const svg = plot.querySelector('.main-svg').getBoundingClientRect();
    const box = e => { const b = e.getBoundingClientRect();
        return {text: e.textContent, left: b.left - svg.left, right: b.right - svg.left, top: b.top, bottom: b.bottom}; };
    return {width: svg.width, plot: plot._fullLayout._size.h,
            expected: plot.data.filter(t => (t.mode || '').includes('text') && t.name && !t.name.startsWith('hidden'))
                                .reduce((n, t) => n + t.text.length, 0),
            names: [...plot.querySelectorAll('.scatterlayer .textpoint text')].map(box)
                       .filter(n => n.text && n.text !== 'hidden'),
            legend: [...plot.querySelectorAll('g.legend text')].map(box),
            axes: [...plot.querySelectorAll('.xtitle')].map(box)};
}"""


# The checks below, as JavaScript: the tests wait for them before asserting them.
NONE_OVERLAP = """boxes => boxes.every((a, i) => boxes.slice(i + 1).every(b =>
    !(Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1)))"""
ALL_INSIDE = "(boxes, width) => boxes.every(b => b.left >= -1 && b.right <= width + 1)"


def chart_boxes(page, title: str, settled: str = "c => true") -> dict:
    """Wait (90 s: a busy machine) until the chart titled `title` has drawn every point's name and its legend; then
    (bounded) until `settled(chart)` holds: Plotly draws the names before its margins settle (a second pass), so
    boxes read in between belong to a layout about to change. The test's assertions then read the chart."""
    page.wait_for_function(f"""() => {{ const c = ({CHART_BOXES})({title!r});
        return c && c.names.length >= c.expected && c.legend.length > 0; }}""", timeout=90_000)
    settle(page, f"() => ({settled})(({CHART_BOXES})({title!r}))")
    return page.evaluate(f"({CHART_BOXES})({title!r})")


def overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1]


def inside(boxes: list[dict], width: float) -> list[str]:
    """The texts that run past the chart's left or right edge (cut on screen)."""
    return [b["text"] for b in boxes if b["left"] < -1 or b["right"] > width + 1]


@pytest.mark.parametrize("width", [390, 820])
@pytest.mark.parametrize("by", ["site", "clinician"])
def test_funnel_names_legends_and_axis_titles_fit_a_phone_and_a_tablet(browser, dashboard_url, width, by):
    """walk: on a phone and a tablet the funnel's point names ran into one another ("Riverside" over "Lakeview"),
    and "expected responders (from the case-mix model)" ran past the chart's edge."""
    page = new_page(browser, viewport={"width": width, "height": 844 if width < 800 else 1180})
    try:
        page.goto(f"{dashboard_url}/compare?by={by}")
        wait_for_app(page)
        for title in (f"Funnel plot: end-of-induction response by {by}", "Adjusted for case mix"):
            chart = chart_boxes(page, title, f"c => c.names.length === c.expected && ({NONE_OVERLAP})(c.names) && "
                                             f"({ALL_INSIDE})([...c.names, ...c.legend, ...c.axes], c.width)")
            assert chart["expected"] >= 2 and len(chart["names"]) == chart["expected"], (title, chart["names"])
            assert overlapping(chart["names"]) == [], (width, title, chart["names"])
            assert inside(chart["names"] + chart["legend"] + chart["axes"], chart["width"]) == [], (width, title)
    finally:
        page.close()


@pytest.mark.parametrize("path, title, least", [
    ("?route=IV&route=oral", "End of induction (PHQ-9) by route", 150),
    ("response", "PHQ-9 and GAD-7 together: NHS Talking Therapies", 120)])
def test_the_by_route_and_talking_therapies_charts_keep_a_plot_on_a_phone(browser, dashboard_url, path, title, least):
    """walk: at 390 px the turned category names, the wrapped title and the legend's rows left the published-results
    chart a plot about 60 px high, the NHS Talking Therapies chart about 80."""
    page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{dashboard_url}/{path}")
        wait_for_app(page)
        chart = chart_boxes(page, title, f"c => c.plot >= {least} && ({ALL_INSIDE})([...c.legend, ...c.axes], c.width)")
        assert chart["plot"] >= least, chart["plot"]
        assert inside(chart["legend"] + chart["axes"], chart["width"]) == []
    finally:
        page.close()


def header_x(page, table, help_text: str) -> float:
    """The x (page px) of the header whose help is `help_text`: the grid draws its headers on a canvas, so the
    header is found by moving along the header row until its help shows (Streamlit's tooltip, after 0.6 s)."""
    for x in range(30, int(table.bounding_box()["width"]) - 10, 40):
        box = table.bounding_box()  # where it is now: the page above it may still be growing
        page.mouse.move(box["x"] + x, box["y"] + 17)
        try:
            page.wait_for_function("(text) => [...document.querySelectorAll('[role=tooltip]')]"
                                   ".some(e => e.textContent.includes(text))", arg=help_text, timeout=5_000)
            return box["x"] + x
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"no header with help {help_text!r}")


def column_values(table, header: str) -> list[str]:
    """What the grid holds for `header`'s column, in the order drawn, as a screen reader reads it (its accessible
    table: the rows on screen, each cell's value; a number's rank before its words is whitespace, not read)."""
    index = table.locator("th[role=columnheader]", has_text=header).first.get_attribute("aria-colindex")
    return [v.strip() for v in table.locator(f'td[role=gridcell][aria-colindex="{index}"]').all_text_contents()]


def test_a_column_with_hidden_and_dash_cells_sorts_as_numbers_in_the_browser(browser, dashboard_url):
    """walk: the weekly table's Series paired (week 0 "—", later weeks "hidden" and counts) was drawn as text and
    sorted as text; then its "hidden" cells held a number stand-in a screen reader read as "Infinity". Clicked, it
    sorts as numbers, its "—" and "hidden" cells after them (before them high to low), and every cell reads as drawn:
    a number, "—" or "hidden"."""
    page = new_page(browser, viewport={"width": 1280, "height": 1000})
    try:
        page.goto(f"{dashboard_url}/trajectories")
        wait_for_app(page)
        table = page.get_by_test_id("stDataFrame").filter(
            has=page.locator("th[role=columnheader]", has_text="Series paired")).first
        table.wait_for(timeout=90_000)
        page.locator(f"{PLOT} .main-svg").first.wait_for(timeout=90_000)  # the chart above it drawn: no more shifts
        table.scroll_into_view_if_needed()
        x = header_x(page, table, "Series with a baseline and a score that week.")
        for direction in ("ascending", "descending"):
            before = column_values(table, "Series paired")
            page.mouse.click(x, table.bounding_box()["y"] + 17)
            page.wait_for_function("([t, b]) => { const i = [...t.querySelectorAll('th[role=columnheader]')]"
                                   ".find(h => h.textContent.includes('Series paired')).getAttribute('aria-colindex');"
                                   " return JSON.stringify([...t.querySelectorAll(`td[aria-colindex='${i}']`)]"
                                   ".map(c => c.textContent.trim())) !== JSON.stringify(b); }",
                                   arg=[table.element_handle(), before], timeout=30_000)
            values = column_values(table, "Series paired")  # the rows on screen, from the top
            assert all(v.replace(",", "").isdigit() or v in ("hidden", "—") for v in values), values  # no Infinity
            kinds = [2 if v == "hidden" else 1 if v == "—" else 0 for v in values]
            numbers = [int(v.replace(",", "")) for v in values if v not in ("hidden", "—")]
            if direction == "ascending":
                assert numbers and numbers == sorted(numbers), values
                assert kinds == sorted(kinds), values  # the numbers, then "—", then "hidden"
            else:  # the sample's many hidden late weeks fill the top rows
                assert values[0] == "hidden" and kinds == sorted(kinds, reverse=True), values
                assert numbers == sorted(numbers, reverse=True), values
    finally:
        page.close()
