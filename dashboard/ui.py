"""Pieces every page uses: the title with the filters in force, the link to the definitions, the
suppression note, and the message for an empty database or an empty cohort."""

import html
import json
import re
from datetime import date

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from ketamine_outcomes.dashboard import data, filters, glossary, signin, tables
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.metrics.marts import Cohort
from ketamine_outcomes import kept
from ketamine_outcomes.safe_text import markdown
from ketamine_outcomes.safe_text import plotly as plotly_text

DEFINITIONS_PAGE = "app_pages/definitions.py"


def page(title: str, intro: str, patient_level: bool = False) -> filters.View:
    """Title, one line of purpose, and the view (instrument, cohort, mode) the sidebar selected.
    Stops the page with a helpful message when the database holds no treatment series yet.
    `patient_level`: a care-team page of exact counts, whose filters line must not claim suppression."""
    st.title(title)
    st.caption(intro)
    if data.is_empty():
        st.info("The database holds no treatment series yet. Upload session and outcome exports on the "
                "**Data** page (or run `ketamine-outcomes ingest`), and the charts will appear here.")
        if signin.may("upload"):
            st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload:")
        st.stop()
    view = filters.current()
    filters_line(view, patient_level)
    data_as_of()
    return view


STALE_DAYS = 14


def data_as_of() -> None:
    """The last session or assessment stored, on every page, with a warning when it is more than STALE_DAYS
    old: a meeting should know it is looking at last month's exports."""
    last = data.last_data_day()
    if last is None:
        st.caption("Data as of: the exports hold day offsets, not dates.")
        return
    age = (date.today() - last).days
    st.caption(f"Data as of {last:%Y-%m-%d} (the latest session or assessment stored).")
    if age > STALE_DAYS:
        st.warning(f"The data is {age} days old: the latest session or assessment stored is from {last:%Y-%m-%d}. "
                   "Upload the latest exports before reading these figures as current.", icon=":material/schedule:")


def filters_line(view: filters.View, patient_level: bool = False) -> None:
    """Printed once, under the page's title; each chart also names the filters under its own title."""
    st.caption(f"Filters: {markdown(view.caption(patient_level))}")  # site, clinician, indication names are export text


def definitions_link(topic: str) -> None:
    """A link that opens the Definitions page at the topic's card (shown first)."""
    card = glossary.card_for(topic)
    st.page_link(DEFINITIONS_PAGE, label=f"How is {topic} defined?", icon=":material/menu_book:",
                 query_params={"card": card.anchor} if card else None)


def selection(view: filters.View) -> panels.Selection:
    """The view as a panel selection (ketamine_outcomes/disclosure/panels.py): the same one the meeting pack builds."""
    return panels.Selection(view.instrument, view.cohort, view.disclosure, view.cases_only, data.caseness())


def panel_notes(panel: panels.Panel) -> None:
    """A panel's sentences under it: what suppression hid or rounded."""
    for note in panel.notes:
        if note:
            st.caption(note)


def suppression_note(hidden: bool, view: filters.View) -> None:
    if hidden:
        rounded = (f" Other counts are rounded to the nearest {view.disclosure.round_to}."
                   if view.disclosure.round_to > 1 else "")
        st.caption(f"Some cells are hidden: counts from 1 to {view.min_cell - 1}, and rates built on them or with "
                   f"fewer than {view.min_cell} left out of them (small-cell suppression).{rounded}")


def nothing_selected(view: filters.View, instrument: str | None = None) -> None:
    """Why a page has nothing to show: no assessment of the `instrument` it charts is stored at all (widening
    the filters would not help), the filters leave no series, or the database has none for it."""
    if instrument and instrument_missing(instrument):
        return
    if view.cohort != Cohort(baseline_instrument=view.cohort.baseline_instrument):
        st.warning("No treatment series match these filters. Widen the filters in the sidebar.")
    elif instrument:
        st.warning(f"No treatment series in this database has a {instrument} baseline to show.")
    else:
        st.warning("No treatment series in this database to show here.")


