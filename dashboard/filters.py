"""The sidebar every page shares: instrument, cohort filters, meeting mode and small-cell threshold, and the
view in the URL. Widgets live in the entry file, so their values persist while the user moves between
pages; pages read them through current().

A view is a link: every filter and each page's choices are written to the address bar under the CLI's
flag names (`/trajectories?instrument=GAD-7&site=Northside&split=route`), and a link opened later (or sent
to a colleague) sets them again. Values a link gives that this database does not know are ignored, and
the sidebar says which."""

from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from ketamine_outcomes.dashboard import data, styles
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.definitions import OUTCOME_INSTRUMENTS
from ketamine_outcomes.privacy import DisallowedView, check_equity_view
from ketamine_outcomes.metrics.marts import Cohort, with_caseness
from ketamine_outcomes.safe_text import markdown

MEETING_MIN_CELL = 11
MAX_BASELINE = 80


@dataclass(frozen=True)
class View:
    instrument: str
    cohort: Cohort
    meeting_mode: bool
    min_cell: int  # counts 1..min_cell-1 are suppressed; 0 turns suppression off
    internal: bool = False  # below the clinic's threshold: small numbers shown, not for circulation
    cases_only: bool = True  # headline end-of-induction rates: series at or above caseness at baseline

    def headline(self, caseness: dict[str, float]) -> "View":
        """The view for headline end-of-induction rates: with cases_only, series at or above caseness at
        baseline on the instrument (metrics.caseness_cohort; `caseness`: instrument -> threshold in force)."""
        cohort = with_caseness(self.cohort, self.instrument, caseness) if self.cases_only else self.cohort
        return self if cohort is self.cohort else replace(self, cohort=cohort)

    @property
    def disclosure(self) -> panels.Disclosure:
        """What this view may show (panels.disclosure_for): counts under min_cell hidden, the others rounded
        to 5, exact in the analyst's internal view (below the clinic's threshold)."""
        return panels.disclosure_for(self.min_cell, self.internal)

    def caption(self, patient_level: bool = False, instrument: "str | None | bool" = True, filtered: bool | str = True,
                analyst_file: bool = False) -> str:
        """The filters in force in one line. `patient_level`: a page or file of patient rows for the care team,
        whose counts are exact whatever the threshold (never shown in meeting mode or the pack). What a table
        follows (tables.download): `instrument` True for the view's, a name for one it always reads, None for
        none; `filtered` False for a table of the whole clinic, whatever the sidebar's cohort filters (it then
        says so instead of naming filters it does not apply), or the words for what else it covers (one series); `analyst_file`: a mart as built, never suppressed."""
        if patient_level:
            suppression = "patient-level, exact counts"
        elif analyst_file:
            suppression = "exact counts, small cells not suppressed"
        elif self.min_cell <= 1:
            suppression = "no suppression"
        elif self.disclosure.round_to > 1:
            suppression = f"counts under {self.min_cell} suppressed, others rounded to {self.disclosure.round_to}"
        else:
            suppression = f"counts under {self.min_cell} suppressed"
        internal = "INTERNAL, not for circulation · " if self.internal or analyst_file else ""
        shown_instrument = self.instrument if instrument is True else instrument
        cohort = self.cohort.describe() if filtered is True else NOT_FILTERED if filtered is False else filtered
        return internal + " · ".join(p for p in (shown_instrument, cohort, suppression) if p)


# What a table of the whole clinic says in place of the filters it does not apply (its caption, file name and
# first line alike).
NOT_FILTERED = "whole clinic, not filtered"


# Sidebar lists: URL name (the CLI's flag) -> (session key, column of int_treatment_series).
LISTS = {"site": ("filters_sites", "site"), "route": ("filters_routes", "route"),
         "indication": ("filters_indications", "indication"), "clinician": ("filters_clinicians", "clinician_id"),
         "age-band": ("filters_age_bands", "age_band"), "sex": ("filters_sexes", "sex"),
         "ethnicity": ("filters_ethnicities", "ethnicity"),
         "deprivation-decile": ("filters_deprivation_deciles", "deprivation_decile")}
