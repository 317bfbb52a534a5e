"""Guards sign-in and roles end to end: a real OpenID Connect provider (oidc-provider-mock), the dashboard
started by `ketamine-outcomes dashboard --access`, and chromium signing in as each role. Checks what each
role sees, what it cannot reach by navigation or by URL, the visitor who is not signed in, the address
without a role, sign-out, and the audit rows each produced."""

import secrets
import shutil
import time

import pytest

from conftest import PortTaken, choose, free_port, start_command, start_provider, stop_group, stop_server, wait_for_app
from ketamine_outcomes.care import follow_up
from ketamine_outcomes.store import database

pytestmark = [pytest.mark.browser, pytest.mark.server]

EVERY_PAGE = ["", "trajectories", "response", "compare", "durability", "quality_review", "safety", "series",
              "not_on_track", "follow_up", "data", "definitions"]
PATIENT_PAGES = ("series", "not_on_track", "follow_up")
USERS = [
    {"sub": "ana", "email": "ana@clinic.example", "email_verified": True},
    {"sub": "dan", "email": "Dan@Clinic.Example", "email_verified": True},  # a director by the @domain entry
    {"sub": "board", "email": "board@partner.example", "email_verified": True},
    {"sub": "eve", "email": "eve@elsewhere.example", "email_verified": True},
    {"sub": "dora", "email": "dora@clinic.example", "email_verified": True},
    {"sub": "vic", "email": "vic@partner.example", "email_verified": True},
    {"sub": "mallory", "email": "ana@clinic.example", "email_verified": False},  # not the provider's word
    {"sub": "trudy", "email": "ana@clinic.example"},  # no email_verified claim: not the provider's word either
    {"sub": "victor", "email": "ana@clinic.example", "email_verified": "true"},  # text, not the boolean
]
CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg'


@pytest.fixture(scope="module")
def provider():
    """A real OpenID Connect provider on this machine with the test's users: its base URL."""
    process, url = start_provider(USERS)
    yield url
    stop_server(process)


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_db, provider):
    """The sample clinic served with sign-in, as a clinic would start it: (URL, database file). The tests share it
    (one sign-in provider and server per xdist worker) and each reads back only the audit rows it made."""
    folder = tmp_path_factory.mktemp("signin")
    db = folder / "clinic.duckdb"
    shutil.copy(sample_db, db)
    access = folder / "access.toml"
    for _ in range(5):  # the port is named in the access file before the server starts: taken, choose again
        port = free_port()
        access.write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "ketamine-outcomes"
client_secret = "test-client-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[roles]
analyst = ["ana@clinic.example"]
director = ["@clinic.example"]
viewer = ["board@partner.example", "vic@partner.example"]
""")
        try:
            process, url = start_command("--db", db, "--access", access, cwd=folder, port=port)
            break
        except PortTaken:
            continue
    else:
        raise RuntimeError("five ports in a row were taken")
    yield url, db
    stop_group(process)


@pytest.fixture
def page(page):
    """Chromium that reaches this machine only (the provider's pages name a stylesheet on a CDN)."""
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
               else route.abort())
    return page


def sign_in(page, url: str, sub: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/", timeout=60_000)
    wait_for_app(page)


def navigation(page) -> list[str]:
    """The pages the sidebar offers, by their URL path ("" is the Overview)."""
    page.get_by_test_id("stSidebarNavLink").first.wait_for(timeout=60_000)
    hrefs = page.get_by_test_id("stSidebarNavLink").evaluate_all("links => links.map(a => a.href)")
    return [h.split("/", 3)[3] if h.count("/") > 2 else "" for h in hrefs]


def open_page(page, url: str, path: str, refused: bool = False, one_page: bool = False) -> None:
    """Go to a page by its URL. `refused`: the role lacks it, and gets the one sentence and nothing else (the page
    keeps its address, unlisted, and runs nothing of itself). `one_page`: a visitor or an address without a role
    has a single page, so Streamlit says "Page not found" and shows that page: close the notice."""
    page.goto(f"{url}/{path}")
    wait_for_app(page)
    if one_page:
        page.get_by_role("dialog").filter(has_text="Page not found").wait_for(timeout=60_000)
        page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="hidden")
    elif refused:
        page.get_by_text("Your role does not include that page.").wait_for(timeout=60_000)


