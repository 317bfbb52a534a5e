"""Overview: what is in the clinic's database."""

import streamlit as st

from dashboard import data

st.title("Ketamine outcomes")
counts = data.counts().iloc[0]
left, middle, right = st.columns(3)
left.metric("Patients", f"{counts.patients:,}")
middle.metric("Completed sessions", f"{counts.completed_sessions:,}")
right.metric("Assessments", f"{counts.assessments:,}")