# Quasi-identifiers (privacy.check_equity_view): offered as cohort_series groups them, a category held by
# fewer than min_cell_size patients only as 'other'.
EQUITY_COLUMNS = ("ethnicity", "deprivation_decile")
# Each page's own choices: page URL path -> {URL name: session key}. Keys listed here persist between pages.
PAGE_CHOICES = {
    "trajectories": {"split": "trajectories_split", "itt": "trajectories_itt", "series": "trajectories_spaghetti"},
    "compare": {"by": "compare_by"},
    "quality_review": {"period": "quality_period"},
    "safety": {"by": "safety_by", "item9-by": "safety_item9_by", "cadss-by": "safety_cadss_by"},
    "durability": {"by": "durability_by"},
}
KEPT = {"definitions": ("card",), "series": ("series",)}  # parameters a page reads itself
FLAGS = {"first-series-only": "filters_first_series_only", "meeting": "filters_meeting_mode"}
# Flags that are on by default: written to the link only when cleared (cases-only=false).
DEFAULT_ON = {"cases-only": "filters_cases_only"}
TRUE = ("1", "true", "yes", "on")


def _options(column: str) -> list[str]:
    if column in EQUITY_COLUMNS:
        frame = data.table(f"select distinct equity_group({column}, count(distinct patient_id) over "
                           f"(partition by {column})) as value from int_treatment_series")
        return sorted((v for v in frame.value.tolist() if v is not None),
                      key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))
    frame = data.table(f"select distinct {column} as value from int_treatment_series order by 1")
    return [v for v in frame.value.tolist() if v is not None]


