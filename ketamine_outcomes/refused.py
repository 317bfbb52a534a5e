"""A file that cannot be ingested at all. Its own module, below both the privacy guard
(ketamine_outcomes/privacy.py) and ingest/, which both refuse files, so neither imports the other for it."""


class RefusedFile(ValueError):
    """A file that cannot be ingested at all; nothing was stored."""
