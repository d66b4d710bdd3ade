"""Communications are not in the admin: they are patient data, read on the audited log pages."""
