"""Care plans are patient data: they are read and written through the audited pages, not the admin."""
