"""Every table the dashboard shows: a mart's rows with human headers, numbers kept as numbers (right-aligned,
sortable, thousands separators, rates as percents), hidden cells marked "hidden" (panels.HIDDEN: never a
blank that reads as zero, never text that sorts as text), rows in clinical order, and a download that says its filters.

Rates are shown and downloaded as percents (0-100) so a spreadsheet reads the same figure as the screen."""

import re

import pandas as pd
import streamlit as st

from ketamine_outcomes.dashboard import data, filters, signin
from ketamine_outcomes.charts import figures
from ketamine_outcomes.disclosure import panels
from ketamine_outcomes.metrics import declarations
from ketamine_outcomes.definitions import INSTRUMENTS, remission_term, response_words
from ketamine_outcomes.safe_text import csv_text, markdown

# Column name -> (header, help). Headers are what a director reads; help says what the number is.
LABELS: dict[str, tuple[str, str]] = {
    "group_value": ("Group", ""),
    # The patients' pages (one series, not on track, item 9 follow-up).
    "checkpoint_session": ("Checkpoint session", "The completed session the series is judged at (a setting per route)."),
    "checkpoint_score": ("Score by then", "The latest score after the baseline, up to the checkpoint session's day."),
    "improvement": ("Improvement %", "(baseline - score by the checkpoint) / baseline."),
    "threshold_improvement": ("Threshold %", "The improvement below which a series of this route is not on track: a "
                                             "quantile of the clinic's eventual responders' improvement by then."),
    "n_closed": ("Closed series", "Series whose end-of-induction window has closed, or that dropped out."),
    "n_responded": ("Responded", "Of those, series that responded at the end of induction."),
    "is_enough": ("Enough to judge", "At least not_on_track_min_series closed series in the row."),
    "flag": ("Signal", "Whether the series was below the threshold at its checkpoint."),
    "blood_pressure_pre": ("BP before dosing", "Systolic/diastolic before dosing, mmHg."),
    "blood_pressure_peak": ("BP peak", "Systolic/diastolic peak after dosing, mmHg."),
    "week": ("Week", "Week of the treatment series; week 0 is baseline."),
    "n_scored": ("Series scored", "Series with a score that week (or at the end of induction)."),
    "n_paired": ("Series paired", "Series with a baseline and a score that week."),
    "n_series": ("Series", "Treatment series."),
    "n_evaluable": ("Series evaluable", "Series whose end-of-induction window has closed, or that dropped out."),
    "n_evaluable_no_baseline": ("Evaluable, no baseline", "Evaluable series without a baseline on the instrument: "
                                "in no rate (response is a fall from baseline)."),
    "n_sessions": ("Sessions", "Completed sessions."),
    "n_events": ("Events", "Sessions with this adverse event."),
    "n_measured": ("Sessions measured", "Sessions with a systolic peak recorded."),
    "n_high_peaks": ("High systolic peaks", ""),  # help worded from the setting in force: help_text
    "mean_score": ("Mean score", ""),
    "mean_ci_low": ("Mean, 95% CI low", ""),
    "mean_ci_high": ("Mean, 95% CI high", ""),
    "mean_change": ("Mean change from baseline", "Points; negative is better."),
    "responders": ("Responders", ""),  # help worded from the response fraction in force: help_text
    "remitters": ("Remitters", "Score within the instrument's remission cut-off."),
    "response_rate": ("Response %", "Responders out of the series scored (observed cases)."),
    "remission_rate": ("Remission %", "Remitters out of the series scored (observed cases)."),
    "itt_response_rate": ("Response %, intention to treat", "Responders out of every evaluable series."),
    "itt_remission_rate": ("Remission %, intention to treat", "Remitters out of every evaluable series."),
    "event": ("Adverse event", ""),
    "event_rate": ("Event %", "Share of completed sessions with this event."),
    "route": ("Route", ""),
    "median_peak": ("Median systolic peak (mmHg)", ""),
    "max_peak": ("Highest systolic peak (mmHg)", ""),
    "high_peak_rate": ("High systolic peaks %", "Share of measured sessions."),
    "end_status": ("Status at end of induction", ""),
    "period": ("Period", ""),
    "n": ("Series scored", ""),
    "rate": ("Response %", ""),
    "signals": ("Special-cause signal", ""),
    "patient_id": ("Patient", "The export's de-identified patient code."),
    "series_number": ("Series number", "1 for a patient's first series, 2 for a re-induction, ..."),
    "assessment_date": ("Date", ""),
    "assessment_day": ("Day", "Day number, for exports with day offsets instead of dates."),
    "score": ("PHQ-9 score", ""),
    "item9": ("Item 9 answer", "Thoughts of self-harm: 0 not at all to 3 nearly every day."),
    "baseline_item9": ("Item 9 at baseline", ""),
    "is_rise": ("Higher than at baseline", ""),
    "n_with_boosters": ("Series with boosters", "Series with a completed session after the induction's last."),
    "with_boosters_rate": ("With boosters %", "Series with boosters out of the series that completed induction."),
    "n_boosters": ("Boosters", "Completed sessions after the induction, in all."),
    "mean_boosters": ("Boosters per series", "Series without boosters count as 0."),
    "median_days_to_first_booster": ("Median days to first booster", "From the induction's last session."),
    "median_days_between_boosters": ("Median days between boosters", ""),
    "n_reinducted": ("Re-inducted", "Series followed by a new series of the same patient after a long gap."),
    "reinduction_rate": ("Re-inducted %", "Out of the series that completed induction."),
    "n_completed": ("Completed induction", "Reached the route's induction length."),
    "n_within_window": ("Within window", "Completed the induction within the route's window."),
    "completion_rate": ("Completed %", "Out of the series whose induction is decided (completed or dropped out)."),
    "adherence_rate": ("Within window %", "Out of the series whose induction is decided."),
    "n_finished": ("Courses finished", "Series that ended (end-of-induction window closed, or stopped) after at least "
                                       "two completed sessions (NHS Talking Therapies: a finished course)."),
    "n_cases": ("Cases at baseline", "PHQ-9 at or above 10 or GAD-7 at or above 8 at baseline (NHS Talking Therapies)."),
    "caseness_rate": ("Cases %", "Cases at baseline out of the series paired on PHQ-9 and GAD-7."),
    "n_recovered": ("Recovered", "Cases below both thresholds at the course's last score."),
    "recovery_rate": ("Recovery %", "Recovered out of the cases at baseline."),
    "n_reliably_improved": ("Reliably improved", "PHQ-9 fell 6 or more or GAD-7 4 or more, and neither rose as much."),
    "reliable_improvement_rate": ("Reliable improvement %", "Out of the cases at baseline."),
    "n_reliably_recovered": ("Reliably recovered", "Recovered and reliably improved."),
    "reliable_recovery_rate": ("Reliable recovery %", "Out of the cases at baseline."),
    "n_reliably_deteriorated": ("Reliably deteriorated", "PHQ-9 rose 6 or more or GAD-7 4 or more."),
    "reliable_deterioration_rate": ("Reliable deterioration %", "Out of the cases at baseline."),
    "n_mcid_improved": ("PHQ-9 fell 5 or more", "Minimal clinically important difference (Löwe 2004)."),
    "mcid_improvement_rate": ("PHQ-9 fell 5 or more %", "Out of the cases at baseline: the MCID, beside reliable improvement."),
    "is_in_series": ("In a series", "Placed in a treatment series; a screening PHQ-9 before any series is not."),
    "site": ("Site", ""),
    "clinician_id": ("Clinician", ""),
    "n_rise_measured": ("Sessions with pre and peak", "Sessions with a pre-dose and a peak reading of one pressure."),
    "n_rises": ("Rises", "Sessions whose peak rose by the rise threshold or more over the pre-dose reading."),
    "rise_rate": ("Rise %", "Rises out of the sessions with a pre-dose and a peak reading."),
    "n_pre_measured": ("Sessions with a pre-dose reading", ""),
    "n_pre_raised": ("Raised before dosing", "Sessions with a pre-dose reading above the threshold (a setting; 140/90 by default)."),
    "pre_raised_rate": ("Raised before dosing %", "Out of the sessions with a pre-dose reading."),
    "measure": ("Measure", ""),
    "n_meeting": ("Series meeting it", ""),
    "measure_rate": ("Share %", "Series meeting the measure out of the series counted for it."),
    "measure_rate_low": ("Share %, 95% CI low", "Wilson interval."),
    "measure_rate_high": ("Share %, 95% CI high", "Wilson interval."),
    "session_number": ("Session number", "Completed session of the series: 1 is the first."),
    # The Data page's batch history, audit trail and coverage (analysts' tables, not marts).
    "batch_id": ("Batch", "The batch number: Undo a batch and the rejects file name it."),
    "loaded_at": ("Loaded at", ""),
    "file_name": ("File", ""),
    "kind": ("Export", "sessions, outcomes or patients; undo for a batch that undid another."),
    "rows_read": ("Rows read", "Data lines in the file."),
    "rows_inserted": ("Rows inserted", "New rows stored."),
    "rows_replaced": ("Rows replaced", "Stored rows this file corrected (same patient and day, new values)."),
    "rows_duplicate": ("Rows duplicate", "Rows already stored unchanged: not stored again."),
    "rows_rejected": ("Rows rejected", "Lines not stored; each one and why: All rejects as CSV."),
    "rows_with_warnings": ("Rows with warnings", "Stored with an optional field left empty; All warnings as CSV."),
    "columns_ignored": ("Columns ignored", "Columns of the file the contract does not read."),
    "source": ("Read as", "Encoding, delimiter or sheet the file was read with."),
    "undone_at": ("Undone at", ""),
    "logged_at": ("Time (UTC)", ""),
    "email": ("Who", ""),
    "role": ("Role", ""),
    "action": ("Action", ""),
    "detail": ("Detail", ""),
    "instrument": ("Instrument", ""),
    "value": ("Value", ""),
}
# Ordinal values in clinical order, so a table reads from best to worst, not alphabetically.
# The marts the Data page offers as files: (button label, what one row is). The label is words, so two buttons cut
# short on a tablet still differ; the file keeps the mart's name (the name docs/metrics.md describes it by).
MART_FILES: dict[str, tuple[str, str]] = declarations.FILES  # declared with each mart (metrics/declarations.py)
ORDERS: dict[str, list[str]] = {
    "end_status": ["remission", "response", "no response", "no score", "not reached", "not yet evaluable",
                   "no baseline"],
}
INTEGERS = ("responders", "remitters", "week", "n", "series_number", "session_number", "assessment_day", "score",
            "item9", "baseline_item9", "max_peak")


