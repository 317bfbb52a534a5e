""""Any safety signal?": the Safety page's summary, one line per signal with the clinic's figure, its reference
and whether it is above it. The figures come from the marts as a chart may draw them (suppress.for_chart: a
hidden count or rate is missing), so a hidden figure reads "hidden" and its status is not given away.

Adverse events: the share of series with each event over the induction against the published range for the
route (adverse_event_incidence: the status is computed there). Item 9 emerging and a blood-pressure peak at the
level a dose is held have no published rate checked for this product: the reference is none, and any series or
session is above it (each is a patient to review). Rises after dosing and raised pre-dose readings are shown
with no reference: the label's frequencies were not checked against it."""

import pandas as pd

from ketamine_outcomes.definitions import adverse_event_label
from ketamine_outcomes.definitions import HIDDEN


def _share(k, n, unit: str, rate=None) -> str:
    """A share as shown: `rate` is the exact one (counts are shown rounded; a rate of rounded counts bends)."""
    rate = k / n if rate is None and not (pd.isna(k) or pd.isna(n)) and n else rate
    if pd.isna(k) or pd.isna(n) or (n and pd.isna(rate)):
        return f"{HIDDEN} (a small count, or one that would give a small one away)"
    return f"{rate:.0%} ({int(k):,} of {int(n):,} {unit})" if n else f"no {unit}"


def pressure_totals(pressure: pd.DataFrame) -> pd.DataFrame:
    """The blood_pressure mart's routes added up into one clinic-wide row of counts (before suppression)."""
    counts = ["n_sessions", "n_measured", "n_high_peaks", "n_rise_measured", "n_rises", "n_pre_measured",
              "n_pre_raised"]
    total = pressure[counts].sum().to_frame().T.astype("int64").assign(route="all")
    # Rates from the exact counts, before suppression rounds them.
    for rate, (k, n) in {"high_peak_rate": ("n_high_peaks", "n_measured"), "rise_rate": ("n_rises", "n_rise_measured"),
                         "pre_raised_rate": ("n_pre_raised", "n_pre_measured")}.items():
        total[rate] = (total[k] / total[n].where(total[n] > 0)).astype("Float64")
    return total


def safety_signals(incidence: pd.DataFrame, item9: pd.DataFrame, pressure: pd.DataFrame,
                   thresholds: dict[str, float]) -> pd.DataFrame:
    """One row per signal: signal, finding, reference, status ('above', 'possibly above', 'not above', 'no
    reference', 'hidden'), above ones first. `incidence`: adverse_event_incidence; `item9`: item9_course (all
    series); `pressure`: pressure_totals; each as suppress.for_chart leaves it."""
    rows = []
    for row in incidence[incidence.reference_status != "no reference"].itertuples():
        hidden = pd.isna(row.incidence_rate)
        published = (f"{row.reference_low:.0%}" if row.reference_low == row.reference_high
                     else f"{row.reference_low:.0%}-{row.reference_high:.0%}")
        rows.append({"signal": f"{adverse_event_label(row.event)}, {row.route}",
                     "finding": _share(row.n_with_event, row.n_series, "series", row.incidence_rate)
                     + " had it during the induction",
                     "reference": f"published {published} of patients ({row.reference_study})",
                     "status": HIDDEN if hidden else row.reference_status})
    emergent = item9[item9.measure == "item9_emergent"]
    if not emergent.empty:
        k, n = emergent.n_meeting.iloc[0], emergent.n_series.iloc[0]
        # The mart's exact rate: the chart and its CSV show it, and k / n of rounded counts would differ.
        rate = emergent.measure_rate.iloc[0] if "measure_rate" in emergent else None
        rows.append({"signal": "PHQ-9 item 9 emerged (thoughts of self-harm, from 0 at baseline)",
                     "finding": _share(k, n, "series", rate),
                     "reference": "none expected: each such series is a patient to follow up (no published rate "
                                  "checked)",
                     "status": "above" if pd.isna(k) or k > 0 else "not above"})
    if not pressure.empty:
        total = pressure.iloc[0]
        rows.append({"signal": f"blood pressure: systolic peak of {thresholds['bp_peak_systolic']:g} mmHg or more",
                     "finding": _share(total.n_high_peaks, total.n_measured, "measured sessions",
                                       total.high_peak_rate),
                     "reference": "none expected: the level at which a dose is held (ACC/AHA 2017); each session "
                                  "is one to review",
                     "status": "above" if pd.isna(total.n_high_peaks) or total.n_high_peaks > 0 else "not above"})
        rows.append({"signal": f"blood pressure: rise of {thresholds['bp_rise_systolic']:g} systolic or "
                               f"{thresholds['bp_rise_diastolic']:g} diastolic after dosing",
                     "finding": _share(total.n_rises, total.n_rise_measured, "sessions with both readings",
                                       total.rise_rate),
                     "reference": "no published frequency checked (the Spravato label's was not verified)",
                     "status": "no reference"})
        rows.append({"signal": f"blood pressure: above {thresholds['bp_pre_systolic_above']:g}/"
                               f"{thresholds['bp_pre_diastolic_above']:g} before dosing",
                     "finding": _share(total.n_pre_raised, total.n_pre_measured, "sessions with a pre-dose reading",
                                      total.pre_raised_rate),
                     "reference": "no published frequency checked (the label asks for caution above it)",
                     "status": "no reference"})
    order = {"above": 0, "possibly above": 1, HIDDEN: 2, "not above": 3, "no reference": 4}
    frame = pd.DataFrame(rows, columns=["signal", "finding", "reference", "status"])
    return frame.sort_values("status", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def sources(incidence: pd.DataFrame) -> list[str]:
    """The published sources the summary's adverse-event lines cite, each once, in full."""
    cited = incidence[incidence.reference_status != "no reference"]
    return list(dict.fromkeys(f"{study}: {source}" for study, source in zip(cited.reference_study,
                                                                             cited.reference_source)))


def headline(signals: pd.DataFrame) -> str:
    """The answer to "any safety signal?" in one sentence."""
    above = signals[signals.status == "above"]
    possibly = signals[signals.status == "possibly above"]
    if above.empty and possibly.empty:
        return "No signal: nothing with a reference is above it."
    parts = []
    if len(above):
        parts.append(f"{len(above)} above {'its' if len(above) == 1 else 'their'} reference")
    if len(possibly):
        parts.append(f"{len(possibly)} possibly above (the interval reaches the reference)")
    return "Yes: " + "; ".join(parts) + "."
