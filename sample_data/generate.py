"""Generate a SYNTHETIC ketamine clinic network: patients, sessions and outcomes exports.

No real person is in this data. Schedules, dropout and response follow the published real-world
results in docs/metrics.md (ORKA-1/2, Oliver 2022, the Spravato label) closely enough to make the
dashboard look like a real clinic's, not to reproduce any study.

    python sample_data/generate.py                      # the committed sample: 600 patients
    python sample_data/generate.py --patients 100000 --out /tmp/network   # a benchmark network
"""

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

SITES = ("Northside", "Riverside", "Lakeview")
CLINICIANS = {site: tuple(f"{site[0]}{n:02d}" for n in range(1, 4)) for site in SITES}
ROUTES = (("IV", 0.52), ("IM", 0.15), ("intranasal", 0.25), ("oral", 0.08))
INDICATIONS = (("depression", 0.65), ("anxiety", 0.20), ("PTSD", 0.15))
AGE_BANDS = (("18-24", 0.10), ("25-34", 0.25), ("35-44", 0.25), ("45-54", 0.20), ("55-64", 0.13), ("65+", 0.07))
SEXES = (("female", 0.58), ("male", 0.40), ("other", 0.02))
# Adverse-event rate per completed session, by route (intranasal: Spravato label; others lower).
ADVERSE_EVENT_RATES = {
    "intranasal": {"dissociation": 0.41, "dizziness": 0.29, "nausea": 0.28, "sedation": 0.23,
                   "elevated_bp": 0.10, "vomiting": 0.09, "headache": 0.10, "anxiety": 0.05},
    "IV": {"dissociation": 0.35, "dizziness": 0.15, "nausea": 0.15, "sedation": 0.15, "elevated_bp": 0.08,
           "vomiting": 0.04, "headache": 0.08, "anxiety": 0.05},
    "IM": {"dissociation": 0.38, "dizziness": 0.18, "nausea": 0.18, "sedation": 0.15, "elevated_bp": 0.08,
           "vomiting": 0.05, "headache": 0.08, "anxiety": 0.05},
    "oral": {"dissociation": 0.20, "dizziness": 0.12, "nausea": 0.12, "sedation": 0.20, "elevated_bp": 0.03,
             "vomiting": 0.03, "headache": 0.06, "anxiety": 0.04},
}
# Planned session days of an induction (day 0 = first session), then maintenance.
SCHEDULES = {
    "IV": (0, 2, 4, 7, 9, 11),
    "IM": (0, 2, 4, 7, 9, 11),
    "intranasal": (0, 3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49),
    "oral": (0, 7, 14, 21),
}
# Sessions in an induction, by route (docs/metrics.md: induction_sessions_<route>); the end-of-induction
# score is taken a few days to three weeks after the last of them.
INDUCTION = {"IV": 6, "IM": 6, "intranasal": 8, "oral": 4}
# The share of finished IV/IM courses given one late maintenance booster, more than series_gap_days after
# the last session: the case a lone late session must not become a new, failed series (issue 22).
LATE_BOOSTER_SHARE = 0.15
FIRST_START = date(2024, 1, 1)
LAST_START = date(2025, 9, 30)
DATA_END = date(2025, 10, 31)

SESSION_COLUMNS = ("patient_id", "session_date", "route", "status", "dose_mg", "dose_mg_per_kg", "site",
                   "clinician_id", "adverse_events", "systolic_bp_peak", "session_id", "systolic_bp_pre",
                   "diastolic_bp_pre", "diastolic_bp_peak")
# Mean CADSS (0-92) after a first dose, by route; it wanes over the following sessions. One site rates it.
CADSS_FIRST = {"intranasal": 16, "IV": 13, "IM": 15, "oral": 6}
CADSS_SITE = "Lakeview"
OUTCOME_COLUMNS = ("patient_id", "assessment_date", "instrument", "score", "item9")
PATIENT_COLUMNS = ("patient_id", "age_band", "sex", "primary_indication", "site")


def pick(rng: random.Random, weighted):
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def clamp(value: float, low: int, high: int) -> int:
    return int(min(high, max(low, round(value))))