def label(column: str, instrument: str | None = None) -> str:
    """The header a director reads; on PCL-5 'remission' is 'below the probable-PTSD cut-off'."""
    header = LABELS.get(column, (column.replace("_", " ").capitalize(), ""))[0]
    if instrument and remission_term(instrument) != "remission":
        header = header.replace("Remitters", "Series below cut-off").replace("Remission", "Below cut-off")
    return header


def help_text(column: str, instrument: str) -> str | None:
    """A column's help; the response rule is worded from the instrument's response fraction in force."""
    if column == "responders":
        return response_words(data.response_fraction(instrument)).capitalize() + "."
    if column == "n_high_peaks":
        return f"Sessions whose systolic peak reached {data.settings()['bp_peak_systolic']:g} mmHg or more."
    if column in ("remitters", "remission_rate", "itt_remission_rate") and remission_term(instrument) != "remission":
        return f"{instrument} score below the probable-PTSD cut-off ({INSTRUMENTS[instrument].remission_label})."
    return LABELS.get(column, ("", ""))[1] or None


def is_rate(column: str) -> bool:
    return column.endswith(("_rate", "_rate_low", "_rate_high")) or column in ("share_of_started", "rate", "improvement",
                                                                               "threshold_improvement")


def shown(frame: "pd.DataFrame | panels.Table", mart: str | None, view: filters.View, columns: list[str] | None = None,
          rows_add_up: bool | str = False, withheld: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The numbers to show (suppressed cells missing, rates in percent, clinical order, human headers) and a
    same-shaped mask of the cells suppression hid. `frame`: a panel's table (already suppressed), or rows that
    are not a mart's (mart None). `withheld`: rows whose counts are hidden whatever their size."""
    rows = frame if isinstance(frame, panels.Table) else panels.table(frame, mart, view.disclosure, columns,
                                                                       rows_add_up, withheld)
    numbers, hidden = rows.numbers.copy(), rows.hidden
    # Under rounded counts a rate is shown to whole percents (a tenth would give the exact count back).
    digits = 0 if view.disclosure.round_to > 1 else 2
    for column in numbers.columns:
        if is_rate(column):
            numbers[column] = (numbers[column].astype("float64") * 100).round(digits)
        elif column in rows.counts:
            numbers[column] = numbers[column].astype("Float64").round().astype("Int64")
    for column, order in ORDERS.items():
        if column in numbers:
            rank = numbers[column].map({v: i for i, v in enumerate(order)}).fillna(len(order))
            keep = rank.sort_values(kind="stable").index
            numbers, hidden = numbers.loc[keep], hidden.loc[keep]
    names = {c: label(c, view.instrument) for c in numbers.columns}
    return tuple(f.rename(columns=names).reset_index(drop=True) for f in (numbers, hidden))


def show(frame: "pd.DataFrame | panels.Table", mart: str | None, view: filters.View, key: str,
         columns: list[str] | None = None, title: str = "table", patient_level: bool = False,
         rows_add_up: bool | str = False, withheld: pd.Series | None = None, link_columns: dict | None = None,
         download_rows: panels.Table | None = None, instrument: "str | None | bool" = True,
         filtered: bool | str = True) -> None:
    """Draw a table a director can read, with its download beneath: a panel's table (panel.rows, already
    suppressed by ketamine_outcomes/disclosure/panels.py), or rows that are not a mart's (mart None).
    `link_columns`: column -> st.column_config.LinkColumn, for a column of links (a series' view).
    `download_rows`: every row, when the table shows only some (Safety's newest item 9 flags): the download holds
    them all, formatted when clicked.
    `patient_level`: one row per patient or answer, downloadable only by a role that may take rows away (an
    analyst). `instrument`, `filtered`: which of the view's filters the rows follow, for the download's name and
    first line: True for the view's instrument, a name for one the table always reads, None for none; filtered
    False for rows of the whole clinic, whatever the sidebar's cohort filters."""
    rows = frame if isinstance(frame, panels.Table) else panels.table(frame, mart, view.disclosure, columns,
                                                                       rows_add_up, withheld)
    numbers, hidden = shown(rows, None, view)
    config = {}
    any_hidden = bool(hidden.to_numpy().any())
    # An empty cell in a row with a hidden count reads "hidden" too: there an empty interval (too few to compute
    # one) would tell how small the hidden count is.
    protected = hidden | numbers.isna().mul(hidden.any(axis=1), axis=0)
    on_screen, as_words = numbers.copy(), {}
    for column, header in zip(rows.numbers.columns, numbers.columns):
        column_help = help_text(column, view.instrument)
        values = numbers[header]
        if (any_hidden and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
                and values.isna().any()):
            # A column with a hidden cell (or one with nothing to count, "—", beside hidden ones): Streamlit 1.67 draws
            # an empty cell with the table's one placeholder, reads it to a screen reader as "" and sorts it as 0 (a
            # hidden count among the zeros), and a number stand-in would be read and copied as that number. So the
            # column holds words (cell_keys): each cell's own, "1,234", "46%", "hidden", "—", with a number's rank in
            # the column before it in characters that read and show as nothing, so a click on the header sorts the
            # numbers as numbers and then "—" and "hidden" after them (before them, high to low), in the rows' order:
            # the page holds no hidden value, and its place in a sort says nothing of it. What is drawn and copied is
            # the words alone (as_shown). The download keeps the numbers and blanks.
            words = cell_text(values, protected[header], number_format(column, rows, view))
            on_screen[header] = cell_keys(values, words)
            as_words[header] = words
            config[header] = st.column_config.TextColumn(header, help=column_help, alignment="right")
        elif pd.api.types.is_bool_dtype(values):
            config[header] = st.column_config.CheckboxColumn(header, help=column_help)
        elif pd.api.types.is_datetime64_any_dtype(values):
            config[header] = st.column_config.DateColumn(header, help=column_help, format="YYYY-MM-DD")
        elif pd.api.types.is_numeric_dtype(values):
            config[header] = st.column_config.NumberColumn(header, help=column_help,
                                                           format=number_format(column, rows, view))
        elif column_help:
            config[header] = st.column_config.TextColumn(header, help=column_help)
    config.update({label(c, view.instrument): link for c, link in (link_columns or {}).items()})
    # A hidden cell reads "hidden" in words of its own (above), whether it is small or hidden to protect a small one.
    # In a table without hidden cells an empty cell reads as empty.
    st.dataframe(as_shown(on_screen, as_words), hide_index=True, column_config=config, key=key,
                 placeholder=panels.HIDDEN if any_hidden else "", alt=f"Table: {title}")
    if any_hidden:
        dashes = any((words == "—").any() for words in as_words.values())
        st.caption(f"{figures.hidden_legend(view.min_cell, 'series or sessions')} (or a figure built on them, or an "
                   "empty figure in their row): small-cell suppression." + (" —: nothing to count." if dashes else "")
                   + (" Sorted, a column's — and hidden cells come after its numbers ascending and before them "
                      "descending: their place says nothing of their value." if as_words else ""))
    every = (lambda: shown(download_rows, None, view)[0]) if download_rows is not None else None
    download(numbers, view, title, key, patient_level, every, instrument, filtered)


def number_format(column: str, rows: panels.Table, view: filters.View) -> str:
    """How a numeric column reads: rates as percents (whole under rounding), counts with thousands separators,
    other figures to a tenth."""
    if is_rate(column):
        return "%.0f%%" if view.disclosure.round_to > 1 else "%.1f%%"
    integer = column.startswith("n_") or column in INTEGERS or column in rows.integers
    return "localized" if integer else "%.1f"


# A number's rank in its column, written in these characters before its words: the grid sorts a text column by the
# browser's collation (Unicode's: these control characters are whitespace, each its own weight, ordered as here,
# before punctuation and letters), reads a cell's value to a screen reader (whitespace is not read) and shows and
# copies the Styler's words. So numbers sort by rank, then "—" (punctuation), then "hidden" (a word).
RANK_DIGITS = "\t\n\x0b\x0c\r"


def cell_keys(values: pd.Series, words: pd.Series) -> pd.Series:
    """Each cell's value on the page: a number's words after its rank among the column's numbers (equal numbers, equal
    ranks), in RANK_DIGITS of one width; "hidden" and "—" as they read. No hidden value is in it."""
    ranks = values.astype("float64").rank(method="dense")  # 1 for the lowest; a missing value has none
    base, highest, width = len(RANK_DIGITS), int(ranks.max()) if ranks.notna().any() else 0, 1
    while base ** width <= highest:
        width += 1

    def key(rank, word: str) -> str:
        if pd.isna(rank):
            return word
        digits, rank = [], int(rank)
        for _ in range(width):
            digits.append(RANK_DIGITS[rank % base])
            rank //= base
        return "".join(reversed(digits)) + word
    return pd.Series([key(r, w) for r, w in zip(ranks, words)], index=values.index, dtype="object")


def cell_words(value) -> str:
    """What a cell of a column drawn with words reads (its value without the rank before the words)."""
    return str(value).lstrip(RANK_DIGITS)


def as_shown(on_screen: pd.DataFrame, as_words: dict[str, pd.Series]) -> "pd.DataFrame | pd.io.formats.style.Styler":
    """The table for st.dataframe: `as_words` columns hold cell_keys (so a click on the header sorts them as numbers)
    and are drawn and copied as their words alone ("1,234", "46%", "hidden", "—"), a pandas Styler's display values."""
    if not as_words:
        return on_screen
    styler = on_screen.style
    for header in as_words:
        styler = styler.format(cell_words, subset=[header])
    return styler


def cell_text(values: pd.Series, hidden: pd.Series, number: str) -> pd.Series:
    """A numeric column's cells as the screen reads them: the number in `number`'s format (a NumberColumn's),
    "hidden" where suppression hid it, "—" where there is nothing to count."""
    def one(value, is_hidden: bool) -> str:
        if is_hidden:
            return panels.HIDDEN
        if pd.isna(value):
            return "—"
        return f"{value:,.0f}" if number == "localized" else number % value
    return pd.Series([one(v, h) for v, h in zip(values, hidden)], index=values.index, dtype="object")


def plain(frame: pd.DataFrame, key: str, title: str) -> None:
    """A table that is not a mart's (the batch history, the audit trail, the coverage): the same human headers,
    an empty value blank (Streamlit would print "None"). Nothing in these is suppressed."""
    st.dataframe(frame.rename(columns=label), hide_index=True, key=key, placeholder="", alt=f"Table: {title}",
                 column_config={label(c): st.column_config.Column(help=LABELS[c][1] or None)
                                for c in frame.columns if c in LABELS})


def file_name(title: str, view: filters.View, patient_level: bool = False, instrument: "str | None | bool" = True,
              filtered: bool | str = True, analyst_file: bool = False) -> str:
    """e.g. weekly-table_PHQ-9_site-Northside_route-IV.csv: the filters a reader needs to trust the file, and only
    those the table follows (View.caption: `instrument`, `filtered`); a table of the whole clinic says
    "whole-clinic-not-filtered" instead of the sidebar's filters it ignores. `patient_level`: patient rows with exact
    counts, which the name says instead of a suppression it lacks. `analyst_file`: a mart as built (the Data page),
    its name kept as docs/metrics.md describes it (underscores and all), never suppressed."""
    cohort = view.cohort
    parts = [view.instrument if instrument is True else instrument]
    if filtered is not True:
        parts.append(filters.NOT_FILTERED if filtered is False else filtered)
    else:
        for name, short in (("sites", "site"), ("routes", "route"), ("indications", "indication"),
                            ("clinicians", "clinician"), ("age_bands", "age"), ("sexes", "sex"),
                            ("ethnicities", "ethnicity"), ("deprivation_deciles", "deprivation-decile")):
            values = getattr(cohort, name)
            if values:
                parts.append(f"{short}-{'+'.join(values)}")
        if cohort.first_series_only:
            parts.append("first-series")
        if cohort.start_from or cohort.start_to:
            parts.append(f"started-{cohort.start_from or ''}-to-{cohort.start_to or ''}")
        if cohort.min_baseline:
            parts.append(f"baseline-{cohort.min_baseline}")
    if analyst_file:
        parts.append("INTERNAL-unsuppressed")
    elif view.internal:
        # Below the clinic's threshold: small counts and exact figures, so the file says so wherever it goes.
        parts.append(f"INTERNAL-not-for-circulation-under-{view.min_cell}" if view.min_cell > 1 else
                     "INTERNAL-not-for-circulation-unsuppressed")
    if patient_level:
        parts.append("patient-level-exact-counts")
    elif view.min_cell > 1 and not view.internal and not analyst_file:
        parts.append(f"suppressed-under-{view.min_cell}-rounded-to-{view.disclosure.round_to}")
    # The title keeps underscores (a mart's name); a filter's value (export text) loses every other character.
    head = re.sub(r"[^A-Za-z0-9.+_-]+", "-", title).strip("-")
    name = "_".join([head] + [re.sub(r"[^A-Za-z0-9.+-]+", "-", p).strip("-") for p in parts if p])
    return name[:180] + ".csv"


def csv_with_filters(numbers: pd.DataFrame, view: filters.View, title: str, patient_level: bool = False,
                     instrument: "str | None | bool" = True, filtered: bool | str = True,
                     analyst_file: bool = False) -> str:
    """The table as CSV (formulas neutralised) under one line that names the filters it was made with: those the
    table follows, as its file name does (file_name)."""
    words = view.caption(patient_level=patient_level, instrument=instrument, filtered=filtered,
                         analyst_file=analyst_file)
    if patient_level:
        line = f"{title}. Filters: {words}. Patient rows for the care team: nothing suppressed."
    elif analyst_file:
        line = f"{title}. Filters: {words}. An analyst's file: not for circulation."
    else:
        line = f"{title}. Filters: {words}. Suppressed cells are blank."
    return comment_line(line) + csv_text(numbers)


def comment_line(text: str) -> str:
    """One plain "# ..." line a spreadsheet reads as one cell and a CSV reader as one unquoted field: no comma
    (the caption's "suppressed, others rounded" would make a reader quote it), no quote, no line break (a site
    name from an export may hold any of them; a break would start a line of its own, perhaps a formula)."""
    plain = re.sub(r"[\r\n]+", " ", text).replace(",", ";").replace('"', "'")
    return f"# {plain}\r\n"


def download(numbers: pd.DataFrame, view: filters.View, title: str, key: str, patient_level: bool = False,
             every=None, instrument: "str | None | bool" = True, filtered: bool | str = True) -> None:
    """The one download control for a shown table; meeting mode shows nothing to take away, and
    patient-level rows go only to a role that may download rows. Each download enters the audit trail.
    `every`: makes the rows to download instead of `numbers` (a table showing only some of its rows).
    `instrument`, `filtered`: which of the view's filters the table follows (file_name)."""
    if view.meeting_mode or (patient_level and not signin.may("download_rows")):
        return
    name = file_name(title, view, patient_level, instrument, filtered)
    # Made when clicked (a callable), so no file waits at a live /media/ URL (docs/deploy.md, downloads).
    signin.recorded_download("Download this table (CSV)",
                             lambda: csv_with_filters(every() if every else numbers, view, title, patient_level,
                                                      instrument, filtered),
                             "download", ("INTERNAL view, not suppressed to the clinic's threshold: "
                                          if view.internal else "") + name,
                             file_name=name, mime="text/csv", key=f"{key}_download", icon=":material/download:",
                             help=f"`{name}`, its first line naming what it follows: "
                                  f"{markdown(view.caption(patient_level, instrument, filtered))}.")  # export text