def sidebar(page_path: str = "", meeting_forced: bool = False, below_floor: bool = False) -> None:
    """Draw the shared filters (call from the entry file on every run, before the page), after taking any
    view a link gives; then write the view to the address bar. `meeting_forced`: the role may only see the
    meeting view (set on the server each run, so neither the browser nor a link can turn it off).
    `below_floor`: the role may lower suppression below the clinic's min_cell_size (an analyst's internal
    view); for any other role a lower threshold, from the sidebar or a link, is raised to it."""
    _keep_page_choices()
    st.session_state["filters_below_floor"] = below_floor  # set on the server each run, like meeting_forced
    ignored = _read_link(page_path)
    state = st.session_state
    if meeting_forced and not state.get("filters_meeting_mode"):
        state["filters_collapse_sidebar"] = True  # a meeting-only role starts in meeting mode, sidebar folded
    if state.pop("filters_collapse_sidebar", False):
        # Meeting mode turned on (the toggle, a link with meeting=true, a meeting role) gives the screen to the
        # charts; the sidebar can still be opened.
        st.set_page_config(initial_sidebar_state="collapsed")
    first, last = _start_extent()
    state.setdefault("filters_min_baseline", 0)
    state.setdefault("filters_cases_only", True)
    state.setdefault("filters_min_cell", _clinic_min_cell())
    floor = _floor()
    if state["filters_min_cell"] < floor:
        state["filters_min_cell"] = floor
    if first is not None:
        state.setdefault("filters_start_range", (first, last))
    if meeting_forced:
        state["filters_meeting_mode"] = True
    with st.sidebar:
        # First in the sidebar, so it is found without scrolling in front of a meeting.
        meeting = st.toggle("Meeting mode", key="filters_meeting_mode", on_change=_meeting_changed,
                            disabled=meeting_forced,
                            help="Larger text and charts, sidebar folded away, no patient-level rows, no "
                                 "downloads but the (suppressed) meeting pack, small-cell suppression forced on.")
        st.selectbox("Instrument", list(OUTCOME_INSTRUMENTS), key="filters_instrument",
                     help="The questionnaire every outcome chart uses.")
        st.multiselect("Site", _options("site"), key="filters_sites")
        st.multiselect("Route", _options("route"), key="filters_routes")
        st.multiselect("Indication", _options("indication"), key="filters_indications")
        st.multiselect("Clinician", _options("clinician_id"), key="filters_clinicians")
        st.multiselect("Age band", _options("age_band"), key="filters_age_bands")
        st.multiselect("Sex", _options("sex"), key="filters_sexes")
        _equity_filters()
        st.checkbox("First series only", key="filters_first_series_only",
                    help="Leave out re-inductions (a patient's second and later series).")
        if first is not None:
            st.date_input("Series started between", min_value=first, max_value=last, key="filters_start_range",
                          help="Whole calendar months under suppression (the 10th to the 20th counts the whole "
                               "of both months: two ranges a day apart would give the series started that day); "
                               "any days in an analyst's internal view.")
        st.number_input("Minimum baseline score", min_value=0, max_value=MAX_BASELINE, step=1,
                        key="filters_min_baseline",
                        help="e.g. 10 on PHQ-9 keeps moderate or worse depression. 0: no minimum.")
        st.checkbox("Headline rates: cases only", key="filters_cases_only",
                    help="End-of-induction headline rates (Overview, meeting pack) count series at or above caseness "
                         "at baseline (NHS Talking Therapies: PHQ-9 10 or more, GAD-7 8 or more), since a clinic's mild "
                         "cases inflate remission. Clear it to count every series. A minimum baseline above replaces it; "
                         "other instruments have no caseness threshold.")
        st.divider()
        st.number_input("Suppress counts below", min_value=floor, max_value=100, step=1,
                        key="filters_min_cell", disabled=meeting,
                        help="Counts from 1 to this minus 1, and rates built on them, are hidden; other counts are "
                             "rounded to the nearest 5. " + (
                                 "Below the clinic's setting (min_cell_size) the view is internal: exact counts, "
                                 "not for circulation. 0: off." if floor == 0 else
                                 f"Never below the clinic's setting, {floor} (min_cell_size): only an analyst's "
                                 "internal view goes lower."))
        if ignored:
            st.warning("From the link, not used as given (not in this database, not valid, or not for this role): "
                       + markdown("; ".join(ignored)))
        link = _write_link(page_path)
        with st.popover("Copy link to this view", icon=":material/link:", use_container_width=True):
            st.caption("Opens this page with these filters and choices (copy with the button at the right).")
            st.code(link, language=None, wrap_lines=True)
    view = current()
    if view.internal:
        st.warning(f"**Internal view, not for circulation.** Counts under {_clinic_min_cell()} are shown here, with "
                   "wide intervals: a handful of series is not evidence of a trend, and small numbers can identify "
                   "a patient. The suppression rule (CMS) is for anything shown beyond the care team; meeting mode "
                   "and the meeting pack always apply it.", icon=":material/lock:")
    styles.apply(meeting)


def _meeting_changed() -> None:
    if st.session_state.get("filters_meeting_mode"):
        st.session_state["filters_collapse_sidebar"] = True


def _keep_page_choices() -> None:
    """A page's widgets are forgotten when another page runs; re-storing their values keeps them."""
    for choices in PAGE_CHOICES.values():
        for key in choices.values():
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]


def _view_params(page_path: str) -> dict[str, list[str]]:
    """The view as URL parameters (defaults left out, so a plain link stays plain)."""
    state = st.session_state
    params: dict[str, list[str]] = {}
    if state.get("filters_instrument", "PHQ-9") != "PHQ-9":
        params["instrument"] = [state["filters_instrument"]]
    for name, (key, _) in LISTS.items():
        if state.get(key):
            params[name] = list(state[key])
    for name, key in FLAGS.items():
        if state.get(key):
            params[name] = ["true"]
    for name, key in DEFAULT_ON.items():
        if not state.get(key, True):
            params[name] = ["false"]
    start_range = tuple(state.get("filters_start_range") or ())
    if len(start_range) == 2 and start_range != _start_extent():
        params["start-from"], params["start-to"] = [start_range[0].isoformat()], [start_range[1].isoformat()]
    if state.get("filters_min_baseline"):
        params["min-baseline"] = [str(int(state["filters_min_baseline"]))]
    default_cell = int(data.settings().get("min_cell_size", MEETING_MIN_CELL))
    if state.get("filters_min_cell", default_cell) != default_cell:
        params["min-cell"] = [str(int(state["filters_min_cell"]))]
    for name, key in PAGE_CHOICES.get(page_path, {}).items():
        value = state.get(key)
        if isinstance(value, bool):
            if value:
                params[name] = ["true"]
        elif value is not None:
            params[name] = [str(value)]
    for name in KEPT.get(page_path, ()):
        if name in st.query_params:
            params[name] = st.query_params.get_all(name)
    return params


