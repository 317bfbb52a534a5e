"""One treatment series (`/series?series=ID`, ID as `mart series_summary` prints it): its sessions, its scores by
week against the range the clinic's similar closed series went through, why each definition classified it as it
did (read from the population marts, so it cannot disagree with them), and the patient's other series. Patient
level: roles that may see patient rows, never in meeting mode."""

import pandas as pd
import streamlit as st

from ketamine_outcomes.dashboard import data, filters, patients, tables, ui
from ketamine_outcomes.care import series
from ketamine_outcomes.charts import figures
from ketamine_outcomes.definitions import INSTRUMENTS
from ketamine_outcomes.safe_text import markdown

st.title("One series")
st.caption("A treatment series seen whole: what happened at each session, how the scores moved, and why each "
           "definition counts it as it does.")
view = filters.current()
# A series' last session is only as recent as the last export uploaded; said in meeting mode too, as every page does.
ui.data_as_of()
patients.only_outside_meetings(view)

search = st.text_input("Find a series", key="series_search", placeholder="series id (KP000123#1) or patient id",
                       help="A series id as the Every series download prints it, or a patient id: exact, or the "
                            "start of one.")
if search:
    found = patients.ask("find", search)
    if found.empty:
        st.caption(f"No series or patient id starts with {markdown(search)}.")
    for row in found.itertuples():
        started = row.start_date.date() if pd.notna(row.start_date) else f"day {row.start_day}"
        st.page_link(patients.SERIES_PAGE, icon=":material/person:", query_params={"series": row.series_id},
                     label=markdown(f"{row.series_id}: {row.route}, started {started}, {row.sessions_completed} sessions"))

# A pasted link may carry spaces around the id (ids are stored trimmed); a blank one asks for an id.
series_id = (st.query_params.get("series") or "").strip()
if not series_id:
    st.info("Type a series or patient id above, or open a series from a list that names one (Not on track, the "
            "item 9 flags on Safety).")
    st.stop()
one = patients.ask("series", series_id)
if one is None:
    # The id as given, cut short: a link can carry any text, and a page-long echo of it helps nobody.
    given = series_id if len(series_id) <= 40 else series_id[:40] + "…"
    st.warning(f"No series has the id {markdown(given)}: a series id is the patient id, '#' and the series number, "
               "as the Every series download prints it.")
    st.stop()

settings = data.settings()
st.header(markdown(series_id), anchor=False)
start = one.start_date.date() if pd.notna(one.start_date) else f"day {one.start_day}"
st.caption(markdown(f"Patient {one.patient_id}, series {one.series_number}: {one.route} at {one.site}, clinician "
                    f"{one.clinician_id}, indication {one.indication}; started {start}."))

others = patients.ask("patient_series", series_id)
if len(others) > 1:
    st.write("The patient's series:")
    columns = st.columns(min(len(others), 6))
    for i, row in enumerate(others.itertuples()):
        with columns[i % len(columns)]:
            if row.series_id == series_id:
                st.markdown(f"**{markdown(row.series_id)}** (this one)")
            else:
                st.page_link(patients.SERIES_PAGE, label=markdown(f"{row.series_id} ({row.route})"),
                             query_params={"series": row.series_id})

scores = patients.ask("scores", series_id)
bands = data.table("select * from severity_bands order by instrument, band_min")
instruments = [name for name in INSTRUMENTS if name in set(scores.instrument) and INSTRUMENTS[name].is_outcome]
if not instruments:
    # Still classified (a dropout with no score is one): why, on the sidebar's instrument.
    st.info(f"This series has no outcome score (no questionnaire placed in it). How each definition counts it on "
            f"{view.instrument}:")
boosters = patients.ask("maintenance", series_id)  # boosters and re-induction: the same on every instrument


def show_reasons(instrument: str) -> None:
    """Why each definition classifies the series on `instrument`, as the population marts do."""
    found = patients.ask("classification", series_id, instrument, boosters)
    if found is None:
        return
    # A table that wraps its text (every reason whole); st.table shows cells as text, never markdown.
    st.table(pd.DataFrame(series.reasons(found, one, settings), columns=["Definition", "Result", "Because"])
             .set_index("Definition"))
    st.caption("Read from the Every series, boosters and durability marts for this series alone: the same SQL "
               "the population pages count it with.")


if instruments:
    # One instrument at a time (the sidebar's when the series has it): each is a chart and three marts' reasons.
    if st.session_state.get("series_instrument") not in instruments:
        st.session_state["series_instrument"] = view.instrument if view.instrument in instruments else instruments[0]
    st.radio("Instrument", instruments, horizontal=True, key="series_instrument",
             help="The questionnaires this series was scored on.")
for instrument in [st.session_state["series_instrument"]] if instruments else [view.instrument]:
    st.subheader(instrument)
    mine = scores[scores.instrument == instrument]
    if mine.empty:
        show_reasons(instrument)
        continue
    baseline = mine[mine.week == 0].score
    # The closed series' scores are counted once per data version; each view adds up the similar baselines'.
    counts = patients.keep("expected_range_counts", instrument) if len(baseline) else None
    expected = (patients.ask("expected_range", series_id, instrument, float(baseline.iloc[0]), counts)
                if len(baseline) else None)
    response_at = (data.response_fraction(instrument) * float(baseline.iloc[0])) if len(baseline) else None
    figure = figures.series_scores(mine, bands[bands.instrument == instrument], instrument,
                                  INSTRUMENTS[instrument].max_score, expected, response_at)
    if figures.is_nothing(figure):
        st.info(figures.is_nothing(figure))
    else:
        figures.for_screen(figure)
        st.plotly_chart(figure, key=f"series_chart_{instrument}", theme=None, alt=figures.describe(figure),
                        config={"displaylogo": False})
    if expected is None:
        st.caption(f"No {instrument} baseline: no expected range (it is drawn from closed series with a similar baseline).")
    elif expected.empty:
        st.caption(f"Expected range: fewer than {settings['min_cell_size']:g} of the clinic's closed series "
                   f"had a {instrument} baseline within {settings['expected_range_baseline_points']:g} points of this "
                   "one in any week, too few to draw.")
    else:
        st.caption(f"Expected range: the middle half (25th to 75th percentile) of the scores of the clinic's closed "
                   f"series whose {instrument} baseline was within {settings['expected_range_baseline_points']:g} points "
                   f"of this one's ({int(baseline.iloc[0])}), week by week; weeks with fewer than "
                   f"{settings['min_cell_size']:g} such series (the clinic's small-cell threshold) are not drawn.")
    show_reasons(instrument)
ui.definitions_link("the expected range")

st.subheader("Sessions")
sessions = patients.ask("sessions", series_id)
when = "session_date" if sessions.session_date.notna().any() else "session_day"
tables.show(sessions.assign(adverse_events=sessions.adverse_events.map(", ".join)), None, view, key="series_sessions",
            title=f"sessions of series {series_id}", patient_level=True, instrument=None,
            filtered="one series, not filtered",
            columns=["session_number", when, "route", "dose_mg", "dose_mg_per_kg", "adverse_events",
                     "blood_pressure_pre", "blood_pressure_peak", "site", "clinician_id"])
