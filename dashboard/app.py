"""The dashboard's frame: page config, navigation, the database it reads. Pages live in pages/."""

import streamlit as st

st.set_page_config(page_title="Ketamine outcomes", page_icon=":material/monitoring:", layout="wide")

st.navigation([
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
]).run()