def _write_link(page_path: str) -> str:
    """Put the view in the address bar (without a rerun) and return the full link to it."""
    params = _view_params(page_path)
    if params != {k: st.query_params.get_all(k) for k in st.query_params}:
        st.query_params.from_dict(params)
    st.session_state["filters_link_written"] = params
    base = (st.context.url or "").rstrip("/")
    for path in list(PAGE_CHOICES) + ["overview", "response", "data", "definitions", "not_on_track", "follow_up"] + list(KEPT):
        if base.endswith("/" + path):
            base = base[: -len(path) - 1]
    query = urlencode([(k, v) for k, values in params.items() for v in values])
    return f"{base}/{page_path}" + (f"?{query}" if query else "")


def _read_link(page_path: str = "") -> list[str]:
    """Set the widgets from the address bar when it holds a view this session did not write (a link opened
    or pasted). Only the parameters present are applied; returns what was left out and why."""
    given = {k: st.query_params.get_all(k) for k in st.query_params}
    if not given or given == st.session_state.get("filters_link_written"):
        return []
    state, ignored = st.session_state, []
    if "instrument" in given:
        value = given["instrument"][-1]
        if value in OUTCOME_INSTRUMENTS:
            state["filters_instrument"] = value
        else:
            ignored.append(f"instrument {value}")
    for name, (key, column) in LISTS.items():
        if name in given:
            known = _options(column)
            state[key] = [v for v in dict.fromkeys(given[name]) if v in known]
            ignored += [f"{name} {v}" for v in given[name] if v not in known]
    for name, key in {**FLAGS, **DEFAULT_ON}.items():
        if name in given:
            value = given[name][-1].lower() in TRUE
            if key == "filters_meeting_mode" and value and not state.get(key):
                state["filters_collapse_sidebar"] = True  # as the toggle does (_meeting_changed)
            state[key] = value
    first, last = _start_extent()
    if "start-from" in given or "start-to" in given:
        try:
            start = date.fromisoformat(given.get("start-from", [str(first)])[-1])
            end = date.fromisoformat(given.get("start-to", [str(last)])[-1])
            if first is None or not first <= start <= end <= last:
                raise ValueError
            state["filters_start_range"] = (start, end)
        except (TypeError, ValueError):
            ignored.append(f"start dates {given.get('start-from', [''])[-1]} to {given.get('start-to', [''])[-1]}")
    for name, key, top in (("min-baseline", "filters_min_baseline", MAX_BASELINE), ("min-cell", "filters_min_cell", 100)):
        if name in given:
            value = given[name][-1]
            if value.isdigit() and int(value) <= top:
                state[key] = int(value)
                if key == "filters_min_cell" and int(value) < _floor():
                    state[key] = _floor()
                    ignored.append(f"min-cell {value} (raised to this clinic's {_floor()}: only an analyst's "
                                   "internal view goes lower)")
            else:
                ignored.append(f"{name} {value}")
    for choices in PAGE_CHOICES.values():
        for name, key in choices.items():
            # A parameter the open page reads itself (/series?series=ID) is not another page's choice.
            if name in given and name not in KEPT.get(page_path, ()):
                value = given[name][-1]
                # Toggles take true/false; the page's own list checks the rest (an unknown choice is dropped there).
                state[key] = value.lower() in TRUE if key in BOOLEAN_CHOICES else value
    return ignored


BOOLEAN_CHOICES = ("trajectories_itt", "trajectories_spaghetti")


