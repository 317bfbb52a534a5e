"""Guards the meeting pack (`ketamine-outcomes report`): the HTML opens offline in chromium without a
single network request; the PDF's text holds the marts' end-of-induction rates for the same filters,
with the suppression header and the period on every page; an empty period says so; no figure or table
of the pack lets a hidden count be worked out; export text is escaped."""

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta

import duckdb
import pytest
from pypdf import PdfReader

from conftest import ARTIFACTS, wait_for_app
from ketamine_outcomes.disclosure import suppress
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.report import pack
from ketamine_outcomes.store import database
from ketamine_outcomes.ingest.pipeline import ingest_files

# The response rule as the pack states it: (score as a % of baseline, the fall it means).
RESPONSE_RULE = re.compile(r"score at most (\d+)% of baseline \(a fall of (\d+)% or more\)")
Q1 = marts.Cohort(start_from=date(2024, 1, 1), start_to=date(2024, 3, 31))
Q2 = marts.Cohort(start_from=date(2024, 4, 1), start_to=date(2024, 6, 30))


@pytest.fixture
def own_db(sample_db, tmp_path):
    """A copy of the sample clinic for a `report` command: the command writes its audit row, and the
    session's shared database is held open read-only by this module (DuckDB lets no other process write a
    file another holds; a read-only reader may not see another process's writes)."""
    path = tmp_path / "own.duckdb"
    shutil.copy(sample_db, path)
    return path


