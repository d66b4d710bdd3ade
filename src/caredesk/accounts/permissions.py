"""Named permissions and the roles that grant them.

Every view and endpoint declares the one Permission it needs (see `accounts.decorators`). Roles are
fixed bundles of permissions; an organization does not edit them (a later issue may add custom roles).
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Permission(StrEnum):
    # patients
    PATIENT_SEARCH = "patients:patient:search"
    PATIENT_VIEW = "patients:patient:view"
    PATIENT_CREATE = "patients:patient:create"
    PATIENT_EDIT = "patients:patient:edit"
    PATIENT_MERGE = "patients:patient:merge"
    CLINICAL_VIEW = "patients:clinical:view"
    CLINICAL_EDIT = "patients:clinical:edit"
    DOCUMENT_UPLOAD = "patients:document:upload"
    NOTE_WRITE = "patients:note:write"
    # practitioners and organization directory
    PRACTITIONER_VIEW = "practitioners:practitioner:view"
    PRACTITIONER_EDIT = "practitioners:practitioner:edit"
    # audit and administration
    AUDIT_VIEW = "audit:event:view"
    AUDIT_EXPORT = "audit:event:export"
    ADMIN_SITE = "accounts:admin:site"
    USER_MANAGE = "accounts:user:manage"
    # portal
    PORTAL_OWN_RECORD = "portal:own:view"
    # always granted to a signed-in person (home page, own account security)
    SIGNED_IN = "accounts:self:signed_in"


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    COORDINATOR = "coordinator", "Care coordinator"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"
    NURSE = "nurse", "Nurse"
    PHYSICIAN = "physician", "Physician"
    PATIENT = "patient", "Patient (portal)"


P = Permission

_CLINICAL_READ = {P.PATIENT_SEARCH, P.PATIENT_VIEW, P.CLINICAL_VIEW, P.PRACTITIONER_VIEW}
_STAFF = {P.SIGNED_IN}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(set(Permission) - {P.PORTAL_OWN_RECORD}),
    Role.COORDINATOR: frozenset(
        _STAFF
        | _CLINICAL_READ
        | {
            P.PATIENT_CREATE,
            P.PATIENT_EDIT,
            P.PATIENT_MERGE,
            P.CLINICAL_EDIT,
            P.DOCUMENT_UPLOAD,
            P.NOTE_WRITE,
        }
    ),
    Role.FRONT_DESK: frozenset(
        _STAFF
        | {
            P.PATIENT_SEARCH,
            P.PATIENT_VIEW,
            P.PATIENT_CREATE,
            P.PATIENT_EDIT,
            P.DOCUMENT_UPLOAD,
            P.PRACTITIONER_VIEW,
        }
    ),
    Role.BILLING: frozenset(_STAFF | {P.PATIENT_SEARCH, P.PATIENT_VIEW, P.PRACTITIONER_VIEW}),
    Role.NURSE: frozenset(_STAFF | _CLINICAL_READ | {P.CLINICAL_EDIT, P.DOCUMENT_UPLOAD, P.NOTE_WRITE}),
    Role.PHYSICIAN: frozenset(_STAFF | _CLINICAL_READ | {P.CLINICAL_EDIT, P.DOCUMENT_UPLOAD, P.NOTE_WRITE}),
    Role.PATIENT: frozenset({P.SIGNED_IN, P.PORTAL_OWN_RECORD}),
}


def permissions_for(role: str) -> frozenset[str]:
    return frozenset(str(p) for p in ROLE_PERMISSIONS.get(role, frozenset()))
