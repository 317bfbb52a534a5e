"""What may be shown to a meeting: small-cell suppression, including cells found by subtraction."""
