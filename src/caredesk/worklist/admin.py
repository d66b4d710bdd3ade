"""Tasks are not in the admin: they are patient data, read and changed on the audited worklist pages."""