@pytest.fixture(scope="module")
def sample_con(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    yield con
    con.close()


def test_periods_are_quarters_months_or_ranges():
    assert pack.parse_period("2025-q3") == pack.Period("2025-Q3", date(2025, 7, 1), date(2025, 9, 30), "quarter")
    assert pack.parse_period("2024-02").end == date(2024, 2, 29)
    assert pack.parse_period("2025-Q1").previous().label == "2024-Q4"
    assert pack.parse_period("2025-01").previous().label == "2024-12"
    # Whole months: two packs whose --to differ by a day would give the series started that day.
    span = pack.parse_period(None, date(2025, 1, 10), date(2025, 1, 19))
    assert (span.start, span.end) == (date(2025, 1, 1), date(2025, 1, 31))
    assert (span.previous().start, span.previous().end) == (date(2024, 12, 1), date(2024, 12, 31))
    # 18 whole months (2024-01 to 2025-06): the previous period is the 18 whole months before, not 546 days.
    eighteen = pack.parse_period(None, date(2024, 1, 1), date(2025, 6, 30)).previous()
    assert (eighteen.start, eighteen.end) == (date(2022, 7, 1), date(2023, 12, 31))
    across = pack.parse_period(None, date(2025, 2, 14), date(2025, 3, 2)).previous()  # February-March: 2 months
    assert (across.start, across.end) == (date(2024, 12, 1), date(2025, 1, 31))
    for bad in ("2025-Q5", "2025-13", "last quarter"):
        with pytest.raises(pack.ReportError, match="not a quarter"):
            pack.parse_period(bad)


def test_default_period_is_the_latest_closed_quarter(sample_con):
    # 2025-Q3: 73 of 81 series evaluable on the data's last day, so 2025-Q2 is the latest closed.
    assert pack.latest_closed_quarter(sample_con, "PHQ-9", marts.Cohort()).label == "2025-Q2"


def test_min_cell_is_never_below_eleven_or_the_setting(sample_con):
    assert pack.effective_min_cell(sample_con, 5) == 11
    assert pack.effective_min_cell(sample_con, None) == 11
    assert pack.effective_min_cell(sample_con, 20) == 20


@pytest.mark.browser
def test_html_pack_opens_offline_without_a_network_request(page, own_db, tmp_path, cli):
    out = tmp_path / "pack.html"
    assert cli("report", "--db", str(own_db), "--out", str(out), "--period", "2024-Q2").returncode == 0
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(out.as_uri())
    page.wait_for_function("[...document.querySelectorAll('.plotly-graph-div')]"
                           ".every(div => div.querySelector('.main-svg'))")
    # Headline, trajectory, p-chart and two funnels, each drawn: in one quarter every site's and clinician's counts
    # are small, so each funnel says so and shows the rolling 12 months instead.
    assert page.locator(".plotly-graph-div").count() == 5
    assert page.locator(".plotly-graph-div:has(.main-svg)").count() == 5
    assert page.get_by_text("By site (the rolling 12 months 2023-07-01 to 2024-06-30)").count() == 1
    assert requests == [out.as_uri()]


@pytest.mark.browser  # chromium prints the PDF
def test_pdf_holds_the_marts_end_of_induction_rates(own_db, sample_con, tmp_path, cli_process):
    # Its own process: Playwright's sync API refuses to start inside the event loop that a browser test
    # earlier in this xdist worker left running.
    out = tmp_path / "pack.pdf"
    run = cli_process("report", "--db", str(own_db), "--out", str(out), "--period", "2024-Q2", "--clinic", "Sample clinic")
    assert run.returncode == 0, run.stderr
    pages = [p.extract_text() for p in PdfReader(out).pages]
    text = "\n".join(pages)
    # The headline counts series at or above caseness at baseline by default (PHQ-9 >= 10).
    cases = marts.Cohort(start_from=Q2.start_from, start_to=Q2.start_to, min_baseline=10)
    rates = marts.cohort_comparison(sample_con, "PHQ-9", by="all", cohort=cases).iloc[0]
    # 22 of 40 scored responded, 11 remitted; 71 evaluable: no count or difference under 11.
    assert (rates.responders, rates.remitters, rates.n_scored, rates.n_evaluable) == (22, 11, 40, 71)
    for column in ("response_rate", "remission_rate", "itt_response_rate", "itt_remission_rate"):
        assert f"{rates[column]:.0%} (95% CI {rates[column + '_low']:.0%}-{rates[column + '_high']:.0%})" in text
    assert "55%" in text and "31%" in text  # 22 / 40 and 22 / 71, whole percents beside rounded counts
    for number, page_text in enumerate(pages, start=1):
        assert "De-identified · counts under 11 suppressed · 2024-Q2" in page_text.replace("ﬁ", "fi")
        assert f"page {number} of {len(pages)}" in page_text
    assert "Sample clinic" in pages[0]


def test_an_empty_period_gives_a_pack_that_says_so(sample_con):
    document = pack.html_pack(sample_con, period=pack.parse_period("2020-Q1"))
    # The wording is the point: the sentence the meeting reads in place of every figure.
    assert "No treatment series started in 2020-Q1 match these filters." in document
    assert 'id="p-chart"' not in document and "plotly-graph-div" not in document


def test_a_pack_whose_periods_are_all_hidden_judges_no_signal(sample_con):
    # By month every month of the sample clinic is hidden at 11: no variation is shown, so none is judged.
    document = pack.html_pack(sample_con, period=pack.parse_period("2024-05"))
    # The wording is the point: "cannot be judged", never "none" (which would call the months common cause).
    assert "No signal can be judged: no month has enough series to show (small-cell suppression)." in document
    assert "common cause" not in document


def test_the_pack_states_the_rules_in_force_from_the_settings(sample_con):
    document = pack.html_pack(sample_con, period=pack.parse_period("2024-Q2"))
    assert "last score carried forward." not in document  # the old caption: carried for ever
    assert re.search(r"only up to\s+14 days after its last completed session \(or to the induction's end once the "
                     r"series reached\s+it; limited LOCF\), then its baseline \(BOCF\)", document)
    assert "intention to treat, up to the end of induction" in document
    assert set(RESPONSE_RULE.findall(document)) == {("50", "50")}  # wherever stated: PHQ-9's fraction in force
    pcl5 = pack.html_pack(sample_con, instrument="PCL-5", period=pack.parse_period("2024-Q2"))
    assert set(RESPONSE_RULE.findall(pcl5)) == {("70", "30")}
    assert "below the probable-PTSD cut-off, observed" in pcl5 and "remission, observed" not in pcl5


@pytest.mark.slow
def test_the_headline_counts_cases_at_baseline_unless_cleared(sample_con):
    # Q2 2024 on the sample clinic: 23 of 41 scored series responded (56.1%) over every series; 22 of 40
    # (55.0%) among those with PHQ-9 >= 10 at baseline (a series starting at 9 or less is left out).
    cases = pack.build(sample_con, period=pack.parse_period("2024-Q2"))
    assert cases["headline"]["rows"][0]["scored"] == "40" and cases["headline"]["rows"][0]["response"].startswith("55%")
    assert cases["headline"]["cases"] == "PHQ-9 10 or more at baseline"
    every = pack.build(sample_con, period=pack.parse_period("2024-Q2"), cases_only=False)
    assert every["headline"]["rows"][0]["scored"] == "40" and every["headline"]["rows"][0]["response"].startswith("56%")
    assert every["headline"]["cases"] is None
    # Series started counts every series either way; a chosen minimum replaces caseness.
    assert cases["headline"]["rows"][0]["started"] == every["headline"]["rows"][0]["started"]
    chosen = pack.build(sample_con, period=pack.parse_period("2024-Q2"), cohort=marts.Cohort(min_baseline=0))
    assert chosen["headline"]["rows"][0]["scored"] == "40"  # 41, rounded


@pytest.mark.subprocess
def test_pdf_without_chromium_names_the_install_command(own_db, tmp_path, cli):
    env_run = subprocess.run(
        [sys.executable, "-m", "ketamine_outcomes.cli", "report", "--db", str(own_db), "--out",
         str(tmp_path / "pack.pdf"), "--period", "2024-Q2"],
        capture_output=True, text=True, timeout=300,
        env={"PATH": str(tmp_path), "KETAMINE_OUTCOMES_CHROMIUM": str(tmp_path / "no-chromium"),
             "HOME": str(tmp_path), "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path)})
    assert env_run.returncode == 2
    assert "apt-get install -y chromium" in env_run.stderr
    assert not (tmp_path / "pack.pdf").exists()
    assert cli("report", "--db", str(own_db), "--out", str(tmp_path / "pack.html"), "--period", "2024-Q2").returncode == 0


# --- nothing hidden can be worked out -----------------------------------------------------------------

def _values(values):
    return [None if v is None or v != v else v for v in (list(values) if values is not None else [])]


def assert_nothing_hidden_is_derivable(meeting_pack: dict) -> None:
    """Check every figure and table of a pack for a way back to a count from 1 to min_cell - 1."""
    min_cell = meeting_pack["min_cell"]

    def small(count) -> bool:
        return 0 < round(count) < min_cell

    for fig in meeting_pack["figures"]:
        title = fig.layout.title.text or ""
        for trace in fig.data:
            for label in _values(trace.text) if isinstance(trace.text, (list, tuple)) else []:
                match = re.fullmatch(r"n=(\d+)", str(label or ""))
                assert not (match and small(int(match.group(1)))), (title, label)
        if title.startswith("End-of-induction response ("):
            rate = next(t for t in fig.data if t.name == "rate")
            upper = next(t for t in fig.data if t.name == "control limits")
            centre = next(t for t in fig.data if t.name == "mean").y[0]
            shown = [(x, r, c[0]) for x, r, c in zip(rate.x, _values(rate.y), rate.customdata) if r is not None]
            hidden = [x for x, r in zip(rate.x, _values(rate.y)) if r is None]
            assert not (len(hidden) == 1 and shown), "one hidden period: the total minus the shown ones gives it"
            for x, r, n in shown:
                assert int(n) % 5 == 0 and int(n) >= min_cell, (x, n)  # the hover's n, rounded
            limits = dict(zip(upper.x, _values(upper.y)))
            assert all(limits[x] is None for x in hidden), "a limit drawn for a hidden period gives its n"
            for x, limit in limits.items():
                if limit is not None and 0 < centre < 1 and limit < 1:
                    # A limit gives its period's exact n: never a small one (the hover shows it rounded).
                    solved = round(9 * centre * (1 - centre) / (limit - centre) ** 2)
                    assert not small(solved) and any(abs(solved - int(n)) <= 4 for _, _, n in shown), (x, solved)
            if not shown:
                assert centre is None or centre != centre, "no period shown: no centre line"
                continue
            assert min(r for _, r, _ in shown) <= centre <= max(r for _, r, _ in shown), "the shown periods' rate"
        if title.startswith("Funnel plot"):
            points = next(t for t in fig.data if t.mode == "markers+text")
            for n, r, shown_n in zip(points.x, points.y, (c[2] for c in points.customdata)):
                k = round(r * n)
                assert not small(n) and not small(k) and not small(n - k)
                assert int(shown_n.replace(",", "")) % 5 == 0  # the hover's n, rounded
    # Every count in words is hidden, zero or rounded to 5 (and at least 15): so two counts shown side by side (a
    # total and its parts, evaluable and scored, this period and the last, item 9's answers and patients) never
    # give their difference exactly.
    rows = meeting_pack.get("headline", {}).get("rows", [])
    # A 0 part of a hidden whole reads hidden too: "0 active" of a hidden number started says none of those few is.
    assert not any(row["started"] == "hidden" and row["active"] == "0" for row in rows), rows
    words = [row[key] for row in rows for key in ("started", "active", "evaluable", "scored")]
    if "safety" in meeting_pack:
        words += [meeting_pack["safety"][k] for k in ("item9_flagged", "item9_rises", "item9_patients", "sessions_now",
                                              "sessions_before")]
        words += [r[k] for r in meeting_pack["safety"]["pressure"] for k in ("n_sessions", "n_measured", "n_high_peaks")]
    words += [r[k] for f in meeting_pack.get("funnels", []) for r in f["rows"] for k in ("n", "k")]
    document = pack.render(meeting_pack)
    words += re.findall(r'<td class="count">([^<]*)</td>', document)
    for word in words:
        # "before the data starts": a previous period with no data at all, in words (no count).
        assert word in ("", "0", "hidden", "before the data starts") or (int(word.replace(",", "")) % 5 == 0
                                               and int(word.replace(",", "")) >= min_cell), word


@pytest.mark.slow  # a sweep: six whole packs read for what subtraction gives, 4 s of CPU
@pytest.mark.parametrize("period, cohort", [
    ("2024-Q2", marts.Cohort()),
    ("2024-Q3", marts.Cohort()),  # 2 of 31 remitted: a small cell
    ("2024-Q2", marts.Cohort(sites=("Northside",))),  # 4 oral sessions: the routes' total would give them
    ("2025-03", marts.Cohort()),  # by month: most months hidden
    ("2025-03", marts.Cohort(routes=("IV",))),
    ("2024-Q1", marts.Cohort(clinicians=("N02",))),  # a hidden few started, none of them active
])
def test_no_hidden_count_can_be_worked_out_from_the_pack(sample_con, period, cohort):
    meeting_pack = pack.build(sample_con, cohort=cohort, period=pack.parse_period(period))
    assert meeting_pack["figures"], "the pack draws charts for this period"
    assert_nothing_hidden_is_derivable(meeting_pack)


def test_a_hidden_blood_pressure_peak_count_reads_hidden_in_its_share_too(sample_con):
    # 2025-Q2: IM and intranasal had 1-10 sessions with a systolic peak of 180 or more (hidden); their share of the
    # measured read blank, as if not measured. It reads "hidden"; a shown 0 keeps its 0%.
    meeting_pack = pack.build(sample_con, period=pack.parse_period("2025-Q2"))
    pressure = meeting_pack["safety"]["pressure"]
    hidden = [r for r in pressure if r["n_high_peaks"] == "hidden"]
    assert hidden and all(r["high_peak_rate"] == "hidden" for r in hidden)
    assert all(r["high_peak_rate"] == "0%" for r in pressure if r["n_high_peaks"] == "0")
    document = pack.render(meeting_pack)
    blood = document.split("<h3>Blood pressure</h3>")[1].split("</table>")[0]
    assert '<td class="rate"></td>' not in blood and blood.count('<td class="rate">hidden</td>') == len(hidden)


def test_the_headline_hides_the_scored_or_evaluable_count_when_their_difference_is_small(tmp_path):
    # 14 IV series started in 2024-Q1, PHQ-9 15 at baseline; 12 scored at the end of induction, 2 not: "14
    # evaluable, 12 scored" would give the 2 with no score. One later series makes the data run past the window.
    db = tmp_path / "clinic.duckdb"
    days = (0, 3, 7, 10, 14, 17)
    sessions = "patient_id,session_date,status,route,site\n" + "".join(
        f"P{p:02d},{date(2024, 1, 8) + timedelta(days=d)},completed,IV,North\n" for p in range(14) for d in days)
    sessions += "".join(f"Z01,{date(2024, 8, 1) + timedelta(days=d)},completed,IV,North\n" for d in days)
    outcomes = "patient_id,assessment_date,instrument,score\n" + "".join(
        f"P{p:02d},{date(2024, 1, 6)},PHQ-9,15\n" + (f"P{p:02d},{date(2024, 1, 29)},PHQ-9,5\n" if p < 12 else "")
        for p in range(14))
    for name, text in (("sessions.csv", sessions), ("outcomes.csv", outcomes)):
        (tmp_path / name).write_text(text)
    ingest_files(db, [tmp_path / "sessions.csv", tmp_path / "outcomes.csv"])
    con = database.connect(db)
    try:
        marts.ensure_built(con)
        rates = marts.cohort_comparison(con, "PHQ-9", by="all", cohort=replace(Q1, min_baseline=10)).iloc[0]
        assert (rates.n_evaluable, rates.n_scored) == (14, 12)
        meeting_pack = pack.build(con, period=pack.parse_period("2024-Q1"))
    finally:
        con.close()
    headline = meeting_pack["headline"]["rows"][0]
    # Both read 15 (14 and 12, rounded): their difference, 0, says nothing of the 2 with no score.
    assert (headline["evaluable"], headline["scored"]) == ("15", "15")
    # 12 of 14 evaluable would give the 2 not scored. All 12 scored responded, but the observed 100% goes too (rule
    # 3b): its interval to whole percents, 76%-100%, fits 12 of 12 only (11: 74%, 13: 77%), which would leave the
    # 14 evaluable at 12-17 and narrow the 2.
    assert headline["itt_response"] == "hidden" and headline["response"] == "hidden"
    assert_nothing_hidden_is_derivable(meeting_pack)


def test_the_checker_catches_a_limit_drawn_for_a_hidden_period(sample_con):
    # IV series by quarter: 4 of 5 quarters hidden, one drawn (where every period is hidden, as by month,
    # the chart is a sentence and there is no limit to leak).
    meeting_pack = pack.build(sample_con, cohort=marts.Cohort(routes=("IV",)), period=pack.parse_period("2025-Q1"))
    p_chart = next(f for f in meeting_pack["figures"] if (f.layout.title.text or "").startswith("End-of-induction response"))
    upper = next(t for t in p_chart.data if t.name == "control limits")
    rate = next(t for t in p_chart.data if t.name == "rate")
    hidden_at = [i for i, r in enumerate(_values(rate.y)) if r is None][0]
    leaked = list(upper.y)
    leaked[hidden_at] = 0.9  # what the chart drew before: a limit for the hidden quarter
    upper.y = leaked
    with pytest.raises(AssertionError, match="limit drawn for a hidden period"):
        assert_nothing_hidden_is_derivable(meeting_pack)


def test_export_text_in_the_pack_is_escaped(tmp_path, export):
    """Two clinicians named with markup, 12 series each, all scored and all responding (12 of 12: no
    small cell), so both appear on the funnel."""
    sessions, outcomes = ["patient_id,session_date,route,status,site,clinician_id"], \
        ["patient_id,assessment_date,instrument,score"]
    names = ['<img src=x onerror=alert(1)>', 'Dr "B" & <b>co</b>']
    for p in range(24):
        start = date(2025, 1, 6) + timedelta(days=p)
        for s in range(6):
            sessions.append(f'P{p},{start + timedelta(days=2 * s)},IV,completed,Main,"{names[p % 2].replace(chr(34), chr(34) * 2)}"')
        outcomes.append(f"P{p},{start},PHQ-9,20")
        outcomes.append(f"P{p},{start + timedelta(days=14)},PHQ-9,5")
    sessions.append(f"Z,{date(2025, 6, 30)},IV,completed,Main,x")
    db = tmp_path / "escape.duckdb"
    ingest_files(db, [export("sessions.csv", "\n".join(sessions) + "\n"),
                      export("outcomes.csv", "\n".join(outcomes) + "\n")])
    con = database.connect(db)
    marts.ensure_built(con)
    document = pack.html_pack(con, period=pack.parse_period("2025-Q1"))
    assert "<img src=x" not in document and "<b>co</b>" not in document
    assert "&lt;img src=x onerror=alert(1)&gt;" in document  # in the funnel's hover


@pytest.mark.browser
def test_quality_review_downloads_the_pack_for_the_filters_in_force(page, dashboard_url, tmp_path):
    page.goto(f"{dashboard_url}/quality_review")
    page.get_by_test_id("stApp").wait_for(timeout=90_000)
    button = page.get_by_role("button", name="Meeting pack (HTML)")
    button.wait_for(timeout=120_000)
    with page.expect_download(timeout=120_000) as download:
        button.click()
    path = tmp_path / "pack.html"
    download.value.save_as(path)
    assert download.value.suggested_filename == "meeting-pack_PHQ-9_2025-Q2.html"  # the latest closed quarter
    document = path.read_text()
    assert "series started in <b>2025-Q2</b>" in document
    assert "Counts under 11 hidden" in document and 'id="p-chart"' in document


@pytest.mark.browser
def test_meeting_mode_is_first_in_the_sidebar_folds_it_away_and_enlarges_the_text(page, dashboard_url):
    page.goto(f"{dashboard_url}/quality_review")
    sidebar = page.get_by_test_id("stSidebar")
    first = sidebar.locator("[data-testid='stSidebarUserContent'] label").first
    first.wait_for(timeout=90_000)
    wait_for_app(page, timeout=90_000)  # the whole sidebar sent: its first label is the first it has
    assert first.inner_text().strip() == "Meeting mode"
    root = "getComputedStyle(document.documentElement).fontSize"
    assert page.evaluate(root) == "16px"
    first.click()
    page.wait_for_function(f"{root} === '20px'", timeout=90_000)
    # Folded away: the sidebar keeps its place in the page but takes no width (its ">>" opens it again).
    page.wait_for_function("document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().right <= 0",
                           timeout=90_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "meeting_mode.png"), full_page=True)


def test_item9_answers_and_patients_are_rounded_so_their_difference_gives_no_repeat_flags(sample_con):
    # The pack: "98 answers, 94 patients" gave the 4 patients flagged twice. Rounded: 100 and 95.
    assert [suppress.count_text(n, 11) for n in (98, 94, 90, 5)] == ["100", "95", "90", "hidden"]
    meeting_pack = pack.build(sample_con, period=pack.parse_period("2025-Q2"))
    for key in ("item9_flagged", "item9_patients", "item9_rises"):
        assert meeting_pack["safety"][key] == "hidden" or int(meeting_pack["safety"][key]) % 5 == 0


def test_every_point_of_the_packs_funnel_is_named_in_a_table_under_it(sample_con):
    """polish/walk3: the static funnel names only the points outside the limits, and on paper there is no hover, so a
    reader could not tell which dot was which site. The table under it lists each point shown, in the mart's numbers."""
    period = pack.parse_period(start=date(2024, 1, 1), end=date(2025, 6, 30))
    document = pack.html_pack(sample_con, period=period)
    section = document[document.index('<section id="funnel">'):document.index('<section id="safety">')]
    table = section[section.index('<table class="funnel-points">'):section.index("</table>")]
    rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>.*?</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    cohort = marts.Cohort(start_from=date(2024, 1, 1), start_to=date(2025, 6, 30))  # every series started then
    sites = marts.cohort_comparison(sample_con, "PHQ-9", by="site", cohort=cohort).set_index("group_value")
    assert rows[0] == ["site", "series scored (n)", "responders", "response rate", "against the limits"]
    assert [r[0] for r in rows[1:]] == ["Lakeview", "Northside", "Riverside"]
    # The cases at baseline, as the headline counts them; counts rounded to 5, rates from the exact counts.
    cases = marts.Cohort(start_from=date(2024, 1, 1), start_to=date(2025, 6, 30), min_baseline=10)
    sites = marts.cohort_comparison(sample_con, "PHQ-9", by="site", cohort=cases).set_index("group_value")
    for name, n, k, rate, where in rows[1:]:
        assert (int(n), int(k)) == (suppress.rounded(sites.at[name, "n_scored"], 11),
                                    suppress.rounded(sites.at[name, "responders"], 11))
        assert rate == f"{sites.at[name, 'response_rate']:.0%}" and where == "within the limits"


@pytest.mark.slow
def test_the_headline_filters_name_the_cases_counted_and_remission_reads_as_its_definition(sample_con):
    # Q2 2024 on the sample clinic, cases at baseline by default: the headline's rows count PHQ-9 10 or more.
    document = pack.html_pack(sample_con, period=pack.parse_period("2024-Q2"))
    headline = re.search(r'<p class="filters" id="headline-filters">Filters: ([^<]*)</p>', document).group(1)
    assert headline.startswith("PHQ-9 · series started 2024-04-01 to 2024-06-30 · PHQ-9 baseline &gt;= 10 ·")
    assert "all series" not in headline
    # Remission said one way, the instruments table's PHQ-9 cut-off (< 5): in the note and in the definitions.
    assert re.search(r"Remission: an end-of-induction\s+PHQ-9 score under 5\.", document)
    assert "An end-of-induction PHQ-9 score under 5." in document
    assert "at or below" not in document and "at most 4" not in document
    # Cleared: every series, and the line says so.
    every = pack.html_pack(sample_con, period=pack.parse_period("2024-Q2"), cases_only=False)
    assert re.search(r'id="headline-filters">Filters: PHQ-9 · series started 2024-04-01 to 2024-06-30 · all series ·',
                     every)
    pcl5 = pack.html_pack(sample_con, instrument="PCL-5", period=pack.parse_period("2024-Q2"))
    assert re.search(r"Below the probable-PTSD cut-off: an end-of-induction\s+PCL-5 score under 33 \(below the "
                     r"probable-PTSD cut-off\), not remission\.", pcl5)


def test_a_previous_period_before_the_data_starts_is_said_so_not_shown_as_zeros(sample_con):
    # The sample's first session is of 2024-01-01: the 18 months before 2024-01 to 2025-06 hold no data at all; the
    # 2 months before 2024-02 to 2024-03 start a month before it; 2024-Q1, before 2024-Q2, starts with it: no note.
    meeting_pack = pack.build(sample_con, period=pack.parse_period(None, date(2024, 1, 1), date(2025, 6, 30)))
    before = meeting_pack["headline"]["rows"][1]
    assert before["started"] == "before the data starts" and before["response"] == before["evaluable"] == ""
    assert meeting_pack["headline"]["previous_note"] == (
        "The previous period (2022-07-01 to 2023-12-31) ends before the data starts (the first session stored is of "
        "2024-01-01): there is nothing to compare this period with.")
    html = pack.render(meeting_pack)
    assert "before the data starts" in html and "no evaluable series" not in html
    partly = pack.build(sample_con, period=pack.parse_period(None, date(2024, 2, 1), date(2024, 3, 31)))
    assert partly["headline"]["previous_note"].startswith("The previous period (2023-12-01 to 2024-01-31) starts "
                                                          "before the data does")
    assert partly["headline"]["rows"][1]["started"] != "before the data starts"
    assert pack.build(sample_con, period=pack.parse_period("2024-Q2"))["headline"]["previous_note"] is None


def test_the_quality_review_page_and_the_pack_open_with_the_same_two_counts_under_the_same_labels(clinic_db,
                                                                                                   monkeypatch):
    from conftest import open_app

    app = open_app(clinic_db, monkeypatch, "quality_review")
    assert not app.exception
    heading = next(h.value for h in app.subheader if h.value.startswith("Series started in "))
    latest = heading.removeprefix("Series started in ").split(" ")[0]
    tiles = {m.label: m.value for m in app.metric}
    con = duckdb.connect(str(clinic_db), read_only=True)
    try:
        meeting_pack = pack.build(con, period=pack.parse_period(latest), min_cell=11)
    finally:
        con.close()
    now = meeting_pack["headline"]["rows"][0]
    # Every series started, then those the rates count (cases at baseline): the walk's page said "Series counted
    # 95" where the pack said "series started 110".
    assert tiles["Series started"] == now["started"] and tiles["Series counted in the rates"] == now["counted"]
    assert int(now["started"].replace(",", "")) > int(now["counted"].replace(",", ""))
    html = pack.render(meeting_pack)
    assert "<th>series started</th>" in html and "<th>series counted in the rates</th>" in html
