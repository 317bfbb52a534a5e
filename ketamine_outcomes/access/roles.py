"""Who may see what: the access file (`--access ACCESS.toml`), the role of each signed-in address, and
what each role may open and do.

The file has two tables. `[auth]` holds Streamlit's OpenID Connect keys (Streamlit reads them itself:
the dashboard command hands it the file as its secrets file). `[roles]` maps each role to e-mail
addresses and `@domain` entries; an address is more specific than a domain and wins over it.

    [roles]
    analyst  = ["ana@clinic.example"]
    director = ["@clinic.example"]
    viewer   = ["board@partner.example"]

Roles, each including everything of the one before (DESCRIPTIONS: the words the README, docs/deploy.md
and the sidebar show):
- viewer: the chart pages, with meeting mode forced on (small cells suppressed, no patient-level rows; the
  suppressed meeting pack is its one download);
- director: also patient-level rows on the chart pages (the item 9 list), the patients' pages (one series,
  not on track, item 9 follow-up), the Data page's coverage and batch history, and every table's CSV as
  shown (suppressed: any role outside meeting mode may take those);
- analyst: also uploads, row downloads (patient-level rows, the marts' unsuppressed files), settings
  changes and the audit trail.
"""

import math
import re
import stat
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
CALLBACK = "/oauth2callback"
# Streamlit signs its identity cookie with cookie_secret; a short one can be guessed.
MIN_COOKIE_SECRET = 32
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Role:
    name: str
    pages: frozenset[str]  # groups of pages: "charts", "definitions", "data", "patients" (one series, follow-up)
    may: frozenset[str]  # "patient_rows", "upload", "download_rows", "change_settings", "audit_log"
    meeting_mode: bool  # forced on

    def allows(self, action: str) -> bool:
        return action in self.may


ACTIONS = frozenset({"patient_rows", "upload", "download_rows", "change_settings", "audit_log"})
ROLES = {
    "viewer": Role("viewer", frozenset({"charts", "definitions"}), frozenset(), meeting_mode=True),
    "director": Role("director", frozenset({"charts", "definitions", "data", "patients"}), frozenset({"patient_rows"}),
                     meeting_mode=False),
    "analyst": Role("analyst", frozenset({"charts", "definitions", "data", "patients"}), ACTIONS, meeting_mode=False),
}
# What each role may see and do, in the words the README's and docs/deploy.md's role tables and the dashboard's
# sidebar show (tests/test_docs.py holds the three to these): what ROLES and the pages allow, read from the code.
# A table's CSV is the view's own, suppressed at the clinic's threshold unless an analyst opened an internal view;
# "download_rows" is patient-level rows and the marts' unsuppressed files. No role changes settings from the
# dashboard: `ketamine-outcomes settings set` on the server does ("change_settings" guards any page that would).
DESCRIPTIONS = {
    "viewer": "the chart pages and Definitions, meeting mode forced on (small cells suppressed, other counts rounded "
              "to 5); no patient-level rows; one download: the suppressed meeting pack on Quality review",
    "director": "every page: also the patient-level rows (the item 9 list on Safety, one series, not on track, item 9 "
                "follow-up, where they record outcomes), notes of process changes on the charts, and the Data page's "
                "batch history and coverage; downloads every table's CSV as shown (suppressed, never below the "
                "clinic's threshold) and the meeting pack; no patient-level or mart downloads, no upload, no audit "
                "trail",
    "analyst": "everything: also uploads and undoing a batch, patient-level rows and every mart as CSV (exact "
               "counts), rejected lines and warnings, an internal view below the clinic's threshold, the audit trail",
}
# Without an access file the dashboard serves this machine only, to whoever sits at it: everything.
LOCAL = Role("local", ROLES["analyst"].pages, ACTIONS, meeting_mode=False)


