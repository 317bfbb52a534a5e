"""The SQL models (one query per file), package data read through importlib.resources: pyproject.toml
maps this folder into the package as ketamine_outcomes.queries, so an installed wheel finds them as a source
checkout does. This file makes the folder a package for that mapping; it holds no code."""
