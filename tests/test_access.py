"""Guards who may see what: the access file is read strictly (a mistake is refused with what to fix,
never half-applied), each address gets the most specific role, and the audit trail records the command
line's ingests and settings changes as the operating-system user."""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import duckdb
import pytest

from conftest import ROOT
from ketamine_outcomes.access import roles
from ketamine_outcomes.access import audit
from ketamine_outcomes.store import database

# Made for each run: a secret written in a test is public, and refused (access.KNOWN_SECRETS).
SECRET = secrets.token_hex(32)
AUTH = f"""[auth]
redirect_uri = "https://outcomes.clinic.example/oauth2callback"
cookie_secret = "{SECRET}"
client_id = "ketamine-outcomes"
client_secret = "s3cret"
server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"
"""
ROLES = """[roles]
analyst  = ["ana@clinic.example"]
director = ["@clinic.example"]
viewer   = ["board@partner.example", "Intern@Clinic.example"]
"""


@pytest.fixture
def access_file(tmp_path):
    """Write an access file from text and return its path."""

    def write(text: str):
        path = tmp_path / "access.toml"
        path.write_text(text)
        return path

    return write


@pytest.mark.parametrize("email, role", [
    ("ana@clinic.example", "analyst"),
    ("ANA@Clinic.Example", "analyst"),  # addresses compare case-insensitively
    ("dan@clinic.example", "director"),  # by the @domain entry
    ("intern@clinic.example", "viewer"),  # an address wins over its domain, even a lower role
    ("board@partner.example", "viewer"),
    ("other@partner.example", None),  # only that address of the partner's domain
    ("dan@sub.clinic.example", None),  # a domain entry is that domain, not its subdomains
    ("eve@clinic.example.evil.org", None),
    ("", None),
    ("not-an-address", None),
])
def test_each_address_gets_the_most_specific_role(access_file, email, role):
    rules = roles.read(access_file(AUTH + ROLES))
    found = rules.role_of(email, verified=True)
    assert (found.name if found else None) == role


def test_an_address_the_provider_has_not_verified_gets_no_role(access_file):
    rules = roles.read(access_file(AUTH + ROLES))
    assert rules.role_of("ana@clinic.example", verified=False) is None
    assert rules.role_of("ana@clinic.example", verified="false") is None
    # Only the JSON boolean true is the provider's word (issue 23): a missing claim, text or 1 is not.
    for not_true in (None, "true", "True", 1, "1", "yes", [True]):
        assert rules.role_of("ana@clinic.example", verified=not_true) is None, not_true
    assert rules.role_of("ana@clinic.example", verified=True).name == "analyst"


def test_each_role_includes_the_one_below():
    viewer, director, analyst = (roles.ROLES[n] for n in ("viewer", "director", "analyst"))
    assert viewer.pages <= director.pages <= analyst.pages and viewer.may <= director.may <= analyst.may
    assert viewer.meeting_mode and not director.meeting_mode
    assert "data" not in viewer.pages and not viewer.allows("patient_rows")
    assert director.allows("patient_rows") and not director.allows("upload") and not director.allows("download_rows")
    assert not director.allows("change_settings") and not director.allows("audit_log")
    assert all(analyst.allows(a) for a in ("upload", "download_rows", "change_settings", "audit_log"))


@pytest.mark.parametrize("text, problem", [
    (ROLES, "no [auth] table"),
    (AUTH.replace('client_secret = "s3cret"\n', ""), "[auth] needs client_secret"),
    (AUTH.replace("/oauth2callback", "/callback"), "redirect_uri must end with /oauth2callback"),
    (AUTH.replace(SECRET, "short"), "cookie_secret must be at least 32"),
    (AUTH.replace(SECRET, "<output of: python3 -c 'import secrets; print(secrets.token_hex(32))'>"),
     "cookie_secret must be at least 32 characters without spaces"),
    (AUTH, "no [roles] table"),
    (AUTH + ROLES.replace("director", "directors"), "unknown role(s) directors"),
    (AUTH + '[roles]\nanalyst = "ana@clinic.example"\n', "analyst must be a list of addresses"),
    (AUTH + '[roles]\nanalyst = ["ana at clinic"]\n', "'ana at clinic' is neither an e-mail address nor an @domain"),
    (AUTH + '[roles]\nanalyst = ["ana@clinic.example"]\nviewer = ["ANA@clinic.example"]\n',
     "'ANA@clinic.example' is listed as both analyst and viewer"),
    (AUTH + ROLES + "[role]\n", "unknown table(s) role"),
    (AUTH + "[roles\n", "not valid TOML"),
])
def test_a_mistaken_access_file_is_refused_with_what_to_fix(access_file, text, problem):
    with pytest.raises(roles.AccessFileError) as refused:
        roles.read(access_file(text))
    assert problem in str(refused.value)


