"""The dashboard's definitions in plain words: one card per idea a director meets on a chart, with the
settings it depends on and where it comes from. The exact values live once in
ketamine_outcomes/definitions.py (the Definitions page shows the value in force beside each card);
docs/metrics.md is the full reference."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    anchor: str  # the card's place on the Definitions page: /definitions#response, ?card=response
    title: str
    text: str
    source: str
    settings: tuple[str, ...] = ()


CARDS: tuple[Card, ...] = (
    Card("treatment-series", "Treatment series",
         "One patient's run of completed sessions. After a long break (more than the gap below) a new series starts "
         "only when a re-induction begins: at least the sessions below within the window below, or a new baseline "
         "questionnaire before the first session after the break. A lone session after a break is a maintenance "
         "booster of the series before, not a new series that failed. Cancelled and missed sessions do not count.",
         "A re-induction is several sessions close together, typically 3-6 within 2-3 weeks, usually with a new "
         "baseline; re-inductions follow months off (Oliver 2022; McInnes 2022).",
         ("series_gap_days", "reinduction_min_sessions", "reinduction_window_days")),
    Card("baseline", "Baseline",
         "The score a series starts from: the latest questionnaire in the days before the first session, up to and "
         "including that day.", "ORKA and Mindbloom took baselines just before the first session.",
         ("baseline_window_days",)),
    Card("week", "Week of treatment series",
         "Week 0 is the baseline. Days 1 to 7 after the first session are week 1, days 8 to 14 week 2, and so on. "
         "When a questionnaire was filled in twice in a week, the later score counts.", "Product definition."),
    Card("response", "Response",
         "The score has fallen to a set share of the baseline or lower: by default half (for example PHQ-9 from 20 "
         "to 10); on PCL-5 a fall of 30% (for example from 50 to 35), as in ketamine PTSD trials. A baseline of 0 "
         "cannot respond.", "McInnes 2022; Hietamies 2023; Hull 2022; Feder 2021 (PCL-5).",
         ("response_fraction_phq9", "response_fraction_gad7", "response_fraction_pcl5", "response_fraction_madrs",
          "response_fraction_qidssr16")),
    Card("remission", "Remission (PCL-5: below the probable-PTSD cut-off)",
         "The score is below the questionnaire's remission cut-off: under 5 on PHQ-9 and GAD-7, 10 or less on MADRS, "
         "5 or less on QIDS-SR16. On PCL-5 a score under 33 is called below the probable-PTSD cut-off, not remission: "
         "the PCL-5 screens for probable PTSD.",
         "Kroenke 2001; Spitzer 2006; National Center for PTSD; Rush 2003."),
    Card("end-of-induction", "End of induction",
         "The result to compare with published studies: the last score from the day of the induction's last session "
         "to a few weeks after it. The induction's length follows the route: 6 sessions IV and IM, 8 intranasal "
         "esketamine doses, 4 oral/sublingual sessions. A series counts once its window has closed (or it dropped "
         "out), so series still in treatment are not counted as failures; every page counts these same series. "
         "Every rate is of series with a baseline: response is a fall from baseline, which a series without one "
         "cannot show either way, so the Overview, Compare cohorts and the meeting pack count those series beside "
         "the rates instead of inside them. The Response page lists apart the series not yet evaluable (window "
         "still open) and those without a baseline.",
         "McInnes 2022 assessed 14-31 days after induction; Spravato label (intranasal); Hull 2022 (oral).",
         ("induction_sessions_iv", "induction_sessions_im", "induction_sessions_intranasal",
          "induction_sessions_oral", "end_of_induction_days")),
    Card("intention-to-treat", "Observed and intention to treat",
         "Observed rates divide by the series that were scored. Intention-to-treat rates divide by every series that "
         "could have been, counting a series with no score as not responding. Weekly, a series' last score is carried "
         "forward only up to a limit after its last session (or, once it finished its induction, to the induction's "
         "end); after that it counts as not responding and its baseline is carried into the mean, so a fading "
         "response is not kept for ever. Weekly intention to treat ends at the end of induction (week 6 for IV and "
         "IM, 7 for intranasal and oral): later weeks are observed follow-up only, the series still scored, a group "
         "that shrinks, never a finished course drawn back at its baseline. The gap between the two shows how much "
         "dropout flatters the observed figure.",
         "Standard trial reporting (CONSORT); NRC 2010 and Lachin 2016 on missing data.",
         ("itt_carry_days", "end_of_induction_days", "induction_window_days_iv")),
    Card("dropout", "Dropout",
         "A series that stopped before the induction was complete, with no session for several weeks before the "
         "latest data.", "Product default; ORKA-2 (Hietamies 2023): about half did not complete six infusions.",
         ("induction_sessions_iv", "induction_sessions_im", "induction_sessions_intranasal",
          "induction_sessions_oral", "dropout_quiet_days")),
    Card("reliable-change", "Reliable change and meaningful change",
         "Reliable improvement or deterioration: a change larger than the questionnaire's measurement error, 6 points "
         "on PHQ-9, 4 on GAD-7, 10 on PCL-5. MADRS and QIDS-SR16 use the Jacobson-Truax index when the clinic sets a "
         "test-retest reliability and standard deviation taken from one published study (never the clinic's own "
         "data, which would move the threshold as data accrue). Beside it, the minimal clinically important "
         "difference on PHQ-9 is 5 points: the smallest change patients notice, a little under reliable change.",
         "Jacobson & Truax 1991; NHS Talking Therapies; Löwe 2004 (PHQ-9 MCID).",
         ("reliability_madrs", "reliability_sd_madrs", "reliability_qidssr16", "reliability_sd_qidssr16")),
    Card("caseness", "Caseness",
         "A score at or above the level where a questionnaire counts as a clinical case: PHQ-9 10 or more, GAD-7 8 "
         "or more. The headline end-of-induction rates (Overview, meeting pack) count only series that were cases at "
         "baseline, unless 'Headline rates: cases only' is cleared in the sidebar: a clinic's mild cases would "
         "inflate remission.", "NHS Talking Therapies manual.",
         ("phq9_caseness", "gad7_caseness")),
    Card("sustained-response", "Sustained response (Kaplan-Meier)",
         "Of the series that responded at the end of induction, the share still responding over the following days. "
         "A series loses its response at its first later score above the response threshold, or when the patient "
         "starts a new series (a re-induction). A series whose scores stop while still responding counts until its "
         "last score and then leaves the count (censored), instead of counting as a failure or a success. Most "
         "responders are never scored again, so the page says how many have any later score, and a dotted line "
         "beside the curve counts every series lost to follow-up as having lost its response (a lower bound; the "
         "truth lies between). Boosters keep a response sustained: a maintenance booster is a session of the same "
         "series, and a score at a booster visit within the threshold is a response kept. The curve "
         "is the Kaplan-Meier estimate; the median is the day it falls to half, when it does. The numbers under the "
         "curve are the series still followed and responding. Under small-cell suppression (always in meeting mode) "
         "the estimate is drawn at the end of each week (sooner when it has moved more than 4 points), so it stays "
         "on the estimate, for as long as at least the minimum cell size of series are at risk; the numbers at "
         "risk are rounded to the nearest 5 and the estimate to whole percents.",
         "Kaplan & Meier 1958; McInnes 2022 followed sustained response after induction the same way.",
         ("response_fraction_phq9", "end_of_induction_days")),
    Card("time-to-response", "Time to first response (dropouts competing)",
         "Over every series with a baseline, the estimated share that has responded by each day since the first "
         "session. A series that dropped out without responding counts as one that will not respond here (a "
         "competing event), not as if it would have responded like those who stayed; a series still in treatment, "
         "or finished without a response and not scored again, leaves the count at its last score (censored). So "
         "the curve stays near the intention-to-treat rate instead of climbing towards the completers' rate. Under "
         "small-cell suppression it is drawn as the sustained-response curve is (weekly, while enough series are "
         "at risk; numbers at risk rounded to 5).",
         "Aalen-Johansen cumulative incidence (Aalen & Johansen 1978; Putter, Fiocco & Geskus 2007).",
         ("response_fraction_phq9", "dropout_quiet_days")),
    Card("maintenance", "Boosters and re-induction",
         "A booster is a completed session of the same series after the induction's last session, however long after "
         "it: a lone session after a long break is a booster too. Days to the first booster count from the "
         "induction's last session. A series is re-inducted when the patient starts a new series: after a break "
         "longer than the series gap, several sessions close together or a new baseline. Recent series have had "
         "less time for either: these are crude shares, not rates over time.",
         "Product definition; maintenance boosters follow induction (Oliver 2022; McInnes 2022).",
         ("series_gap_days", "reinduction_min_sessions", "reinduction_window_days")),
    Card("protocol-adherence", "Protocol adherence",
         "Among series whose induction is decided (completed or dropped out), the share that completed the route's "
         "induction, and the share that did so within its window (for example 6 IV infusions within 21 days).",
         "Oliver 2022 (6 infusions in 21 days); Spravato label (weeks 1-4); Hull 2022 (4 sessions over 4 weeks).",
         ("induction_window_days_iv", "induction_window_days_im", "induction_window_days_intranasal",
          "induction_window_days_oral")),
    Card("talking-therapies", "NHS Talking Therapies measures",
         "Counted as NHS Talking Therapies counts them: among series that finished a course (ended, with at least two "
         "completed sessions; a series that stopped after two sessions counts, as an ended NHS referral does), scored "
         "on both PHQ-9 and GAD-7 at baseline and at their last score, and cases at baseline (PHQ-9 10 or more, or "
         "GAD-7 8 or more): recovery is ending below both thresholds; reliable improvement a fall of 6 or more on "
         "PHQ-9 or 4 or more on GAD-7 with neither rising as much; reliable recovery both; reliable deterioration a "
         "rise of 6 or more on PHQ-9 or 4 or more on GAD-7. Beside them, the share whose PHQ-9 fell by 5 or more, the "
         "smallest change patients notice (Löwe 2004). The national standard is drawn: at least 50% of the cases "
         "who finish a course recover. The 2026/27 planning targets (reliable recovery 51%, reliable improvement "
         "69%) are not drawn: found only in a secondary report, not checked against NHS England's document.",
         "NHS Talking Therapies manual; NHS Digital glossary (finished course); NHS England (50% recovery "
         "standard); Löwe 2004 (PHQ-9 MCID).", ("phq9_caseness", "gad7_caseness", "end_of_induction_days")),
    Card("adverse-events", "Adverse-event rate",
         "The share of completed sessions at which an adverse event (for example dissociation or nausea) was "
         "recorded. Compare with the Spravato label's rates.", "Spravato prescribing information."),
    Card("safety-signals", "Any safety signal?",
         "The Safety page's summary sets each figure beside a reference and says whether it is above it. Adverse "
         "events: the share of series with the event at least once during the induction (as trials count patients), "
         "against the published range for the series' route: esketamine's phase 3 trials for intranasal, a Canadian "
         "IV ketamine clinic's 203 patients for IV; other routes and events have no checked figure and are not "
         "judged. Above: the whole 95% interval lies above the range; possibly above: the share does, the interval "
         "does not. Item 9 emerging and a systolic peak at the level a dose is held have no expected rate: any is "
         "above its reference of none, a patient to review.",
         "Int J Neuropsychopharmacol 2019;22(10):616-30 and 2021;24(1):22-31 (esketamine trials); Rodrigues et al. "
         "(Canadian Rapid Treatment Center of Excellence); ACC/AHA 2017.", ("bp_peak_systolic",)),
    Card("blood-pressure", "Blood-pressure peak",
         "The share of sessions with a blood-pressure reading whose highest systolic value reached the set level "
         "(180 mmHg unless changed), the usual level at which a dose is held.",
         "Spravato prescribing information (monitoring); ACC/AHA 2017 (180 or more: hypertensive crisis).",
         ("bp_peak_systolic",)),
    Card("blood-pressure-rise", "Blood-pressure rise and pre-dose reading",
         "A rise: the session's peak is at least the set number of mmHg above the reading before the dose (systolic "
         "or diastolic), counted over sessions with both readings. Raised before dosing: the pre-dose reading is "
         "above the set level (systolic or diastolic), counted over sessions with a pre-dose reading.",
         "Spravato prescribing information: rises of 40 mmHg systolic or 25 diastolic after dosing; check blood "
         "pressure before dosing, caution above 140/90.",
         ("bp_rise_systolic", "bp_rise_diastolic", "bp_pre_systolic_above", "bp_pre_diastolic_above")),
    Card("item-9", "Item 9 flag",
         "PHQ-9 question 9 asks about thoughts of self-harm. Any answer above 0 calls for clinical follow-up. The "
         "list holds every PHQ-9 in the data, in a treatment series or not (a screening questionnaire before any "
         "series too), of the whole clinic whatever the filters (its download says \"whole clinic, not filtered\"); "
         "it is patient-level and never shown in meeting mode. The counts above it, and the meeting pack's, follow "
         "the filters: the answers of 1 or more given in the series of those filters (a screening questionnaire in "
         "no series is in none of them), with their patients, small counts hidden and others rounded to 5.",
         "Simon 2013 (risk rises with the answer); Kroenke 2001; clinical practice."),
    Card("item-9-course", "Item 9 over the induction",
         "Among series that could be judged at the end of induction: of those with thoughts of self-harm at "
         "baseline (item 9 of 1 or more), the share whose last item 9 at the end of induction is 0 (resolved); of "
         "those without (item 9 of 0), the share with any item 9 of 1 or more after baseline, up to the end of "
         "induction (emerged); and the share whose PHQ-9 total rose by the reliable-change points (6) or more "
         "(reliable deterioration).", "Product definitions; reliable change 6 points (NHS Talking Therapies).",
         ("end_of_induction_days",)),
    Card("cadss", "Dissociation (CADSS)",
         "The Clinician-Administered Dissociative States Scale, 0 to 92, rated after a dose. It measures a side "
         "effect, not depression: it has no response or remission and is charted only on the Safety page, as the "
         "mean score at each session number of the series. A score counts for the completed session on its day.",
         "Bremner 1998; Spravato prescribing information (dissociation measured with the CADSS)."),
    Card("funnel-plot", "Funnel plot and special-cause signals",
         "A funnel plot shows each group's rate against its size, with limits for what chance alone would give; a "
         "point outside the outer limits deserves a closer look. On the month-by-month chart, a special-cause signal "
         "marks a change larger than chance. A month or quarter still being scored (some of its series are still "
         "within their end-of-induction window) is drawn hollow and labelled \"still open\": its rate is "
         "provisional, so it is left out of the centre line, the limits and the signals.",
         "Spiegelhalter 2005; NHS England, Making Data Count."),
    Card("case-mix", "Case-mix adjustment",
         "A site or clinician that treats more severe or harder-to-help patients has a lower raw response rate without "
         "doing worse. A logistic model of end-of-induction response on baseline severity, route, indication, age "
         "band and sex (never the site or clinician) gives each series its chance of response; a group's expected "
         "responders are the sum of its series' chances. Observed divided by expected is 1 when a group does as its "
         "patients predict, and the funnel's limits show what chance alone would give. Levels with fewer than 10 "
         "series are pooled; with too few series (fewer than 5 responders or non-responders per model term), a single "
         "group, or a group of patients in which everyone or no one responded, no model is fitted and the page says "
         "so.", "Spiegelhalter 2005 (funnel plots for indirectly standardised ratios); Peduzzi 1996 and Vittinghoff & "
         "McCulloch 2007 (events per model term)."),
    Card("suppression", "Small-cell suppression",
         "Counts from 1 to 10, and every rate built on them, are hidden so no patient can be recognised; they read "
         "**hidden**. Zero may be shown. Every other count is rounded to the nearest 5 (339 reads 340; 11 and 12 read 15), "
         "so subtracting one shown count from another never gives a small count exactly: series minus evaluable, "
         "this quarter minus last. Rates come from the exact counts, in whole percents (curves too); means and "
         "medians to one decimal, as a mean to more places gives its count back. A rate is hidden when fewer "
         "than 11 are in it or left out of it (5 of 50 did not respond), and so is any other number of its row "
         "those few could be worked out from (the intention-to-treat rate, or the responders). Start dates count whole months. Only an "
         "analyst can lower the threshold below the clinic's setting, in a view marked internal. In a download a "
         "hidden cell is empty.",
         "CMS cell-size suppression policy; PCORnet.", ("min_cell_size",)),
    Card("not-on-track", "Not on track",
         "A series still in its induction whose improvement by a checkpoint (a session number for each route) is "
         "smaller than what most of the clinic's own eventual responders had shown by then: below the quantile "
         "below of their improvement. A route with too few responders to learn from flags nothing. The page shows "
         "how often flagged and unflagged closed series went on to respond: a prompt to look, not a prediction.",
         "Expected-treatment-response feedback (Lambert 2001); early improvement predicts response (Szegedi 2009).",
         ("not_on_track_session_iv", "not_on_track_session_im", "not_on_track_session_intranasal",
          "not_on_track_session_oral", "not_on_track_quantile", "not_on_track_min_series")),
    Card("expected-range", "Expected range (one series)",
         "On a series' own page: week by week, the middle half of the scores of the clinic's closed series that "
         "started from a similar baseline. A week with too few such series is left out.", "Product definition.",
         ("expected_range_baseline_points", "min_cell_size")),
)

# The topic a page's "How is X defined?" link names -> the card it opens.
TOPICS: dict[str, str] = {
    "end of induction": "end-of-induction", "end-of-induction response": "end-of-induction",
    "response": "response", "remission": "remission", "a week of treatment series": "week",
    "an adverse-event rate": "adverse-events", "an item 9 flag": "item-9", "dropout": "dropout",
    "a treatment series": "treatment-series", "baseline": "baseline", "caseness": "caseness",
    "a blood-pressure peak": "blood-pressure", "small-cell suppression": "suppression",
    "a funnel plot": "funnel-plot", "reliable change": "reliable-change",
    "sustained response": "sustained-response", "time to first response": "time-to-response",
    "a booster": "maintenance", "protocol adherence": "protocol-adherence",
    "NHS Talking Therapies recovery": "talking-therapies",
    "a blood-pressure rise": "blood-pressure-rise", "item 9 over the induction": "item-9-course",
    "CADSS": "cadss", "case-mix adjustment": "case-mix", "not on track": "not-on-track",
    "the expected range": "expected-range",
    "a safety signal": "safety-signals",
}


def card_for_anchor(anchor: str) -> Card | None:
    return next((c for c in CARDS if c.anchor == anchor), None)


def card_for(topic: str) -> Card | None:
    """The card a "How is <topic> defined?" link opens (None: the page's top)."""
    return card_for_anchor(TOPICS.get(topic, ""))