def choice(key: str, options: list[str]) -> None:
    """Drop a page choice a link set that the page does not offer (the widget then shows its default)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def _equity_filters() -> None:
    """Ethnicity and area deprivation, when the clinic's exports carry them; a view that combines them
    beyond what the privacy guard allows is said so, and they are left out of it (current)."""
    for label, column, key in (("Ethnicity", "ethnicity", "filters_ethnicities"),
                               ("Area deprivation decile", "deprivation_decile", "filters_deprivation_deciles")):
        options = _options(column)
        if options and options != ["unknown"]:
            st.multiselect(label, options, key=key, help="Groups of fewer patients than the suppression threshold "
                           "are shown together as 'other'. Not with both a site and an age band, nor with each "
                           "other (together they single patients out).")
    try:
        check_equity_view(_cohort())
    except DisallowedView as refusal:
        st.warning(f"Ethnicity and area deprivation filters not applied: {refusal}")


def current() -> View:
    state = st.session_state
    cohort = _cohort()
    try:
        check_equity_view(cohort)
    except DisallowedView:  # the sidebar says so
        cohort = replace(cohort, ethnicities=(), deprivation_deciles=())
    meeting = bool(state.get("filters_meeting_mode"))
    # Whatever the widget or a link holds, a role that may not go below the clinic's threshold never does.
    min_cell = max(int(state.get("filters_min_cell", MEETING_MIN_CELL)), _floor())
    if meeting:
        min_cell = max(min_cell, MEETING_MIN_CELL)
    internal = min_cell < _clinic_min_cell()
    if not internal and min_cell > 1:
        # Two ranges a day apart would give the series started that day: whole months only (the Quality
        # review's periods are whole months or quarters too).
        start_from, start_to = whole_months(cohort.start_from, cohort.start_to)
        cohort = replace(cohort, start_from=start_from, start_to=start_to)
    return View(state.get("filters_instrument", "PHQ-9"), cohort, meeting, min_cell,
                internal=internal, cases_only=bool(state.get("filters_cases_only", True)))


def whole_months(start_from: date | None, start_to: date | None) -> tuple[date | None, date | None]:
    """A start-date range widened to whole calendar months: from the first of its first month to the last
    day of its last."""
    if start_from is not None:
        start_from = start_from.replace(day=1)
    if start_to is not None:
        start_to = (pd.Timestamp(start_to) + pd.offsets.MonthEnd(0)).date()
    return start_from, start_to


def _floor() -> int:
    """The lowest threshold this role may choose: the clinic's, unless it may open an internal view."""
    return 0 if st.session_state.get("filters_below_floor") else _clinic_min_cell()


def _cohort() -> Cohort:
    """The cohort the sidebar's filters select, as chosen."""
    state = st.session_state
    start_range = state.get("filters_start_range") or ()
    start_from, start_to = (tuple(start_range) + (None, None))[:2] if start_range else (None, None)
    # The full default range is "no filter": series from day-offset exports have no date.
    if (start_from, start_to) == _start_extent():
        start_from = start_to = None
    return Cohort(
        sites=tuple(state.get("filters_sites", ())), routes=tuple(state.get("filters_routes", ())),
        indications=tuple(state.get("filters_indications", ())),
        clinicians=tuple(state.get("filters_clinicians", ())), age_bands=tuple(state.get("filters_age_bands", ())),
        sexes=tuple(state.get("filters_sexes", ())), first_series_only=bool(state.get("filters_first_series_only")),
        ethnicities=tuple(state.get("filters_ethnicities", ())),
        deprivation_deciles=tuple(state.get("filters_deprivation_deciles", ())),
        start_from=start_from, start_to=start_to, min_baseline=(state.get("filters_min_baseline") or None),
        baseline_instrument=state.get("filters_instrument", "PHQ-9"),
    )


def _clinic_min_cell() -> int:
    """The clinic's suppression threshold (the min_cell_size setting): below it a view is internal."""
    return int(data.settings().get("min_cell_size", MEETING_MIN_CELL))


def _start_extent() -> tuple[date | None, date | None]:
    """The first and last series start dates (None for exports with day offsets)."""
    extent = data.table("select min(start_date) as first, max(start_date) as last from int_treatment_series")
    return _as_date(extent["first"].iloc[0]), _as_date(extent["last"].iloc[0])


def _as_date(value) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()
