"""Who may see what: the access file (`--access ACCESS.toml`), the role of each signed-in address, and
what each role may open and do.

The file has two tables. `[auth]` holds Streamlit's OpenID Connect keys (Streamlit reads them itself:
the dashboard command hands it the file as its secrets file). `[roles]` maps each role to e-mail
addresses and `@domain` entries; an address is more specific than a domain and wins over it.

    [roles]
    analyst  = ["ana@clinic.example"]
    director = ["@clinic.example"]
    viewer   = ["board@partner.example"]

Roles, each including everything of the one before:
- viewer: the chart pages, with meeting mode forced on (small cells suppressed, no patient-level rows);
- director: also patient-level rows on the chart pages (the item 9 list) and the Data page's coverage
  and batch history;
- analyst: also uploads, row downloads, settings changes and the audit trail.
"""

import re
import tomllib
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
    pages: frozenset[str]  # groups of pages: "charts", "definitions", "data"
    may: frozenset[str]  # "patient_rows", "upload", "download_rows", "change_settings", "audit_log"
    meeting_mode: bool  # forced on

    def allows(self, action: str) -> bool:
        return action in self.may


ACTIONS = frozenset({"patient_rows", "upload", "download_rows", "change_settings", "audit_log"})
ROLES = {
    "viewer": Role("viewer", frozenset({"charts", "definitions"}), frozenset(), meeting_mode=True),
    "director": Role("director", frozenset({"charts", "definitions", "data"}), frozenset({"patient_rows"}),
                     meeting_mode=False),
    "analyst": Role("analyst", frozenset({"charts", "definitions", "data"}), ACTIONS, meeting_mode=False),
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
        A provider that says the address is not verified gets no role (some send the claim as text)."""
        if not email or str(verified).lower() == "false":
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
    secret = auth["cookie_secret"]
    # Anyone who knows the secret can forge a sign-in: refuse the documentation's placeholder (it has
    # spaces) and anything short.
    if len(secret) < MIN_COOKIE_SECRET or any(c.isspace() for c in secret):
        raise AccessFileError(f"{path}: [auth] cookie_secret must be at least {MIN_COOKIE_SECRET} characters "
                              "without spaces; make your own with: "
                              "python3 -c 'import secrets; print(secrets.token_hex(32))'")


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