def test_command_line_ingests_and_settings_are_recorded_as_the_os_user(tmp_path, export, cli):
    db = tmp_path / "c.duckdb"
    good = export("sessions.csv", "patient_id,session_day,route\nP1,0,IV\n")
    refused = export("people.csv", "patient_id,email,session_day,route\nP1,a@b.org,0,IV\n")
    cli("ingest", good, refused, "--db", db, "--init")
    cli("settings", "set", "series_gap_days", "90", "--db", db)
    cli("settings", "reset", "series_gap_days", "--db", db)
    run = cli("audit", "--db", db, "--json")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["email"], r["role"], r["action"], r["detail"]) for r in rows] == [
        (audit.os_user(), "command line", "upload", "sessions.csv: batch 1"),
        (audit.os_user(), "command line", "upload", "people.csv: refused"),
        (audit.os_user(), "command line", "settings", "series_gap_days = 90"),
        (audit.os_user(), "command line", "settings", "series_gap_days reset"),
    ]


def test_audit_since_leaves_out_earlier_rows(db_path, cli):
    con = database.connect(db_path)
    con.execute("insert into audit_log values ('2026-01-31 23:59:59', 'a@x.org', 'viewer', 'sign-in', ''), "
                "('2026-02-01 00:00:00', 'b@x.org', 'analyst', 'download', 'weekly_outcomes.csv')")
    con.close()
    run = cli("audit", "--db", db_path, "--since", "2026-02-01", "--json")
    assert [(r["email"], r["action"]) for r in json.loads(run.stdout)] == [("b@x.org", "download")]
    assert cli("audit", "--db", db_path.parent / "nowhere.duckdb").stderr.strip().endswith("no such database")


def test_an_unknown_audit_action_is_refused(con):
    with pytest.raises(ValueError, match="unknown audit action 'upload!'"):
        audit.record(con, "a@x.org", "analyst", "upload!")


def test_the_readme_access_file_works_once_its_secret_is_made(access_file):
    readme = (ROOT / "README.md").read_text()
    example = readme.split("# access.toml", 1)[1].split("\n", 1)[1].split("```", 1)[0]
    with pytest.raises(roles.AccessFileError, match="cookie_secret must be at least 32 characters"):
        roles.read(access_file(example))  # the placeholder is refused: a shared secret forges sign-ins
    made = "\n".join(f'cookie_secret = "{SECRET}"' if line.startswith("cookie_secret") else line
                     for line in example.splitlines())
    rules = roles.read(access_file(made))
    assert [rules.role_of(a, True).name for a in ("ana@clinic.example", "dan@clinic.example", "board@partner.example")] == [
        "analyst", "director", "viewer"]


def test_a_meeting_pack_written_from_the_command_line_is_recorded(tmp_path, sample_db, cli):
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    run = cli("report", "--db", db, "--out", tmp_path / "pack.html", "--period", "2024-Q2")
    assert run.returncode == 0, run.stderr
    rows = json.loads(cli("audit", "--db", db, "--json").stdout)
    assert [(r["email"], r["role"], r["action"], r["detail"]) for r in rows] == [
        (audit.os_user(), "command line", "export", "meeting pack pack.html (PHQ-9, 2024-Q2): started"),
        (audit.os_user(), "command line", "export", "meeting pack pack.html (PHQ-9, 2024-Q2): written")]


@pytest.mark.subprocess
def test_a_meeting_pack_killed_while_written_is_in_the_trail_as_started(tmp_path, sample_db):
    # Issue 23: a report killed after writing its pack left no row; the row now comes first.
    db = tmp_path / "clinic.duckdb"
    shutil.copy(sample_db, db)
    pack = tmp_path / "pack.html"
    process = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "report", "--db", str(db),
                                "--out", str(pack), "--period", "2024-Q2"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        # Bounded, and generous: on a loaded machine the command's start (imports, opening the file) alone can take
        # tens of seconds, and a kill before its first row would leave nothing to check.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with duckdb.connect(str(db), read_only=True) as con:
                    if con.execute("select count(*) from audit_log").fetchall()[0][0]:
                        break
            except duckdb.Error:
                pass  # the report holds the file for its row
            time.sleep(0.02)
        process.kill()
    finally:
        process.wait(timeout=30)
    with duckdb.connect(str(db), read_only=True) as con:
        details = [d for (d,) in con.execute("select detail from audit_log where action = 'export'").fetchall()]
    assert details == ["meeting pack pack.html (PHQ-9, 2024-Q2): started"]  # and whatever was written is covered


