"""Every chart the product draws: pure functions from mart rows (already suppressed) to a Plotly figure.
No Streamlit here, so the dashboard and the meeting pack draw the same figures.

One look for all of them: the "ketamine" template (fonts, the Okabe-Ito palette for categories, which
stays distinct under the common colour-vision deficiencies; a sequential palette for ordered severity
bands), whole-number week axes, percent axes whose labels never repeat, legends under the plot so they
never cover a title on a phone, and (in the dashboard: for_screen) titles, legend entries and x axis titles
wrapped to a phone's width. A chart with nothing to draw is `nothing(sentence)`: the page shows the
sentence instead of an empty frame. Text from an export (site, clinician names) is HTML-escaped.
A builder marked @drawn_once is drawn once per set of rows in the dashboard (ketamine_outcomes/kept.py).

The figures live by family (style: what they share; outcomes; safety; comparison); this module
names them all, so a page or the pack imports one module."""

# The names pages, the pack and the tests call, re-exported from where they live.
from ketamine_outcomes.charts.style import (
    PALETTE, SEQUENTIAL, BAND_TINTS, GREY, FONT, NARROWEST, LINE_EM, TITLE_PAD, fit_titles, nothing,
    is_nothing, hidden_legend, describe, for_projector, for_screen, PROJECTOR_TITLE_WIDTH, PROJECTOR_PLOT_HEIGHT,
)
from ketamine_outcomes.charts.outcomes import (
    trajectory, rates_by_week, end_of_induction, attrition, change_distribution,
    band_transitions, time_to_response, survival_curve, series_scores, published_by_route,
    TALKING_THERAPIES_MEASURES, talking_therapies,
)
from ketamine_outcomes.charts.safety import (
    protocol_adherence, adverse_events, adverse_events_by_session, blood_pressure, BP_FLAGS,
    blood_pressure_flags, item9_course, dissociation, ITEM9_MEASURES,
)
from ketamine_outcomes.charts.comparison import funnel, adjusted_funnel, p_chart
