"""The frame's side of access control: who is signed in and with which role (decided once per run by
ketamine_outcomes/access/roles.py), the sign-in and no-access screens, and the audit calls pages make.

Without `--access` (the command sets KETAMINE_OUTCOMES_ACCESS) there is no sign-in: the dashboard serves
this machine only and whoever sits at it may do everything, recorded as the operating-system user."""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ketamine_outcomes.dashboard import data
from ketamine_outcomes.access import roles
from ketamine_outcomes.access import audit
from ketamine_outcomes.store import database

ACCESS_ENV = "KETAMINE_OUTCOMES_ACCESS"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class User:
    email: str
    role: roles.Role

    @property
    def audit_role(self) -> str:
        return audit.LOCAL if self.role is roles.LOCAL else self.role.name


@st.cache_resource(show_spinner=False, max_entries=4)
def _access_file(path: str, modified: int) -> roles.Access:
    """Read once per version of the file: an edited [roles] applies from the next page view on."""
    return roles.read(path)


def _configured() -> roles.Access | None:
    path = os.environ.get(ACCESS_ENV)
    if not path:
        return None
    try:
        return _access_file(path, Path(path).stat().st_mtime_ns)
    except (OSError, roles.AccessFileError) as error:
        # Fail closed: a broken access file shows no data to anyone. The reason (with server paths) goes
        # to the server's log, not to the browser.
        log.error("access file unusable: %s", error)
        st.error("Sign-in is not available: the dashboard's access file cannot be used. The person who runs "
                 "the dashboard finds the reason in its log.")
        st.stop()


def current_user() -> User:
    """The signed-in user and role for this run. Shows the sign-in page, or the no-access page, and stops
    the run when there is no one with a role: nothing after this call runs for them."""
    configured = _configured()
    if configured is None:
        return _remember(User(audit.os_user(), roles.LOCAL))
    if not st.user.get("is_logged_in", False):
        st.navigation([st.Page(_sign_in_page, title="Sign in", icon=":material/login:")]).run()
        st.stop()
    email = str(st.user.get("email") or "")
    role = configured.role_of(email, st.user.get("email_verified"))
    if role is None:
        _record_once(User(email or f"(no e-mail: {st.user.get('sub', '?')})", roles.Role("none", frozenset(),
                     frozenset(), True)), "denied", "no role for this address")
        st.navigation([st.Page(_no_access_page, title="No access", icon=":material/block:")]).run()
        st.stop()
    user = _remember(User(email, role))
    # One row per sign-in (one identity token), not per page view, reload or browser tab.
    token = f"identity token issued {st.user.get('iat', '?')}"
    if st.session_state.get("signin_token") != token:
        record_audit(email, role.name, "sign-in", token, once=True)
        st.session_state["signin_token"] = token
    return user


def _remember(user: User) -> User:
    # Set by the frame on every run before any page runs; pages read it through user()/may().
    st.session_state["signin_user"] = user
    return user


def user() -> User:
    return st.session_state["signin_user"]


def may(action: str) -> bool:
    """Whether the signed-in role may do this ("upload", "download_rows", "patient_rows", ...)."""
    return user().role.allows(action)


def record(action: str, detail: str = "") -> None:
    """Add a row to the audit trail for the signed-in user (usable as a widget's on_click callback)."""
    current = user()
    record_audit(current.email, current.audit_role, action, detail)


def record_audit(email: str, role: str, action: str, detail: str, once: bool = False) -> None:
    """Write one audit row (`once`: unless the same sign-in is already recorded). A database this user may
    only read keeps no trail, and one held by a long ingest elsewhere may miss a row: viewing goes on, and
    the server's log says what was not recorded."""
    try:
        with data.writing(wait_seconds=data.WAIT_SECONDS) as con:
            if not (once and audit.has_signed_in(con, email, detail)):
                audit.record(con, email, role, action, detail)
    except database.DatabaseReadOnly:
        log.warning("not recorded in the audit trail (the database is read-only here): %s %s %s",
                    email, action, detail)
    except database.DatabaseBusy:
        log.error("not recorded in the audit trail (the database was held by another process for over "
                  "%s s): %s %s %s", data.WAIT_SECONDS, email, action, detail)
    except database.DatabaseFault:
        if not data.offering_new():
            raise
        log.warning("not recorded in the audit trail (there is no database yet; the pages offer to create "
                    "it): %s %s %s", email, action, detail)


def recorded_download(label: str, make, action: str, detail: str, where=None, **options) -> None:
    """A download button whose file is made when it is clicked (`make`, a callable: most visits take no file, and
    none waits at a live /media/ URL) and recorded in the audit trail as it is made, for the user who was shown
    the button. The click reruns nothing: a rerun fired by the click replaced the button's file before the
    browser had fetched it, and a busy server answered "Failed to generate file" (the user had to click
    again). `where`: a column to draw it in; `options`: the rest of st.download_button's."""
    current = user()
    email, role = current.email, current.audit_role

    def made():
        # On Streamlit's own thread beside the page, not in a script run: nothing here may call st.
        record_audit(email, role, action, detail)
        return make()

    (where or st).download_button(label, made, on_click="ignore", **options)


def trail(latest: int):
    """The newest rows of the audit trail, newest first (read each time: the trail is not cached)."""
    with data.connection() as con:
        return audit.entries(con).iloc[::-1].head(latest)


def _sign_out() -> None:
    record("sign-out")
    st.logout()


def _record_once(who: User, action: str, detail: str) -> None:
    key = ("signin_recorded", action, detail)
    if not st.session_state.get(key):
        record_audit(who.email, who.role.name, action, detail)
        st.session_state[key] = True


def refuse_other_pages(allowed: list, every: list) -> None:
    """A URL to a page this role may not open runs nothing of it (the frame lists it hidden, as refused_page):
    say so, in one sentence, and record the attempt."""
    requested = _requested_path()
    if not requested or requested in {p.url_path for p in allowed}:
        return
    if requested in {p.url_path for p in every}:
        record("denied", f"page /{requested}")
        st.warning("Your role does not include that page.")


def refused_page() -> None:
    """What a page the role lacks runs in its place: nothing more than refuse_other_pages has said."""


def _requested_path() -> str:
    url = st.context.url or ""
    path = url.split("://", 1)[-1].partition("/")[2].partition("?")[0]  # /series?series=ID is the page series
    return path.strip("/").split("/")[-1] if path else ""


def sidebar(current: User) -> None:
    """Who is signed in, with which role, and the way out."""
    if current.role is roles.LOCAL:
        return
    with st.sidebar:
        st.divider()
        st.caption(f"Signed in as {_escaped(current.email)} ({current.role.name})",
                   help=f"A {current.role.name} sees {roles.DESCRIPTIONS[current.role.name]}.")
        if st.button("Sign out", key="signin_sign_out", icon=":material/logout:"):
            _sign_out()


def _sign_in_page() -> None:
    st.title("Ketamine outcomes")
    st.write("Sign in with your clinic account to see the dashboard.")
    if st.button("Sign in", key="signin_sign_in", type="primary", icon=":material/login:"):
        st.login()


def _no_access_page() -> None:
    st.title("No access")
    st.write(f"You are signed in as **{_escaped(st.user.get('email') or st.user.get('sub') or 'unknown')}**. "
             "This address has no role on this dashboard. Ask the clinic's analyst to add it to the access file.")
    if st.button("Sign out", key="signin_sign_out", icon=":material/logout:"):
        st.logout()


def _escaped(text: str) -> str:
    # An address comes from the identity provider: shown as text, never as markdown.
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|$:~" else c for c in str(text))
