"""The dashboard's frame: page config, the shared sidebar, and navigation. Pages live in pages/."""

import streamlit as st

from dashboard import data, filters

st.set_page_config(page_title="Ketamine outcomes", page_icon=":material/monitoring:", layout="wide")

pages = {
    "Directors": [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("app_pages/trajectories.py", title="Symptom trajectories", icon=":material/show_chart:"),
        st.Page("app_pages/response.py", title="Response & remission", icon=":material/trending_down:"),
        st.Page("app_pages/compare.py", title="Compare cohorts", icon=":material/compare_arrows:"),
    ],
    "Quality review": [
        st.Page("app_pages/quality_review.py", title="Quality review", icon=":material/fact_check:"),
        st.Page("app_pages/safety.py", title="Safety", icon=":material/health_and_safety:"),
    ],
    "Analysts": [
        st.Page("app_pages/data.py", title="Data", icon=":material/upload:"),
        st.Page("app_pages/definitions.py", title="Definitions", icon=":material/menu_book:"),
    ],
}
navigation = st.navigation(pages)
with data.held_for_this_run():
    filters.sidebar()
    navigation.run()
