"""Plotly figures drawn from mart frames (pure functions: a frame in, a figure out)."""
