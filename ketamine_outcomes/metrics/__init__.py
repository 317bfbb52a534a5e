"""Outcome metrics: the build of intermediate tables, the marts pages and the pack read, and data quality."""
