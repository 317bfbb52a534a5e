"""The dashboard's frame: page config, sign-in, the shared sidebar, and navigation. Pages live in app_pages/.

Access control is decided here, once per run: the navigation holds only the pages the signed-in role may
open (ketamine_outcomes/access/roles.py); another page is not listed, and its URL runs only the refusal."""

import streamlit as st

from ketamine_outcomes.dashboard import data, filters, signin

st.set_page_config(page_title="Ketamine outcomes", page_icon=":material/monitoring:", layout="wide")

# (the group access control knows a page by, the page)
PAGES = {
    "Directors": [
        ("charts", st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True)),
        ("charts", st.Page("app_pages/trajectories.py", title="Symptom trajectories", icon=":material/show_chart:")),
        ("charts", st.Page("app_pages/response.py", title="Response & remission", icon=":material/trending_down:")),
        ("charts", st.Page("app_pages/compare.py", title="Compare cohorts", icon=":material/compare_arrows:")),
        ("charts", st.Page("app_pages/durability.py", title="Durability", icon=":material/hourglass_bottom:")),
    ],
    "Quality review": [
        ("charts", st.Page("app_pages/quality_review.py", title="Quality review", icon=":material/fact_check:")),
        ("charts", st.Page("app_pages/safety.py", title="Safety", icon=":material/health_and_safety:")),
    ],
    # Patient-level: roles that may see patient rows (access.py), never in meeting mode (each page checks).
    "Patients": [
        ("patients", st.Page("app_pages/series.py", title="One series", icon=":material/person_search:")),
        ("patients", st.Page("app_pages/not_on_track.py", title="Not on track", icon=":material/trending_flat:")),
        ("patients", st.Page("app_pages/follow_up.py", title="Item 9 follow-up", icon=":material/assignment_turned_in:")),
    ],
    "Analysts": [
        ("data", st.Page("app_pages/data.py", title="Data", icon=":material/upload:")),
        ("definitions", st.Page("app_pages/definitions.py", title="Definitions", icon=":material/menu_book:")),
    ],
}
user = signin.current_user()  # stops here for a visitor not signed in, or an address without a role
allowed = {section: [page for group, page in entries if group in user.role.pages] for section, entries in PAGES.items()}
# A page the role lacks keeps its address, unlisted, and runs the refusal alone (one sentence, nothing of the page),
# rather than Streamlit's "Page not found" notice over the first page.
refused = [st.Page(signin.refused_page, title=page.title, url_path=page.url_path, visibility="hidden")
           for group, page in (entry for entries in PAGES.values() for entry in entries) if group not in user.role.pages]
shown = {section: pages for section, pages in allowed.items() if pages}
shown[next(iter(shown))] = shown[next(iter(shown))] + refused
navigation = st.navigation(shown)
signin.refuse_other_pages([p for pages in allowed.values() for p in pages],
                          [page for entries in PAGES.values() for _, page in entries])
with data.held_for_this_run(may_create=user.role.allows("upload"), on_created=lambda: signin.record("create")):
    filters.sidebar(navigation.url_path, meeting_forced=user.role.meeting_mode,
                    below_floor=user.role.allows("download_rows"))
    signin.sidebar(user)
    navigation.run()