def audit_rows(db, email: str, until=lambda rows: True, after: int = 0) -> list[tuple]:
    """(role, action, detail) of every audit row for an address, read as `ketamine-outcomes audit` would;
    `until`: read again (up to 60 s) until the rows satisfy it, since a click's rerun writes them a moment
    after the browser shows the click. `after`: leave out that many first rows (those written before the test
    began: tests share the server and may sign in as the same address, in any order)."""
    deadline = time.monotonic() + 60
    while True:
        con = database.open_file(db, read_only=True, wait_seconds=30)
        try:
            rows = con.execute("select role, action, detail from audit_log where email = $email "
                               "order by logged_at, rowid", {"email": email}).fetchall()[after:]
        finally:
            con.close()
        if until(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def rows_so_far(db, email: str) -> int:
    """How many audit rows an address has before the test acts (audit_rows(..., after=that) reads only its own)."""
    return len(audit_rows(db, email))


def test_a_visitor_not_signed_in_sees_a_sign_in_button_and_nothing_of_the_data(page, served):
    url, _db = served
    for path in ("", "safety", "data"):
        open_page(page, url, path, one_page=bool(path))
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.get_by_test_id("stSidebarNavLink").count() == 0
        assert page.get_by_test_id("stMetricValue").count() == 0 and page.locator(CHART).count() == 0
        assert page.get_by_test_id("stDataFrame").count() == 0 and page.get_by_test_id("stFileUploader").count() == 0


def test_a_viewer_sees_the_chart_pages_in_meeting_mode_and_cannot_reach_data(page, served):
    url, db = served
    before = rows_so_far(db, "board@partner.example")
    sign_in(page, url, "board")
    assert navigation(page) == [p for p in EVERY_PAGE if p != "data" and p not in PATIENT_PAGES]
    page.get_by_text("Signed in as board@partner.example (viewer)").wait_for()
    toggle = page.get_by_test_id("stCheckbox").filter(has_text="Meeting mode").locator("input")
    assert toggle.is_checked() and toggle.is_disabled()
    # Meeting mode from the start: the sidebar starts folded away, as the toggle leaves it.
    page.wait_for_function("document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().right <= 0",
                           timeout=60_000)
    open_page(page, url, "safety")
    page.get_by_text("Hidden in meeting mode: this list is patient-level").wait_for()
    open_page(page, url, "data", refused=True)
    assert page.get_by_role("dialog").count() == 0  # no "Page not found" notice: the one sentence
    assert page.get_by_text("Batch history").count() == 0 and page.get_by_test_id("stFileUploader").count() == 0
    # The suppressed meeting pack is the one thing a viewer may take away; taking it is recorded.
    open_page(page, url, "quality_review")
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Meeting pack (HTML)").click()
    assert download.value.suggested_filename.startswith("meeting-pack_PHQ-9_")
    rows = audit_rows(db, "board@partner.example", lambda rows: len(rows) >= 3, after=before)
    assert [row[:2] for row in rows] == [("viewer", "sign-in"), ("viewer", "denied"), ("viewer", "export")]
    assert rows[1][2] == "page /data" and rows[2][2].startswith("meeting pack PHQ-9 ")


def test_a_director_sees_every_page_and_the_item9_list_but_cannot_upload_or_download(page, served):
    url, db = served
    before = rows_so_far(db, "Dan@Clinic.Example")
    sign_in(page, url, "dan")
    assert navigation(page) == EVERY_PAGE
    page.get_by_text("Signed in as Dan@Clinic.Example (director)").wait_for()
    open_page(page, url, "safety")
    page.get_by_text("PHQ-9 answers with item 9 (thoughts of self-harm)").wait_for()  # the list's caption
    # The item 9 list is shown but cannot be taken away; an aggregate table can, and that is recorded.
    wait_for_app(page)
    assert page.locator(".st-key-safety_item9_download").count() == 0
    with page.expect_download() as download:
        page.locator(".st-key-safety_bp_table_download").get_by_role("button").click()
    assert download.value.suggested_filename.startswith("blood-pressure_")
    # The file's making records the download, on the server a moment after the browser has the file: wait for
    # the row before leaving the page.
    rows = audit_rows(db, "Dan@Clinic.Example", lambda rows: len(rows) >= 2, after=before)
    assert [row[:2] for row in rows] == [("director", "sign-in"), ("director", "download")]
    assert rows[1][2] == download.value.suggested_filename
    open_page(page, url, "data")
    page.get_by_role("heading", name="Coverage").wait_for()
    assert page.get_by_role("heading", name="Batch history").count() == 1
    assert page.get_by_test_id("stFileUploader").count() == 0
    assert page.get_by_test_id("stDownloadButton").count() == 0
    assert page.get_by_role("heading", name="Audit trail").count() == 0
    # Opening the data page records nothing more: a director may open it.
    assert len(audit_rows(db, "Dan@Clinic.Example", after=before)) == 2


def test_a_director_marks_an_item9_flag_recorded_with_who_and_when_in_the_audit_trail(page, served):
    url, db = served
    con = database.open_file(db, read_only=True, wait_seconds=30)
    try:
        first = follow_up.flags(con).iloc[0]  # open flags first, newest first
    finally:
        con.close()
    sign_in(page, url, "dora")
    open_page(page, url, "follow_up")
    page.get_by_role("heading", name="Item 9 follow-up").wait_for()
    # The flag is chosen by who it is (nothing is preselected: a list that moved must not mark another patient).
    label = f"{first.patient_id} · {first.assessment_date.date()} · item 9"
    assert choose(page, "Flag", first.patient_id, label).startswith(label)  # typed, as a user would
    page.get_by_test_id("stRadio").get_by_text("safety plan reviewed", exact=True).click()
    page.get_by_role("button", name="Record the follow-up").click()
    page.get_by_text(f"Recorded for {first.patient_id}: safety plan reviewed").wait_for(timeout=60_000)
    rows = audit_rows(db, "dora@clinic.example", lambda rows: any(row[1] == "follow-up" for row in rows))
    (marked,) = [row for row in rows if row[1] == "follow-up"]
    assert marked[0] == "director"
    assert marked[2] == (f"item 9 flag of patient {first.patient_id} on {first.assessment_date.date()}: "
                         "safety plan reviewed")
    con = database.open_file(db, read_only=True, wait_seconds=30)
    try:
        stored = con.execute("select patient_id, assessment_day, outcome, recorded_by, role from item9_follow_ups "
                             "where recorded_by = 'dora@clinic.example'").fetchall()
        again = follow_up.flags(con)
    finally:
        con.close()
    assert stored == [(first.patient_id, first.assessment_day, "safety plan reviewed", "dora@clinic.example", "director")]
    # Open flags first: the marked one has left the top of the list.
    assert (again.iloc[0].patient_id, again.iloc[0].assessment_day) != (first.patient_id, first.assessment_day)


def test_a_viewer_reaches_neither_a_series_nor_the_follow_up_list(page, served):
    url, db = served
    before = rows_so_far(db, "vic@partner.example")
    sign_in(page, url, "vic")
    open_page(page, url, "follow_up", refused=True)
    page.get_by_text("Your role does not include that page.").wait_for()
    open_page(page, url, "series?series=KP000003%231", refused=True)
    assert page.get_by_role("dialog").count() == 0
    assert page.get_by_role("heading", name="One series").count() == 0
    assert page.get_by_role("heading", name="Item 9 follow-up").count() == 0
    # A link that asks for meeting mode off and another role, to a series that exists and to one that does not:
    # the same refusal, nothing of either series (not even whether it exists), no search box.
    for path in ("series?series=KP000003%231&meeting=false&role=analyst", "series?series=NOPE%239&meeting=0",
                 "not_on_track?meeting=false"):
        open_page(page, url, path, refused=True)
        page.get_by_text("Your role does not include that page.").wait_for()
        text = page.get_by_test_id("stMain").inner_text()
        assert "KP000003" not in text and "NOPE" not in text and "No series has the id" not in text
        assert page.get_by_placeholder("series id (KP000123#1) or patient id").count() == 0
        assert page.get_by_role("heading", name="Not on track").count() == 0
    rows = audit_rows(db, "vic@partner.example", lambda rows: len(rows) >= 6, after=before)
    assert [row[1:] for row in rows if row[1] == "denied"] == [
        ("denied", "page /follow_up"), ("denied", "page /series"), ("denied", "page /series"), ("denied", "page /series"),
        ("denied", "page /not_on_track")]


def test_an_analyst_uploads_downloads_and_sees_the_audit_trail(page, served, tmp_path):
    url, db = served
    before = rows_so_far(db, "ana@clinic.example")
    sign_in(page, url, "ana")
    assert navigation(page) == EVERY_PAGE
    open_page(page, url, "data")
    export = tmp_path / "late_outcomes.csv"
    export.write_text("patient_id,assessment_day,instrument,score\nLATE1,0,PHQ-9,20\n")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(export))
    page.get_by_text("late_outcomes.csv: outcomes, batch 4").first.wait_for(timeout=60_000)  # after the sample's 3
    with page.expect_download() as download:
        page.get_by_role("button", name="Weekly outcomes (CSV)", exact=True).click()
    assert download.value.suggested_filename == "weekly_outcomes_PHQ-9_INTERNAL-unsuppressed.csv"
    rows = [row for row in audit_rows(db, "ana@clinic.example", lambda rows: len(rows) >= 3, after=before)
            if row[0] == "analyst"]
    assert [row[:2] for row in rows] == [("analyst", "sign-in"), ("analyst", "upload"), ("analyst", "download")]
    assert rows[1][2] == "late_outcomes.csv: batch 4"
    assert rows[2][2].startswith("weekly_outcomes_PHQ-9_INTERNAL-unsuppressed.csv (INTERNAL, not for circulation · PHQ-9")
    # The trail on the Data page shows the analyst's own upload.
    page.reload()
    wait_for_app(page)
    page.get_by_role("heading", name="Audit trail").wait_for()
    open_page(page, url, "safety")
    page.locator(".st-key-safety_item9_download").wait_for()  # patient-level rows: the analyst's to take
    with page.expect_download() as download:
        page.locator(".st-key-safety_item9_download").get_by_role("button").click()
    # Patient rows are exact: the file says so in its name and first line, claiming no suppression; and the list is
    # every site's, whatever the filters, which the name and first line say instead of naming filters.
    assert download.value.suggested_filename == \
        "item-9-flags_PHQ-9_whole-clinic-not-filtered_patient-level-exact-counts.csv"
    first = open(download.value.path(), encoding="utf-8").readline()
    assert "patient-level; exact counts" in first and "counts under" not in first
    assert "whole clinic; not filtered" in first


