"""Coded errors of credentialing (each entry point maps them to 4xx in one place)."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class CredentialNotFound(NotFound):
    code = "credential_not_found"


class PractitionerNotFound(NotFound):
    code = "practitioner_not_found"


class ApplicationNotFound(NotFound):
    code = "application_not_found"


class PrivilegeNotFound(NotFound):
    code = "privilege_not_found"


class InvalidCredential(ValidationFailed):
    code = "invalid_credential"


class ChecklistIncomplete(Conflict):
    code = "checklist_incomplete"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class CredentialCheckFailed(Conflict):
    """A booking or order names a practitioner who may not do it. `details` carries `reasons` (plain words)
    and `alternatives` (id and name of practitioners who would pass)."""

    code = "credential_check_failed"
