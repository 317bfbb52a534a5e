"""The docs the product itself shows (the Definitions page and the meeting pack quote metrics.md and
data-contract.md): package data, mapped into the package as ketamine_outcomes.docs by pyproject.toml so an
installed wheel shows the same text as a source checkout. This file makes the folder a package for that
mapping; it holds no code."""