def test_a_director_cannot_go_below_the_floor_and_an_analysts_internal_download_says_so(page, served):
    """Issue 25: a director's link with ?min-cell=0 saved unsuppressed rows, and neither the file name nor the
    audit row said so. Now the director's threshold is raised to the clinic's; an analyst below it gets an
    internal view whose download says INTERNAL in its name and its audit row."""
    url, db = served
    sign_in(page, url, "dan")
    page.goto(f"{url}/safety?min-cell=0")
    wait_for_app(page)
    page.get_by_text("raised to this clinic's 11").first.wait_for(timeout=90_000)
    assert page.get_by_text("Internal view, not for circulation").count() == 0
    with page.expect_download() as download:
        page.locator(".st-key-safety_bp_table_download").get_by_role("button").click()
    name = download.value.suggested_filename
    assert name.endswith("_suppressed-under-11-rounded-to-5.csv") and "INTERNAL" not in name
    text = open(download.value.path(), encoding="utf-8").read()
    assert "counts under 11 suppressed; others rounded to 5" in text.splitlines()[0]  # a plain "# ..." line
    rows = audit_rows(db, "Dan@Clinic.Example", lambda rows: any(r[1] == "download" and r[2] == name for r in rows))
    assert any(r[:3] == ("director", "download", name) for r in rows)

    page.context.clear_cookies()
    sign_in(page, url, "ana")
    page.goto(f"{url}/safety?min-cell=5")
    wait_for_app(page)
    page.get_by_text("Internal view, not for circulation").first.wait_for(timeout=90_000)
    with page.expect_download() as download:
        page.locator(".st-key-safety_bp_table_download").get_by_role("button").click()
    name = download.value.suggested_filename
    assert name.endswith("_INTERNAL-not-for-circulation-under-5.csv")
    rows = audit_rows(db, "ana@clinic.example", lambda rows: any(r[1] == "download" and name in r[2] for r in rows))
    detail = next(r[2] for r in rows if r[1] == "download" and name in r[2])
    assert detail.startswith("INTERNAL view")


