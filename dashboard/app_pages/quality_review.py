"""Quality review: a p-chart of end-of-induction response with special-cause signals, one point per
month or quarter (chosen by the clinic's size), the latest closed period's numbers, and the meeting
pack to download. Hidden periods leave a gap and draw nothing their n could be worked out from."""

import streamlit as st

from ketamine_outcomes.dashboard import data, filters, notes, signin, ui
from ketamine_outcomes.metrics import quality
from ketamine_outcomes.report import pack
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.safe_text import markdown


def _bounds(label: str):
    """A period's first and last day from its label (2025-Q2, 2025-04)."""
    period = pack.parse_period(label)
    return period.start, period.end

view = ui.page("Quality review", "Period by period: is end-of-induction response stable, or is something changing?")
GRAINS = {"month": "start_month", "quarter": "start_quarter"}
# The headline cohort (cases at baseline unless cleared), as the Overview and the meeting pack count it.
selection = ui.selection(view)
headline = view.headline(data.caseness())
undated = data.mart("cohort_comparison", instrument=view.instrument, by="start_month", cohort=selection.rated_cohort())
undated = undated[undated.group_value == "unknown"]
periods = {grain: panels.periods(data.mart, selection, grain) for grain in GRAINS}
if periods["month"].empty and not undated.empty:
    st.info("These series come from exports with day offsets instead of dates, so they cannot be placed in "
            "calendar months. A quality review by period needs dated exports (a limited data set under a data "
            "use agreement).")
    st.stop()
if periods["month"].empty:
    ui.nothing_selected(view, view.instrument)
    st.stop()

suggested = panels.choose_grain(periods["month"], view.disclosure)
filters.choice("quality_period", list(GRAINS))
st.session_state.setdefault("quality_period", suggested)  # kept between pages and in the link (filters.py)
grain = st.radio("One point per", list(GRAINS), horizontal=True, key="quality_period",
                 help=f"Suggested for this clinic: {suggested} (months when most months can be shown under "
                      "small-cell suppression, else quarters).")
frame = periods[grain]
# Process changes the clinic noted: marked, and where asked the limits start again there (Making Data Count).
changes = notes.in_force()
# A period still being scored has a provisional rate (the series that finished early): drawn apart, not judged.
panel = panels.p_chart(data.mart, selection, grain, changes)
chart, hidden = panel.data["chart"], panel.data["hidden"]
st.caption(panel.cohort)  # our own words: no export text in it
ui.chart(panel.figure, "quality_p_chart", headline)
notes.listed(changes)
still_open = chart[chart.still_open].period.tolist()
if still_open:
    st.caption(f"Still open: {', '.join(still_open)}. Some series started in {'it' if len(still_open) == 1 else 'them'} "
               f"are still within their end-of-induction window, so the rate is provisional: drawn as a hollow point "
               f"labelled \"still open\", and left out of the centre line, the limits and the special-cause rules.")
n_hidden = int(chart.hidden.sum())
if n_hidden:
    st.caption(f"{n_hidden} of {len(chart)} {grain}s hidden (small-cell suppression): fewer than {view.min_cell} "
               "series scored, responding or not responding. Hidden periods draw no point and no limits; the centre "
               "line is the rate of the closed periods shown.")
if grain == "month" and n_hidden > len(chart) / 2:
    st.info("Most months are hidden at this clinic's size: choose one point per quarter.")
st.caption("p-chart: centre line is the overall rate of the closed periods shown; limits are 3 standard errors for each "
           "period's n. Orange points meet a special-cause rule (NHS England, Making Data Count): outside the "
           "limits, 7 in a row on one side, 7 steadily rising or falling, or 2 of 3 beyond two-thirds of the way "
           "to a limit.")
ui.definitions_link("end-of-induction response")
notes.editor(view, changes)

st.subheader("Special-cause signals")
if not panel.data["signals"]:
    st.write(panel.data["no_signal"])
else:
    for signal in panel.data["signals"]:
        st.markdown(f"- {markdown(signal)}")

closed = quality.closed_periods(frame)
if not closed:
    st.info(f"No {grain} has closed yet: series started in it are still within their end-of-induction window.")
    st.stop()
latest = closed[-1]

st.subheader(f"Series started in {latest} (the latest closed {grain})")
st.caption(f"Closed: every series started in it has had its end-of-induction window close before the data's "
           f"last day. Later {grain}s are still being scored.")
latest_panel = panels.period_numbers(data.mart, selection, *_bounds(latest), latest)
if latest_panel.empty:
    st.info(latest_panel.empty)
else:
    # The same panel as the pack's headline for this period: the same cohort and the same numbers.
    counts, opening = latest_panel.data["counts"], latest_panel.data["period_counts"]
    tiles = st.columns(4 + len(latest_panel.tiles))
    opening_help = {"started": "Every series started in the period, as the pack's headline counts it.",
                    "counted": "Of those, the series the rates count: " + latest_panel.cohort}
    for column, (key, label) in zip(tiles, panels.PERIOD_COUNTS.items()):
        column.metric(label[:1].upper() + label[1:], opening[key], help=opening_help[key])
    for column, (label, value) in zip(tiles[2:], (("Evaluable", counts.n_evaluable), ("Scored", counts.n_scored))):
        column.metric(label, value)
    for column, tile in zip(tiles[4:], latest_panel.tiles):
        column.metric(f"{tile.label}, {tile.basis}", tile.value, help=tile.help)
    st.caption("Response and remission: observed (of the series scored), then intention to treat (of the evaluable). "
               + latest_panel.cohort)
    ui.panel_notes(latest_panel)

st.subheader("Meeting pack")
pack_period = st.selectbox("Series started in", closed[::-1], key="quality_pack_period",
                           help=f"Closed {grain}s only: every series started in them has been scored or has dropped out.")


def _pack() -> bytes:
    # Runs when the button is pressed, on its own thread: it opens its own connection.
    with data.connection() as con:
        return pack.html_pack(con, instrument=view.instrument, cohort=view.cohort,
                                period=pack.parse_period(pack_period), min_cell=view.min_cell,
                                cases_only=view.cases_only).encode()


signin.recorded_download("Meeting pack (HTML)", _pack, "export", f"meeting pack {view.instrument} {pack_period}",
                         file_name=f"meeting-pack_{view.instrument}_{pack_period}.html", mime="text/html",
                         key="quality_pack_download", icon=":material/download:")
pack_min_cell = max(pack.MEETING_MIN_CELL, view.min_cell, int(data.settings().get("min_cell_size", 0)))
st.caption(f"One file for the meeting, for the filters in force: headline, trajectory, p-chart, funnel plots, safety, "
           f"data quality and definitions, with counts under {pack_min_cell} suppressed (never fewer than 11). It "
           "opens offline and prints a page per section; for a PDF: "
           f"`ketamine-outcomes report --period {pack_period} --out pack.pdf`.")
