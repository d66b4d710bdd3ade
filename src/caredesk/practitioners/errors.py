"""Coded errors of the practitioners app."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class PractitionerNotFound(NotFound):
    """Missing, or outside the actor's organization (the same answer for both)."""

    code = "practitioner_not_found"


class InvalidNpi(ValidationFailed):
    code = "invalid_npi"


class DuplicateNpi(Conflict):
    code = "duplicate_npi"


class InvalidSpecialty(ValidationFailed):
    code = "invalid_specialty"


class InvalidLocation(ValidationFailed):
    code = "invalid_location"


class InvalidUserLink(ValidationFailed):
    code = "invalid_user_link"


class UserAlreadyLinked(Conflict):
    code = "user_already_linked"


__all__ = [
    "DuplicateNpi",
    "InvalidLocation",
    "InvalidNpi",
    "InvalidSpecialty",
    "InvalidUserLink",
    "PractitionerNotFound",
    "UserAlreadyLinked",
    "ValidationFailed",
]
