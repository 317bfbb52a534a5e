"""What the patient-level pages (one series, not on track, item 9 follow-up) share: the rule that keeps them
from meetings, their cached queries (ketamine_outcomes/care.py, keyed on the data version like every mart),
and the link to a series' view that every list naming a series carries."""

from urllib.parse import quote

import pandas as pd
import streamlit as st

from ketamine_outcomes.dashboard import data, filters
from ketamine_outcomes.care import follow_up
from ketamine_outcomes.care import series
from ketamine_outcomes.disclosure import panels, safety_panels

SERIES_PAGE = "app_pages/series.py"


def only_outside_meetings(view: filters.View) -> None:
    """Stop a patient-level page in meeting mode: what is projected or circulated shows no patient rows. (Roles
    that may not see patient rows never reach these pages: access.py leaves them out of the navigation.)"""
    if view.meeting_mode:
        st.info("Hidden in meeting mode: this page shows single patients' series, for the care team. Turn meeting "
                "mode off in the sidebar to see it.")
        st.stop()


def series_link(series_id: str) -> str:
    """The address of a series' view, relative to the app (the id is the export's text: quoted)."""
    return "series?series=" + quote(str(series_id), safe="")


def with_links(frame: pd.DataFrame, column: str = "series_id") -> pd.DataFrame:
    """A table's rows with a `view` column linking each row's series to its view (no link without a series)."""
    return frame.assign(view=[series_link(s) if isinstance(s, str) and s else None for s in frame[column]])


# The Safety page lists this many flags, the newest (a large network has 175,000 at 1M patients: sent whole, the
# table was most of every view of the page, on the server and in the browser). The count above the list is of them
# all, the download holds them all, and the Item 9 follow-up page goes through them all.
LISTED_FLAGS = 1000


def item9_flag_rows() -> tuple[panels.Table, panels.Table]:
    """The Safety page's list of item 9 flags, each linked to its series' view, as tables to show: (the newest
    LISTED_FLAGS, every flag). Built once per data version and handed to every run as they are (a resource: not
    unpickled again at each view); callers must not change them (tables.show copies what it formats)."""
    return _item9_flag_rows(data.database_path(), data.data_version())


@st.cache_resource(max_entries=4, show_spinner=False)
def _item9_flag_rows(path: str, version: str) -> tuple[panels.Table, panels.Table]:
    flags = data.mart("item9_flags")
    # A dated export shows the date; an export with day offsets has none, and shows the day instead.
    when = [c for c in ("assessment_date", "assessment_day") if c in flags and flags[c].notna().any()] \
        or ["assessment_day"]
    # A flag in a series links to the series' view (series_summary's id: patient, '#', series number).
    flags = with_links(flags.assign(series_id=(flags.patient_id + "#" + flags.series_number.astype("Int64")
                                               .astype(str)).where(flags.series_number.notna())))
    every = safety_panels.patient_rows(flags, ["view", "patient_id", "series_number", "week", "is_in_series", *when,
                                               "site", "clinician_id", "score", "item9", "baseline_item9", "is_rise"])
    # The mart's rows are newest first.
    newest = panels.Table(every.numbers.head(LISTED_FLAGS), every.hidden.head(LISTED_FLAGS), every.counts,
                          every.integers)
    return newest, every


LINK_COLUMN = {"view": st.column_config.LinkColumn("View", display_text="open series",
                                                   help="The series' own page: sessions, scores and why each "
                                                        "definition classified it as it did.")}


@st.cache_data(max_entries=256, show_spinner=False)
def _cached(path: str, version: str, name: str, args: tuple):
    with data.connection() as con:
        return getattr(series, name)(con, *args)


def ask(name: str, *args):
    """care.<name>(con, *args), from cache while the data is unchanged."""
    return _cached(data.database_path(), data.data_version(), name, args)


@st.cache_resource(max_entries=16, show_spinner=False)
def _kept(path: str, version: str, name: str, args: tuple):
    with data.connection() as con:
        return getattr(series, name)(con, *args)


def keep(name: str, *args):
    """care.<name>(con, *args) for what a data version is read once for and then only read (not on track's
    reference, the expected range's counts): the one object, handed to every run without the copy ask() makes
    (at 100k patients the counts are 11,000 rows for PHQ-9). Callers must not change it."""
    return _kept(data.database_path(), data.data_version(), name, args)


# A resource, not data: it is only read (registered for the query), and a large network's tens of thousands of
# flags would be unpickled again at every run from st.cache_data.
@st.cache_resource(max_entries=4, show_spinner=False)
def _placed_flags(path: str, version: str) -> pd.DataFrame:
    with data.connection() as con:
        return follow_up.placed_flags(con)


def follow_up_flags(**options) -> pd.DataFrame:
    """Item 9 flags with their latest follow-up (follow_up.flags): the flags kept while the data is unchanged,
    their follow-ups read afresh each run (a mark changes no data version)."""
    placed = _placed_flags(data.database_path(), data.data_version())
    with data.connection() as con:
        return follow_up.flags(con, placed=placed, **options)


def follow_up_counts() -> pd.DataFrame:
    """Flags by state (open, each outcome), the follow-ups read afresh: for meeting mode."""
    placed = _placed_flags(data.database_path(), data.data_version())
    with data.connection() as con:
        return follow_up.counts(con, placed)


def follow_up_counts_for_meeting(min_cell: int) -> pd.DataFrame:
    """The flags by state, small counts hidden (safety_panels.follow_up_counts_for_meeting), as a two-column table."""
    shown = safety_panels.follow_up_counts_for_meeting(follow_up_counts(), min_cell)
    return pd.DataFrame({"Follow-up": shown.state, "Flags": shown.shown})