class AccessFileError(ValueError):
    """The access file cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Access:
    path: Path
    entries: dict  # lowercased address or @domain -> role name

    def role_of(self, email: str | None, verified: bool | str | None = None) -> Role | None:
        """The role of a signed-in address (None: no access). An address entry wins over a domain entry.
        Only an address the provider says it verified (`email_verified` is the JSON boolean true) gets a
        role: a missing claim, "true" as text or 1 is not the provider's word (OpenID Connect Core 1.0,
        section 5.1: email_verified is a boolean), and an address anyone can claim would pass as staff."""
        if not email or verified is not True:
            return None
        email = email.strip().lower()
        if not ADDRESS.match(email):
            return None
        name = self.entries.get(email) or self.entries.get(email[email.rindex("@"):])
        return ROLES[name] if name else None


def read(path: str | Path) -> Access:
    """Read and check the access file; raises AccessFileError naming the problem."""
    path = Path(path)
    try:
        check_file_permissions(path)
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccessFileError(f"{path}: no such access file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AccessFileError(f"{path}: cannot be read ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise AccessFileError(f"{path}: not valid TOML: {error}") from None
    unknown = set(content) - {"auth", "roles"}
    if unknown:
        raise AccessFileError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; "
                              "an access file holds [auth] and [roles]")
    _check_auth(path, content.get("auth"))
    return Access(path, _role_entries(path, content.get("roles")))


def _check_auth(path: Path, auth) -> None:
    if not isinstance(auth, dict):
        raise AccessFileError(f"{path}: no [auth] table (your identity provider's keys: {', '.join(AUTH_KEYS)})")
    missing = [k for k in AUTH_KEYS if not (isinstance(auth.get(k), str) and auth[k].strip())]
    if missing:
        raise AccessFileError(f"{path}: [auth] needs {', '.join(missing)}")
    if not auth["redirect_uri"].endswith(CALLBACK):
        raise AccessFileError(f"{path}: [auth] redirect_uri must end with {CALLBACK} "
                              f"(e.g. https://outcomes.clinic.example{CALLBACK}), got {auth['redirect_uri']!r}")
    weak = weak_secret(auth["cookie_secret"])
    if weak:
        raise AccessFileError(f"{path}: [auth] cookie_secret {weak}: anyone who knows or guesses it can forge a "
                              f"sign-in. Make your own with: python3 -c 'import secrets; print(secrets.token_hex(32))'")


# Secrets that are public: the tests' and documentation's (a copied example is the commonest weak secret).
KNOWN_SECRETS = frozenset({
    "5f0c2b9e8a7d4c3b2a1908f7e6d5c4b3a2918f7e", "a-test-secret-that-is-long-enough-to-sign-cookies",
})
# Words of a placeholder or an example, with or without its spaces: "<output of: python3 -c 'import
# secrets; ...'>", "paste the output of ...", "changeme".
PLACEHOLDER_WORDS = ("output", "paste", "token_hex", "import", "print(", "changeme", "change-me", "change_me",
                     "replace", "example", "placeholder", "yoursecret", "your-secret", "your_secret",
                     "cookiesecret", "cookie-secret", "cookie_secret", "password", "<", ">")
# Bits per character of a secret's characters taken as drawn at random (Shannon): 32 hex digits from
# secrets.token_hex give 2.9 to 4 (64 digits: 3.6 to 4); "0000..." gives 0, "abababab..." 1.
MIN_BITS_PER_CHARACTER = 2.75
MIN_DISTINCT = 8
REPEAT = 8


def weak_secret(secret: str) -> str | None:
    """Why a cookie secret is unfit (short, with spaces, public, a placeholder, or of low entropy:
    repeated, a run, few different characters), or None."""
    if len(secret) < MIN_COOKIE_SECRET or any(c.isspace() for c in secret):
        return f"must be at least {MIN_COOKIE_SECRET} characters without spaces"
    lower = secret.lower()
    if secret in KNOWN_SECRETS:
        return "is the tests' or documentation's secret, which is public"
    if any(word in lower for word in PLACEHOLDER_WORDS):
        return "is the documentation's placeholder (or reads like one), not a secret"
    counts = Counter(secret)
    bits = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    # A part of 8 characters seen twice (a random 64-digit hex secret holds one about once in 10 million).
    repeated = any(secret[i:i + REPEAT] in secret[i + 1:] for i in range(len(secret) - REPEAT))
    steps = sum(abs(ord(b) - ord(a)) <= 1 for a, b in zip(secret, secret[1:]))
    if len(counts) < MIN_DISTINCT or bits < MIN_BITS_PER_CHARACTER or repeated or steps >= len(secret) // 2:
        return (f"has too little entropy ({len(counts)} different characters, {bits + 0.0:.1f} bits each"
                f"{', a part repeated' if repeated else ''}"
                f"{', runs such as abcd or 1234' if steps >= len(secret) // 2 else ''})")
    return None


def check_file_permissions(path: Path) -> None:
    """Refuse an access file that others may change: whoever can write it can give themselves a role (or
    read the client secret). Owner-only writing, as ssh asks of its keys."""
    mode = path.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = "anyone on this machine" if mode & stat.S_IWOTH else "its group"
        raise AccessFileError(f"{path}: {who} may write it (mode {stat.S_IMODE(mode):o}), and so give themselves "
                              f"a role: make it writable by its owner alone (chmod go-w {path.name}, or 600)")


def _role_entries(path: Path, roles) -> dict:
    if not isinstance(roles, dict) or not roles:
        raise AccessFileError(f"{path}: no [roles] table (e.g. analyst = [\"you@clinic.example\"])")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise AccessFileError(f"{path}: unknown role(s) {', '.join(sorted(unknown))}; roles: "
                              f"{', '.join(ROLES)}")
    entries = {}
    for name, listed in roles.items():
        if not isinstance(listed, list) or not all(isinstance(e, str) for e in listed):
            raise AccessFileError(f"{path}: [roles] {name} must be a list of addresses, e.g. "
                                  f"{name} = [\"someone@clinic.example\", \"@clinic.example\"]")
        for entry in listed:
            key = entry.strip().lower()
            if not (ADDRESS.match(key) or DOMAIN.match(key)):
                raise AccessFileError(f"{path}: [roles] {name}: {entry!r} is neither an e-mail address "
                                      "nor an @domain")
            if key in entries and entries[key] != name:
                raise AccessFileError(f"{path}: [roles] {entry!r} is listed as both {entries[key]} and {name}")
            entries[key] = name
    return entries
