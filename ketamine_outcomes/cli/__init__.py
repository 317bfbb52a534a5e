"""The `ketamine-outcomes` command line."""
