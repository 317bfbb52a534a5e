"""The sidebar every page shares: instrument, cohort filters, meeting mode and small-cell threshold.
Widgets live in the entry file, so their values persist while the user moves between pages; pages
read them through current()."""

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from dashboard import data
from ketamine_outcomes.definitions import INSTRUMENTS
from ketamine_outcomes.metrics import Cohort

MEETING_MIN_CELL = 11


@dataclass(frozen=True)
class View:
    instrument: str
    cohort: Cohort
    meeting_mode: bool
    min_cell: int  # counts 1..min_cell-1 are suppressed; 0 turns suppression off
    internal: bool = False  # below the clinic's threshold: small numbers shown, not for circulation

    def caption(self) -> str:
        suppression = f"counts under {self.min_cell} suppressed" if self.min_cell > 1 else "no suppression"
        internal = "INTERNAL, not for circulation · " if self.internal else ""
        return f"{internal}{self.instrument} · {self.cohort.describe()} · {suppression}"


def _options(column: str) -> list[str]:
    frame = data.table(f"select distinct {column} as value from int_treatment_series order by 1")
    return [v for v in frame.value.tolist() if v is not None]


def sidebar(meeting_forced: bool = False) -> None:
    """Draw the shared filters (call from the entry file on every run). `meeting_forced`: the role may
    only see the meeting view (set on the server each run, so the browser cannot turn it off)."""
    if st.session_state.pop("filters_collapse_sidebar", False):
        # Turning meeting mode on gives the screen to the charts; the sidebar can still be opened.
        st.set_page_config(initial_sidebar_state="collapsed")
    with st.sidebar:
        # First in the sidebar, so it is found without scrolling in front of a meeting.
        if meeting_forced:
            st.session_state["filters_meeting_mode"] = True
        meeting = st.toggle("Meeting mode", key="filters_meeting_mode", on_change=_meeting_changed,
                            disabled=meeting_forced,
                            help="Larger text and charts, sidebar folded away, no patient-level rows, no "
                                 "downloads but the (suppressed) meeting pack, small-cell suppression forced on.")
        st.selectbox("Instrument", list(INSTRUMENTS), key="filters_instrument",
                     help="The questionnaire every outcome chart uses.")
        st.multiselect("Site", _options("site"), key="filters_sites")
        st.multiselect("Route", _options("route"), key="filters_routes")
        st.multiselect("Indication", _options("indication"), key="filters_indications")
        st.multiselect("Clinician", _options("clinician_id"), key="filters_clinicians")
        st.multiselect("Age band", _options("age_band"), key="filters_age_bands")
        st.multiselect("Sex", _options("sex"), key="filters_sexes")
        st.checkbox("First series only", key="filters_first_series_only",
                    help="Leave out re-inductions (a patient's second and later series).")
        first, last = _start_extent()
        if first is not None:
            st.date_input("Series started between", value=(first, last), min_value=first, max_value=last,
                          key="filters_start_range")
        st.number_input("Minimum baseline score", min_value=0, max_value=80, value=0, step=1,
                        key="filters_min_baseline",
                        help="e.g. 10 on PHQ-9 keeps moderate or worse depression. 0: no minimum.")
        st.divider()
        default_cell = int(data.settings().get("min_cell_size", MEETING_MIN_CELL))
        st.number_input("Suppress counts below", min_value=0, max_value=100, value=default_cell, step=1,
                        key="filters_min_cell", disabled=meeting,
                        help="Counts from 1 to this minus 1, and rates built on them, are hidden. 0: off.")
    view = current()
    if view.internal:
        st.warning(f"**Internal view, not for circulation.** Counts under {_clinic_min_cell()} are shown here, with "
                   "wide intervals: a handful of series is not evidence of a trend, and small numbers can identify "
                   "a patient. The suppression rule (CMS) is for anything shown beyond the care team; meeting mode "
                   "and the meeting pack always apply it.", icon=":material/lock:")
    if meeting:
        # Streamlit sizes text in rem: a larger root scales titles, KPI numbers and body text together.
        st.markdown("<style>html {font-size: 20px;}</style>", unsafe_allow_html=True)


def _meeting_changed() -> None:
    if st.session_state.get("filters_meeting_mode"):
        st.session_state["filters_collapse_sidebar"] = True


def current() -> View:
    state = st.session_state
    start_range = state.get("filters_start_range") or ()
    start_from, start_to = (tuple(start_range) + (None, None))[:2] if start_range else (None, None)
    # The full default range is "no filter": series from day-offset exports have no date.
    if (start_from, start_to) == _start_extent():
        start_from = start_to = None
    cohort = Cohort(
        sites=tuple(state.get("filters_sites", ())), routes=tuple(state.get("filters_routes", ())),
        indications=tuple(state.get("filters_indications", ())),
        clinicians=tuple(state.get("filters_clinicians", ())), age_bands=tuple(state.get("filters_age_bands", ())),
        sexes=tuple(state.get("filters_sexes", ())), first_series_only=bool(state.get("filters_first_series_only")),
        start_from=start_from, start_to=start_to, min_baseline=(state.get("filters_min_baseline") or None),
        baseline_instrument=state.get("filters_instrument", "PHQ-9"),
    )
    meeting = bool(state.get("filters_meeting_mode"))
    min_cell = int(state.get("filters_min_cell", MEETING_MIN_CELL))
    if meeting:
        min_cell = max(min_cell, MEETING_MIN_CELL)
    return View(state.get("filters_instrument", "PHQ-9"), cohort, meeting, min_cell,
                internal=min_cell < _clinic_min_cell())


def _clinic_min_cell() -> int:
    """The clinic's suppression threshold (the min_cell_size setting): below it a view is internal."""
    return int(data.settings().get("min_cell_size", MEETING_MIN_CELL))


def _start_extent() -> tuple[date | None, date | None]:
    """The first and last series start dates (None for exports with day offsets)."""
    extent = data.table("select min(start_date) as first, max(start_date) as last from int_treatment_series")
    return _as_date(extent["first"].iloc[0]), _as_date(extent["last"].iloc[0])


def _as_date(value) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()
