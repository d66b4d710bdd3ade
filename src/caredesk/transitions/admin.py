"""Encounters, TCM episodes and HL7 messages are not in the admin: they are patient data, read on the audited
transitions pages and changed only through the services."""
