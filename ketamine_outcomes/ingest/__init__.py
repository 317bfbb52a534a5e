"""Reading an export: file bytes and formats, the data contract, privacy checks, column mappings and the
ingest pipeline that stages and merges rows."""
