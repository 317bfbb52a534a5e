"""The DuckDB file: opening and locking it, migrations, settings, transactions, the reading copy shown
during an ingest (busy) and checked backups."""
