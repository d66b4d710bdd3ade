"""Practitioner use cases: one function per use case, keyword-only actor, one transaction, audit row inside.

Both check PRACTITIONER_EDIT themselves (they are reachable from the pages, the JSON API and FHIR) and
validate everything before writing, so a refused request changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from caredesk.accounts.models import Location, User
from caredesk.accounts.permissions import Permission, Role
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import ValidationFailed
from caredesk.core.text import name_key

from .errors import (
    DuplicateNpi,
    InvalidLocation,
    InvalidNpi,
    InvalidSpecialty,
    InvalidUserLink,
    PractitionerNotFound,
    UserAlreadyLinked,
)
from .models import Practitioner, Specialty
from .rules import npi_error


@dataclass
class PractitionerInput:
    given_name: str
    family_name: str
    npi: str
    specialty: str
    credentials: str = ""
    phone: str = ""
    email: str = ""
    location_ids: list[int] = field(default_factory=list)
    user_id: int | None = None


_INPUT_FIELDS = frozenset(f.name for f in fields(PractitionerInput))
UPDATABLE_FIELDS = _INPUT_FIELDS | {"active"}
_MAX_LENGTHS = {"given_name": 100, "family_name": 100, "credentials": 30, "phone": 30, "email": 254}
_LABELS = {"given_name": "Given name", "family_name": "Family name"}


def _organization_id(actor: Actor) -> int:
    """Practitioners belong to an organization: an actor without one may not write any."""
    if actor.organization_id is None:
        raise PermissionDenied("Only a member of an organization can change its practitioners.")
    return actor.organization_id


def _clean_text(data: PractitionerInput) -> None:
    """Trim the text fields in place and check lengths, required names and the e-mail address."""
    for name, limit in _MAX_LENGTHS.items():
        value = (getattr(data, name) or "").strip()
        setattr(data, name, value)
        if len(value) > limit:
            raise ValidationFailed(
                f"{_LABELS.get(name, name.capitalize())} is longer than {limit} characters.", field=name
            )
    for name in ("given_name", "family_name"):
        if not getattr(data, name):
            raise ValidationFailed(f"{_LABELS[name]} is required.", field=name)
        if not name_key(getattr(data, name)):
            raise ValidationFailed(f"{_LABELS[name]} needs at least one letter or digit.", field=name)
    if data.email:
        try:
            validate_email(data.email)
        except ValidationError as exc:
            raise ValidationFailed(f"{data.email} is not a valid e-mail address.", field="email") from exc


def _clean_npi(value: str) -> str:
    npi = (value or "").strip()
    problem = npi_error(npi)
    if problem is not None:
        raise InvalidNpi(problem, field="npi", details={"npi": npi})
    return npi


def _clean_specialty(value: str) -> str:
    if value not in Specialty.values:
        raise InvalidSpecialty(f"{value!r} is not a known specialty.", field="specialty")
    return value


def _locations(organization_id: int, location_ids: list[int]) -> list[Location]:
    """The actor's organization's locations with these ids; InvalidLocation names any other id (a location
    of another organization is reported exactly like one that does not exist)."""
    try:
        wanted = {int(pk) for pk in location_ids}
    except (TypeError, ValueError) as exc:
        raise InvalidLocation("Location ids must be whole numbers.", field="location_ids") from exc
    found = list(Location.objects.filter(organization_id=organization_id, pk__in=wanted).order_by("pk"))
    missing = wanted - {location.pk for location in found}
    if missing:
        listed = ", ".join(str(pk) for pk in sorted(missing))
        raise InvalidLocation(f"Unknown location(s): {listed}.", field="location_ids")
    return found


def _check_user_link(organization_id: int, user_id: int | None, practitioner_id: int | None) -> None:
    if user_id is None:
        return
    user = User.objects.filter(pk=user_id, organization_id=organization_id).first()
    if user is None or user.role == Role.PATIENT:
        raise InvalidUserLink(f"No staff user with id {user_id} in this organization.", field="user_id")
    taken = Practitioner.objects.filter(user_id=user_id)
    if practitioner_id is not None:
        taken = taken.exclude(pk=practitioner_id)
    if taken.exists():
        raise UserAlreadyLinked(
            f"User {user.username} is already linked to another practitioner.", field="user_id"
        )


def _check_npi_free(organization_id: int, npi: str, practitioner_id: int | None) -> None:
    others = Practitioner.objects.filter(organization_id=organization_id, npi=npi)
    if practitioner_id is not None:
        others = others.exclude(pk=practitioner_id)
    if others.exists():
        raise DuplicateNpi(f"NPI {npi} already belongs to another practitioner.", field="npi")


def _save(practitioner: Practitioner, npi: str) -> None:
    """Save under a savepoint: a concurrent insert of the same NPI surfaces as DuplicateNpi, not a 500."""
    try:
        with transaction.atomic():
            practitioner.save()
    except IntegrityError as exc:
        if Practitioner.objects.filter(organization_id=practitioner.organization_id, npi=npi).exists():
            raise DuplicateNpi(f"NPI {npi} already belongs to another practitioner.", field="npi") from exc
        raise


def create_practitioner(*, actor: Actor, data: PractitionerInput) -> Practitioner:
    """InvalidNpi (400) when the NPI fails its check digit; DuplicateNpi (409) when taken in the org."""
    actor.require(Permission.PRACTITIONER_EDIT)
    organization_id = _organization_id(actor)
    data = replace(
        data, location_ids=list(data.location_ids)
    )  # cleaned on a copy: the caller's stays as given
    _clean_text(data)
    npi = _clean_npi(data.npi)
    specialty = _clean_specialty(data.specialty)
    with transaction.atomic():
        locations = _locations(organization_id, data.location_ids)
        _check_user_link(organization_id, data.user_id, None)
        _check_npi_free(organization_id, npi, None)
        practitioner = Practitioner(
            organization_id=organization_id,
            given_name=data.given_name,
            family_name=data.family_name,
            credentials=data.credentials,
            npi=npi,
            specialty=specialty,
            phone=data.phone,
            email=data.email,
            user_id=data.user_id,
            family_key=name_key(data.family_name)[:100],
            given_key=name_key(data.given_name)[:100],
        )
        _save(practitioner, npi)
        practitioner.locations.set(locations)
        audit.record(
            actor=actor,
            action=AuditAction.PRACTITIONER_CREATE,
            obj=practitioner,
            detail={"npi": npi, "specialty": specialty, "location_ids": [loc.pk for loc in locations]},
        )
    return practitioner


def _input_of(practitioner: Practitioner, location_ids: list[int]) -> PractitionerInput:
    return PractitionerInput(
        given_name=practitioner.given_name,
        family_name=practitioner.family_name,
        npi=practitioner.npi,
        specialty=practitioner.specialty,
        credentials=practitioner.credentials,
        phone=practitioner.phone,
        email=practitioner.email,
        location_ids=location_ids,
        user_id=practitioner.user_id,
    )


def update_practitioner(*, actor: Actor, practitioner_id: int, changes: dict[str, Any]) -> Practitioner:
    """Change some fields (PractitionerInput names, plus `active`). Validates like create; the audit row
    lists each changed field before and after. Nothing changed: nothing written."""
    actor.require(Permission.PRACTITIONER_EDIT)
    organization_id = _organization_id(actor)
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            f"Unknown field(s): {', '.join(sorted(unknown))}.", details={"fields": sorted(unknown)}
        )
    with transaction.atomic():
        try:
            practitioner = (
                Practitioner.objects.select_for_update()
                .filter(organization_id=organization_id)
                .get(pk=practitioner_id)
            )
        except Practitioner.DoesNotExist as exc:
            raise PractitionerNotFound(f"No practitioner with id {practitioner_id}.") from exc
        before_locations = sorted(practitioner.locations.values_list("pk", flat=True))
        before = _input_of(practitioner, before_locations)
        after = _input_of(practitioner, before_locations)
        for name, value in changes.items():
            if name in _INPUT_FIELDS:
                setattr(after, name, list(value or []) if name == "location_ids" else value)
        _clean_text(after)
        # A stored value that predates a rule stays editable around; only a new value must pass it.
        after.npi = (after.npi or "").strip()
        if after.npi != before.npi:
            after.npi = _clean_npi(after.npi)
        if after.specialty != before.specialty:
            after.specialty = _clean_specialty(after.specialty)
        locations = _locations(organization_id, after.location_ids)
        after.location_ids = [loc.pk for loc in locations]
        active = bool(changes.get("active", practitioner.active))

        changed: dict[str, dict[str, Any]] = {}
        for name in sorted(_INPUT_FIELDS):
            old, new = getattr(before, name), getattr(after, name)
            if old != new:
                changed[name] = {"from": old, "to": new}
        if active != practitioner.active:
            changed["active"] = {"from": practitioner.active, "to": active}
        if not changed:
            return practitioner

        if "user_id" in changed:
            _check_user_link(organization_id, after.user_id, practitioner.pk)
        if "npi" in changed:
            _check_npi_free(organization_id, after.npi, practitioner.pk)
        for name in _INPUT_FIELDS - {"location_ids"}:
            setattr(practitioner, name, getattr(after, name))
        practitioner.active = active
        practitioner.family_key = name_key(after.family_name)[:100]
        practitioner.given_key = name_key(after.given_name)[:100]
        _save(practitioner, after.npi)
        if "location_ids" in changed:
            practitioner.locations.set(locations)
        audit.record(
            actor=actor,
            action=AuditAction.PRACTITIONER_UPDATE,
            obj=practitioner,
            detail={"changed": changed},
        )
    return practitioner
