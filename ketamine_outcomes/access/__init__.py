"""Who may see what: the access file and roles, and the audit trail of what was done."""
