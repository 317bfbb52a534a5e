"""Definitions: what every number means, in plain words first (one card per idea, with its source and the
setting in force), then the full reference for analysts and the export contract."""

from importlib import resources

import streamlit as st

from ketamine_outcomes.dashboard import data, glossary, ui
from ketamine_outcomes.definitions import SETTINGS

# The docs are package data (the repository's docs/, mapped into the package by pyproject.toml).
DOCS = resources.files("ketamine_outcomes.docs")

st.title("Definitions")
st.caption("What every number on these pages means, in plain words, and where each definition comes from.")
if not data.is_empty():
    ui.data_as_of()  # the settings in force below apply to the data up to this day
in_force = data.settings()


def card(entry: glossary.Card, anchor: str | bool) -> None:
    with st.container(border=True):
        st.subheader(entry.title, anchor=anchor)
        st.write(entry.text)
        for name in entry.settings:
            value, default = in_force.get(name, SETTINGS[name].value), SETTINGS[name].value
            changed = "" if value == default else f" (changed from the default, {default:g})"
            st.markdown(f"Setting in force: `{name}` = **{value:g}**{changed}. {SETTINGS[name].description}")
        st.caption(f"Source: {entry.source}")


asked = glossary.card_for_anchor(st.query_params.get("card", ""))
if asked:
    st.markdown("**The definition you asked for**")
    card(asked, anchor=False)
    st.divider()

left, right = st.columns(2)
for i, entry in enumerate(glossary.CARDS):
    with (left if i % 2 == 0 else right):
        card(entry, anchor=entry.anchor)

st.header("Reference for analysts", anchor="reference")
st.caption("Every mart column, the cohort filters and the SQL files: docs/metrics.md.")
with st.expander("Settings in force, with defaults and sources"):
    st.dataframe(data.table('select name as "Setting", value as "In force", default_value as "Default", '
                            'description as "Meaning", source as "Source" from settings order by name'),
                 hide_index=True, key="definitions_settings")
with st.expander("Instruments: ranges, remission and reliable change"):
    st.dataframe(data.table('select instrument as "Instrument", min_score as "Lowest score", max_score as '
                            '"Highest score", remission_label as "Remission", reliable_change as '
                            '"Reliable change (points)", mcid as "Minimal clinically important difference (points)", '
                            'mcid_source as "MCID source", source as "Source" from instruments'),
                 hide_index=True, key="definitions_instruments")
with st.expander("Every metric, mart column and SQL file (docs/metrics.md)"):
    text = (DOCS / "metrics.md").read_text()
    st.markdown(text[text.index("## Definitions"):])

st.header("Data contract", anchor="data-contract")
st.caption("What an export must contain for the product to read it: docs/data-contract.md.")
with st.expander("The export contract: columns, spellings, dates and coded values"):
    st.markdown((DOCS / "data-contract.md").read_text())
