"""Reading an export: file bytes and formats, the data contract, column mappings and the ingest pipeline
that stages and merges rows. The privacy checks it runs live below it, in ketamine_outcomes/privacy.py."""