class Clinic:
    """One synthetic patient at a time, written straight to three CSV writers."""

    def __init__(self, rng: random.Random, sessions, outcomes, vitals: random.Random):
        self.rng, self.sessions, self.outcomes = rng, sessions, outcomes
        # Draws added after the first release (pre-dose and diastolic pressure, CADSS, screening PHQ-9s)
        # come from their own generator, so every value the sample had before stays as it was.
        self.vitals = vitals
        self.session_count = 0
        self.dbp = 78.0
        self.cadss_rated: set = set()

    def patient(self, patient_id: str, site: str, indication: str) -> None:
        rng = self.rng
        route = pick(rng, ROUTES)
        weight = rng.uniform(55, 120)
        sbp = rng.gauss(124, 12)
        start = FIRST_START + timedelta(days=rng.randrange((LAST_START - FIRST_START).days))
        self.dbp = self.vitals.gauss(0.45 * sbp + 22, 6)
        if self.vitals.random() < 0.06:  # a screening PHQ-9 weeks before the first series: in no series
            when = start - timedelta(days=self.vitals.randint(30, 60))
            score = clamp(self.vitals.gauss(17, 4), 5, 27)
            item9 = min(score, 1 + (self.vitals.random() < 0.3)) if self.vitals.random() < 0.35 else 0
            self.outcomes.writerow((patient_id, when.isoformat(), "PHQ-9", score, item9))
        for series in (1, 2):
            last_day = self.series(patient_id, site, indication, route, weight, sbp, start)
            if series == 2 or rng.random() > 0.12 or last_day is None:
                return
            start = last_day + timedelta(days=rng.randint(90, 240))
            if start > DATA_END:
                return

    def series(self, patient_id, site, indication, route, weight, sbp, start: date) -> date | None:
        rng = self.rng
        stretch = rng.uniform(0.8, 1.6)  # real inductions run 7-28 days
        planned = [round(d * stretch) for d in SCHEDULES[route]]
        stop_after = 1 if rng.random() < 0.20 else next(
            (n for n in range(2, len(planned) + 1) if rng.random() < 0.09), None)
        if stop_after:
            planned = planned[:stop_after]
        elif route in ("IV", "IM") and rng.random() < 0.45:
            booster = planned[-1]
            for _ in range(rng.randint(1, 4)):
                booster += rng.randint(21, 42)
                planned.append(booster)
        completed_days = []
        clinicians = CLINICIANS[site]
        for day in planned:
            for attempt in range(3):
                when = start + timedelta(days=day + attempt * rng.randint(1, 3))
                if when > DATA_END:
                    break
                status = "completed" if attempt == 2 else pick(
                    rng, (("completed", 0.92), ("cancelled", 0.05), ("no_show", 0.03)))
                self.session(patient_id, when, route, status, weight, sbp, site,
                             clinicians[0] if rng.random() < 0.7 else rng.choice(clinicians), len(completed_days))
                if status == "completed":
                    completed_days.append(when)
                    break
        if not completed_days:
            return None
        self.assessments(patient_id, indication, start, completed_days, dropped=bool(stop_after),
                         induction=INDUCTION[route])
        if route in ("IV", "IM") and not stop_after and self.vitals.random() < LATE_BOOSTER_SHARE:
            completed_days.append(self.late_booster(patient_id, route, weight, sbp, site, completed_days))
        return completed_days[-1]

    def late_booster(self, patient_id, route, weight, sbp, site, completed_days) -> date:
        """One maintenance session 61-120 days after the series' last (more than series_gap_days), with the
        PHQ-9 scored that day: a booster of this series, not a new course (docs/metrics.md). Its draws come
        from the vitals generator so that every other value of the sample stays as it was."""
        vitals = self.vitals
        when = completed_days[-1] + timedelta(days=vitals.randint(61, 120))
        if when > DATA_END:
            return completed_days[-1]
        main_rng, self.rng = self.rng, vitals
        try:
            self.session(patient_id, when, route, "completed", weight, sbp, site, CLINICIANS[site][0],
                         len(completed_days))
        finally:
            self.rng = main_rng
        self.outcomes.writerow((patient_id, when.isoformat(), "PHQ-9", clamp(vitals.gauss(7, 3), 0, 27), "0"))
        return when

    def session(self, patient_id, when, route, status, weight, sbp, site, clinician, n_before) -> None:
        rng = self.rng
        self.session_count += 1
        dose_mg = dose_per_kg = events = peak = sbp_pre = dbp_pre = dbp_peak = ""
        if status == "completed":
            if route in ("IV", "IM"):
                per_kg = (0.5 if route == "IV" else 0.75) * (1 + 0.1 * min(n_before, 3) * (rng.random() < 0.3))
                dose_per_kg, dose_mg = f"{per_kg:.2f}", f"{per_kg * weight:.0f}"
            elif route == "intranasal":
                dose_mg = "56" if n_before < 2 else rng.choice(("56", "84", "84"))
            else:
                dose_mg = rng.choice(("300", "450"))
            rates = ADVERSE_EVENT_RATES[route]
            events = ";".join(e for e, rate in rates.items() if rng.random() < rate * (0.8 if n_before > 3 else 1))
            peak = str(clamp(sbp + rng.gauss(14, 10) + (25 if "elevated_bp" in events else 0), 90, 220))
            vitals = self.vitals
            sbp_pre = str(clamp(sbp + vitals.gauss(0, 7), 90, 200))
            dbp_pre = vitals.gauss(self.dbp, 5)
            dbp_peak = str(clamp(dbp_pre + vitals.gauss(7, 6) + (14 if "elevated_bp" in events else 0), 40, 140))
            dbp_pre = str(clamp(dbp_pre, 40, 130))
            if site == CADSS_SITE and (patient_id, when) not in self.cadss_rated:  # once a day
                self.cadss_rated.add((patient_id, when))
                cadss = CADSS_FIRST[route] * 0.9 ** min(n_before, 8) + vitals.gauss(0, 5)
                self.outcomes.writerow((patient_id, when.isoformat(), "CADSS", clamp(cadss, 0, 92), ""))
        self.sessions.writerow((patient_id, when.isoformat(), route, status, dose_mg, dose_per_kg, site, clinician,
                                events, peak, f"S{self.session_count:07d}", sbp_pre, dbp_pre, dbp_peak))

    def assessments(self, patient_id, indication, start, completed_days, dropped, induction) -> None:
        rng = self.rng
        responder = rng.random() < (0.40 if dropped else 0.60)
        improvement = rng.uniform(0.5, 0.95) if responder else rng.uniform(-0.1, 0.45)
        instruments = [("PHQ-9", rng.gauss(17.5, 4), 27)]
        if rng.random() < 0.8 or indication == "anxiety":
            instruments.append(("GAD-7", rng.gauss(13.5, 3.5), 21))
        if indication == "PTSD":
            instruments.append(("PCL-5", rng.gauss(52, 11), 80))

        days = []
        if rng.random() > 0.04:  # a few series have no baseline at all
            days.append(-pick(rng, ((0, 0.5), (rng.randint(1, 7), 0.35), (rng.randint(8, 14), 0.10),
                                    (rng.randint(15, 25), 0.05))))
        seen_weeks = set()
        for when in completed_days[1:]:
            day = (when - start).days
            week = (day + 6) // 7
            if week not in seen_weeks and rng.random() < 0.85:
                seen_weeks.add(week)
                days.append(day)
        if len(completed_days) >= induction and rng.random() < 0.7:
            days.append((completed_days[induction - 1] - start).days + rng.randint(3, 20))

        for name, baseline, top in instruments:
            baseline = clamp(baseline, 5 if name != "PCL-5" else 25, top)
            for day in sorted(set(days)):
                when = start + timedelta(days=day)
                if when > DATA_END:
                    continue
                progress = min(1.0, max(0, day) / 21) ** 0.7
                drift = max(0, day - 35) / 60 * 0.08 * baseline
                score = clamp(baseline * (1 - improvement * progress) + drift + rng.gauss(0, 0.07 * top), 0, top)
                item9 = ""
                if name == "PHQ-9":
                    p_flag = min(0.12, max(0.0, (score - 12) / 80))
                    item9 = str(min(score, pick(rng, ((1, 0.75), (2, 0.2), (3, 0.05))))) if rng.random() < p_flag else "0"
                self.outcomes.writerow((patient_id, when.isoformat(), name, score, item9))


def generate(out: Path, patients: int = 600, seed: int = 20240101) -> None:
    """Write patients.csv, sessions.csv and outcomes.csv for a synthetic network into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with open(out / "patients.csv", "w", newline="") as pf, open(out / "sessions.csv", "w", newline="") as sf, \
            open(out / "outcomes.csv", "w", newline="") as of:
        writers = [csv.writer(f, lineterminator="\n") for f in (pf, sf, of)]
        for writer, columns in zip(writers, (PATIENT_COLUMNS, SESSION_COLUMNS, OUTCOME_COLUMNS)):
            writer.writerow(columns)
        clinic = Clinic(rng, writers[1], writers[2], random.Random(seed + 1))
        for n in range(1, patients + 1):
            patient_id = f"KP{n:06d}"
            site = rng.choice(SITES)
            indication = pick(rng, INDICATIONS)
            writers[0].writerow((patient_id, pick(rng, AGE_BANDS), pick(rng, SEXES), indication, site))
            clinic.patient(patient_id, site, indication)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    generate(args.out, args.patients, args.seed)


if __name__ == "__main__":
    main()
