"""The meeting pack: HTML (and PDF through chromium) from the same marts and charts as the pages."""
