"""Definitions: every metric and setting in force, with its source (docs/metrics.md and the settings table)."""

from pathlib import Path

import streamlit as st

from dashboard import data

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

st.title("Definitions")
st.caption("What every number on these pages means, and where the definition comes from.")

st.subheader("Settings in force")
st.dataframe(data.table("select name, value, default_value, description, source from settings order by name"),
             hide_index=True, key="definitions_settings")
st.subheader("Instruments")
st.dataframe(data.table("select instrument, min_score, max_score, remission_label as remission, reliable_change, "
                        "source from instruments"), hide_index=True, key="definitions_instruments")

text = DOC.read_text()
# The settings and instrument tables above come from the database; the rest of the page is the document.
st.markdown(text[text.index("## Definitions"):])