# Cookie secrets (issue 23): refused, with why; then what a clinic makes and is accepted.
WEAK_SECRETS = [
    ("0" * 32, "too little entropy (1 different characters"),
    ("0" * 64, "too little entropy"),
    ("ab" * 32, "too little entropy (2 different characters"),
    ("0123456789abcdef" * 2, "a part repeated"),
    ("abcdefghijklmnopqrstuvwxyz012345", "runs such as abcd or 1234"),
    ("Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3x", "a part repeated"),
    ("5f0c2b9e8a7d4c3b2a1908f7e6d5c4b3a2918f7e", "the tests' or documentation's secret, which is public"),
    ("a-test-secret-that-is-long-enough-to-sign-cookies", "the tests' or documentation's secret"),
    ("<outputof:python3-c'importsecrets;print(secrets.token_hex(32))'>", "the documentation's placeholder"),
    ("paste_the_output_of:python3-c'import_secrets;print(secrets.token_hex(32))'", "placeholder"),
    ("changeme-changeme-0a8f3c2e9b1d7f4a6c5e", "placeholder"),
]


@pytest.mark.parametrize("secret, why", WEAK_SECRETS, ids=[w for _, w in WEAK_SECRETS])
def test_a_weak_or_public_cookie_secret_is_refused_saying_why(access_file, secret, why):
    with pytest.raises(roles.AccessFileError) as refused:
        roles.read(access_file(AUTH.replace(SECRET, secret) + ROLES))
    assert why in str(refused.value) and "forge a sign-in" in str(refused.value)


@pytest.mark.parametrize("make", [lambda: secrets.token_hex(32), lambda: secrets.token_urlsafe(32),
                                  lambda: secrets.token_hex(24)], ids=["token_hex(32)", "token_urlsafe(32)",
                                                                       "token_hex(24)"])
def test_a_made_secret_is_accepted(access_file, make):
    made = [make() for _ in range(200)]  # never refused: the rules' false alarms are about 1 in 50,000
    assert [secret for secret in made if roles.weak_secret(secret)] == []
    read = roles.read(access_file(AUTH.replace(SECRET, made[0]) + ROLES))
    assert read.entries["ana@clinic.example"] == "analyst"


@pytest.mark.parametrize("mode, who", [(0o664, "its group"), (0o646, "anyone on this machine"),
                                       (0o666, "anyone on this machine")])
def test_an_access_file_others_may_write_is_refused(access_file, mode, who):
    path = access_file(AUTH + ROLES)
    os.chmod(path, mode)
    with pytest.raises(roles.AccessFileError, match=f"{who} may write it"):
        roles.read(path)
    os.chmod(path, 0o600)
    assert roles.read(path).role_of("ana@clinic.example", True).name == "analyst"
    os.chmod(path, 0o644)  # others may read it (the client secret is then theirs, but not the roles)
    assert roles.read(path)


@pytest.mark.subprocess
def test_an_ingest_killed_after_storing_has_its_audit_row(tmp_path):
    # Issue 23: the row was written after the metric build, so an ingest killed during the build left a
    # stored batch without one. It is now written in the batch's transaction. The file is over 5 MB, so
    # the command says when it builds (after the batch is committed); it is killed then.
    db = tmp_path / "c.duckdb"
    path = tmp_path / "sessions.csv"
    with open(path, "w") as f:
        f.write("patient_id,session_day,route\n")
        for n in range(420_000):
            f.write(f"P{n // 6:06d},{n % 6 * 3},IV\n")
    assert path.stat().st_size > 5 * 1024 * 1024
    process = subprocess.Popen([sys.executable, "-m", "ketamine_outcomes.cli", "ingest", str(path), "--db", str(db),
                                "--init"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if "building treatment series" in line:
                process.kill()
                break
    finally:
        process.wait(timeout=120)
    assert process.returncode == -9, "the ingest ended before it could be killed while building"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select batch_id, rows_inserted from batches").fetchall() == [(1, 420_000)]
        assert con.execute("select role, action, detail from audit_log").fetchall() == [
            ("command line", "upload", "sessions.csv: batch 1")]