def test_a_viewers_link_below_the_floor_is_raised_to_it(page, served):
    """Issue 25, "Done when": a viewer (meeting mode forced on) who opens a link with ?min-cell=0 sees the clinic's
    floor, counts rounded, and no internal view."""
    url, _ = served
    sign_in(page, url, "board")
    page.goto(f"{url}/compare?min-cell=0")
    wait_for_app(page)
    # Said in the sidebar, which meeting mode folds away: there, not visible.
    page.get_by_text("raised to this clinic's 11").first.wait_for(state="attached", timeout=90_000)
    page.get_by_text("counts under 11 suppressed, others rounded to 5").first.wait_for(timeout=60_000)
    assert page.get_by_text("Internal view, not for circulation").count() == 0
    assert page.get_by_text("no suppression").count() == 0


@pytest.mark.parametrize("sub, email", [("eve", "eve@elsewhere.example"), ("mallory", "ana@clinic.example"),
                                        ("trudy", "ana@clinic.example"), ("victor", "ana@clinic.example")])
def test_an_address_without_a_role_sees_one_page_and_can_sign_out(page, served, sub, email):
    url, db = served
    sign_in(page, url, sub)
    page.get_by_role("heading", name="No access").wait_for()
    page.get_by_text(f"You are signed in as {email}").wait_for()
    assert page.get_by_test_id("stSidebarNavLink").count() == 0
    open_page(page, url, "data", one_page=True)
    page.get_by_role("heading", name="No access").wait_for()
    assert page.get_by_test_id("stDataFrame").count() == 0 and page.get_by_test_id("stMetricValue").count() == 0
    assert ("none", "denied", "no role for this address") in audit_rows(
        db, email, lambda rows: ("none", "denied", "no role for this address") in rows)
    sign_out(page, url)


def sign_out(page, url: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider's own sign-out page
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    page.goto(url)  # the identity cookie is gone: a new visit is not signed in
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)


def test_sign_out_ends_the_session_and_is_recorded(page, served):
    url, db = served
    before = rows_so_far(db, "ana@clinic.example")
    sign_in(page, url, "ana")
    page.get_by_text("Signed in as ana@clinic.example (analyst)").wait_for()
    sign_out(page, url)
    assert page.get_by_test_id("stSidebarNavLink").count() == 0
    rows = audit_rows(db, "ana@clinic.example", lambda rows: rows and rows[-1][1] == "sign-out", after=before)
    assert [row[:2] for row in rows] == [("analyst", "sign-in"), ("analyst", "sign-out")]
