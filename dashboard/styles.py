"""The dashboard's own styles, in one place (Streamlit's theme, colours and fonts, is in .streamlit/config.toml).

Streamlit cuts a tile's label, a tile's value and a button's label with an ellipsis when its column is narrow:
with the sidebar open on a tablet (820 px) the main column is about 490 px, and four tiles in a row read
"Completed sessi…", five NHS measures "Reliable im…", and two download buttons the same "Weekly outco…". Here
they wrap instead, and a row of tiles or buttons whose columns would fall under a readable width wraps onto a
second row (Streamlit's column rows already wrap; a minimum width makes them). A toggle's or a checkbox's label
wraps too: three controls in a row on the Trajectories page read "Intention to t…" and "Individual se…". So does
a link to a definition: in meeting mode's larger text a phone read "How is end-of-induction response defi…". A
table written in markdown (the Definitions page's reference) scrolls sideways inside its column instead of running
past the screen's edge."""

import streamlit as st

BASE = """
[data-testid="stMetricLabel"] .stMarkdownEllipsis, [data-testid="stMetricValue"] .stMarkdownEllipsis,
[data-testid="stDownloadButton"] .stMarkdownEllipsis,
[data-testid="stMetricLabel"] .stMarkdownEllipsis p, [data-testid="stMetricValue"] .stMarkdownEllipsis p,
[data-testid="stDownloadButton"] .stMarkdownEllipsis p {
    white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: break-word;
}
[data-testid="stCheckbox"] [data-testid="stWidgetLabel"], [data-testid="stCheckbox"] [data-testid="stWidgetLabel"] *,
[data-testid="stPageLink-NavLink"] [data-testid="stMarkdownContainer"],
[data-testid="stPageLink-NavLink"] [data-testid="stMarkdownContainer"] p {
    white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: break-word;
}
[data-testid="stMarkdownContainer"] table {
    display: block; max-width: 100%; overflow-x: auto;
}
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stMetric"]) > [data-testid="stColumn"] {
    min-width: 6.5rem;
}
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stDownloadButton"]) > [data-testid="stColumn"] {
    min-width: 9rem;
}
"""
# Meeting mode: Streamlit sizes text in rem, so a larger root scales titles, tile numbers and body text together.
# A chart's title is page text above it in meeting mode (ui.title_above): it wraps on a phone and is one line on a
# projector, which a Plotly title, laid out once for one width, cannot be both. The title keeps its paragraph's
# margin: Streamlit pulls the element after a markdown block up by that margin, so with none the "Filters:" line
# was drawn over the title (walk: at 1920 x 1080 and at 390 px). The figure keeps its own title and filters line
# for a PNG saved from the modebar (ui._draw); on screen they are hidden here, as the page's text says them. A
# style of the page does not reach the saved image: Plotly draws that from the figure.
MEETING = """html {font-size: 20px;}
[class*="st-key-chart_title_"] [data-testid="stMarkdownContainer"] p {font-size: 1.3rem;}
[class*="st-key-chart_title_"] {gap: 0;}
[data-testid="stPlotlyChart"] .infolayer .gtitle, [data-testid="stPlotlyChart"] .infolayer .gtitle-subtitle {
    display: none;
}
"""


def apply(meeting: bool) -> None:
    """Style-only HTML takes no room on the page (Streamlit sends it to the page's event container)."""
    st.html(f"<style>{BASE}{MEETING if meeting else ''}</style>")