def instrument_missing(instrument: str) -> bool:
    """Say so, and return True, when no assessment of `instrument` is stored in this database."""
    if instrument in data.stored_instruments():
        return False
    st.warning(f"No {instrument} assessments are stored in this database. Choose another instrument in the "
               f"sidebar, or upload an outcomes export with {instrument} scores on the **Data** page.")
    return True


# Finished charts, by what they draw and the view they were drawn for: a repeated view (another viewer, the
# same link) sends the kept JSON instead of building the figure again (ketamine_outcomes/kept.py;
# builders defer inside kept.kept(), which data.held_for_this_run holds for each script run).
_drawn = kept.Drawings()


def chart(figure, key: str, view: filters.View) -> None:
    """Show a chart: its sentence when it has nothing to draw; else the figure with the filters under its
    title (so a PNG download or a screenshot explains itself), a text alternative, and a named PNG.
    `figure`: a Plotly figure, or a builder's Pending one, drawn only if not drawn before for this view."""
    kept_as = (figure.key, key, repr(view)) if isinstance(figure, kept.Pending) else None
    drawn = _drawn.get(kept_as) if kept_as else None
    if drawn is None:
        drawn = _draw(figure.build() if kept_as else figure, key, view)
        if kept_as:
            _drawn.put(kept_as, drawn)
    sentence, spec, alt, image, heading = drawn
    if sentence:
        st.info(sentence)
        return
    if heading:
        title_above(heading, key, view)
    # The kept JSON was checked by Plotly when it was drawn: not checked again.
    st.plotly_chart(go.Figure(json.loads(spec), skip_invalid=False, _validate=False), key=key, alt=alt, theme=None,
                    config={"displaylogo": False, "toImageButtonOptions": image})


# Meeting mode's saved PNG is laid out this wide (px, before its scale of 2), whatever the screen: its one-line
# title (PROJECTOR_TITLE_WIDTH) fits it with the plot's side margins, on a projector and on a phone alike.
MEETING_IMAGE_WIDTH = figures.PROJECTOR_TITLE_WIDTH + 100


def _draw(figure, key: str, view: filters.View) -> tuple[str | None, str | None, str | None, dict | None, str | None]:
    """(sentence when there is nothing to draw, the figure's JSON, its text alternative, how the modebar's camera
    saves it as a PNG (file name, scale, and in meeting mode its size), and in meeting mode the title the page
    writes above the chart)."""
    sentence = figures.is_nothing(figure)
    if sentence:
        return sentence, None, None, None, None
    figure.update_layout(title_subtitle_text=plotly_text(f"Filters: {view.caption()}"))
    image = {"filename": tables.file_name(figure.layout.title.text or key, view).removesuffix(".csv"), "scale": 2}
    alt = figures.describe(figure)
    heading = None
    if view.meeting_mode:
        # Meeting mode is forced on for viewers, who may be on a phone: a Plotly title is laid out once, on one
        # line for the projector, and ran off a 390 px screen. The page's own text wraps to any width and is one
        # line across a 1920 px projector, so the title and its filters line are written above the chart. The
        # figure keeps them, one line each, for a PNG saved from the modebar (a slide must say what it shows);
        # on screen the meeting styles hide them (styles.MEETING), and the PNG is laid out at a projector's width.
        heading = title_words(figure.layout.title.text or "")
        figures.for_projector(figure)  # a tall plot area on a 1920 x 1080 projector, text readable from the back
        image.update(width=MEETING_IMAGE_WIDTH, height=figure.layout.height)
    else:
        figures.for_screen(figure)  # fitted to a phone, after the file name and the text alternative took the title
    # theme=None (above): the product's template (palette, fonts, contrast), not Streamlit's chart theme.
    return None, pio.to_json(figure, validate=False), alt, image, heading


def title_words(title: str) -> str:
    """A Plotly title as plain words: its line breaks and tags gone, its HTML escapes (safe_text.plotly) undone;
    the caller escapes it again for markdown."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", title)).split())


def title_above(heading: str, key: str, view: filters.View) -> None:
    """Meeting mode: a chart's title and its filters as page text above it (styles.py sizes it), escaped: a
    title may name a site or a clinician from an export."""
    with st.container(key=f"chart_title_{key}"):
        st.markdown(f"**{markdown(heading)}**")
        st.caption(f"Filters: {markdown(view.caption())}")
