"""Coded errors of patient education."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class MaterialNotFound(NotFound):
    code = "education_material_not_found"


class AssignmentNotFound(NotFound):
    code = "education_assignment_not_found"


class AlreadyAssigned(Conflict):
    code = "education_already_assigned"


class MaterialExists(Conflict):
    code = "education_material_exists"


class CannotDeliver(ValidationFailed):
    """The delivery cannot be made as asked (no e-mail address, no e-mail consent, …)."""

    code = "education_cannot_deliver"


__all__ = ["AlreadyAssigned", "AssignmentNotFound", "CannotDeliver", "MaterialExists", "MaterialNotFound"]
