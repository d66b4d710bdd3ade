"""Patient use cases. One function per use case, keyword-only actor, one transaction, audit row inside.

CONTRACT (implemented by the patients work; other apps and interop call exactly these):

Demographics: `find_likely_duplicates`, `register_patient`, `update_patient`, `merge_patients` and
`register_merge_hook`. The chart: `add_problem`, `add_allergy`, `add_medication`, `add_observation`,
`add_note`, `upload_document`, `correct_entry`, `retract_entry`.

Every function checks the permission it needs itself (the same use case is reachable from the pages, the
JSON API and FHIR) and raises `caredesk.core.errors.Forbidden` without it. A patient outside the actor's
organization answers PatientNotFound, exactly like one that does not exist. Input is validated before
anything is written: a refused request (ValidationFailed naming the field) changes nothing.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.ids import optional_id
from caredesk.core.inputs import checked_text
from caredesk.core.text import digits, name_key, phone_key

from . import rules
from .choices import (
    AdministrativeSex,
    AllergyCriticality,
    ContactRelationship,
    EntryStatus,
    PatientStatus,
    TelecomSystem,
    TelecomUse,
)
from .errors import (
    DuplicateSuspected,
    EntryNotCurrent,
    EntryNotFound,
    InvalidCode,
    InvalidDocument,
    MergeNotAllowed,
    PatientMerged,
    PatientNotFound,
    StaleVersion,
)
from .models import (
    Allergy,
    ClinicalEntry,
    Document,
    Medication,
    MrnSequence,
    Note,
    Observation,
    Patient,
    PatientIdentifier,
    PatientTelecom,
    Problem,
    RelatedPerson,
)
from .schemas import IdentifierInput, PatientInput, RelatedPersonInput, TelecomInput

MAX_DUPLICATE_CANDIDATES = 20
MAX_MRN_LENGTH = 20
MAX_NOTE_LENGTH = 100_000
PREVIOUS_MRN_LABEL = "Previous MRN"
CLOCK_SKEW = dt.timedelta(minutes=5)

# ---------------------------------------------------------------------------------------------------
# Shared helpers: permissions, scope, coercion
# ---------------------------------------------------------------------------------------------------


def _require(actor: Actor, *permissions: Permission) -> None:
    """Defence in depth: the entry point checked already, the use case checks again."""
    if not any(actor.has(permission) for permission in permissions):
        raise Forbidden(
            f"This needs the permission {permissions[0]}.", details={"permission": permissions[0]}
        )


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can work with its patients.")
    return actor.organization_id


def _scoped_patients(actor: Actor) -> QuerySet[Patient]:
    """The patients this actor may act on: their organization's, or a portal user's own record."""
    patients = Patient.objects.filter(organization_id=_organization_id(actor))
    if actor.patient_id is not None:
        patients = patients.filter(pk=actor.patient_id)
    return patients


def _locked_patient(actor: Actor, patient_id: Any) -> Patient:
    """The patient row, locked for the rest of the transaction; PatientNotFound outside the scope."""
    pk = optional_id(patient_id)
    patient = None if pk is None else _scoped_patients(actor).select_for_update().filter(pk=pk).first()
    if patient is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    return patient


def _writable_patient(actor: Actor, patient_id: Any) -> Patient:
    patient = _locked_patient(actor, patient_id)
    if patient.status == PatientStatus.MERGED:
        raise PatientMerged(
            f"Patient {patient.mrn} was merged into another record; add to the surviving record instead.",
            details={"merged_into": patient.merged_into_id},
        )
    return patient


def _date(value: Any, field: str, label: str) -> dt.date | None:
    """A calendar date from a date or an ISO `YYYY-MM-DD` string; None for nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationFailed(f"{label} must be a date (YYYY-MM-DD).", field=field)


def _choice(value: Any, field: str, label: str, choices: Iterable[str]) -> str:
    allowed = list(choices)
    if value not in allowed:
        raise ValidationFailed(
            f"{value!r} is not a valid {label}; use one of {', '.join(allowed)}.", field=field
        )
    return str(value)


def _email(value: Any, field: str, label: str = "E-mail address") -> str:
    email = checked_text(value, field, label, 254)
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationFailed(f"{email} is not a valid e-mail address.", field=field) from exc
    return email


def _flag(value: Any, field: str, label: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(f"{label} must be true or false.", field=field)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _today() -> dt.date:
    return timezone.localdate()


def _recorder_name(actor: Actor) -> str:
    """The name shown beside a chart entry: the user's full name, else the actor's username."""
    if actor.user_id is not None:
        user = User.objects.filter(pk=actor.user_id).only("first_name", "last_name", "username").first()
        if user is not None:
            return user.display_name[:150]
    return actor.username[:150]


# ---------------------------------------------------------------------------------------------------
# Demographics: cleaning
# ---------------------------------------------------------------------------------------------------

_LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "middle_name": "Middle name",
    "suffix": "Suffix",
    "preferred_name": "Preferred name",
    "gender_identity": "Gender identity",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "city": "City",
    "postal_code": "Postal code",
}
_TEXT_LIMITS = {
    "middle_name": 100,
    "suffix": 20,
    "preferred_name": 100,
    "gender_identity": 60,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "postal_code": 10,
}
_FLAGS = {
    "sms_allowed": "SMS allowed",
    "email_allowed": "E-mail allowed",
    "voicemail_allowed": "Voicemail allowed",
}
_NESTED = ("telecoms", "identifiers", "related_persons")
DEMOGRAPHIC_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PatientInput) if f.name not in _NESTED)
UPDATABLE_FIELDS = frozenset(DEMOGRAPHIC_FIELDS) | {"telecoms"}


def _clean_name(value: Any, field: str) -> str:
    name = checked_text(value, field, _LABELS[field], 100, required=True)
    if not name_key(name):
        raise ValidationFailed(f"{_LABELS[field]} needs at least one letter.", field=field)
    return name


def _clean_code(value: Any, field: str, label: str) -> str:
    code = checked_text(value, field, label, 2).upper()
    if code and not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise ValidationFailed(f"{label} must be a two-letter code.", field=field)
    return code


def _clean_birth_date(value: Any) -> dt.date:
    birth_date = _date(value, "birth_date", "Birth date")
    if birth_date is None:
        raise ValidationFailed("Birth date is required.", field="birth_date")
    problem = rules.birth_date_error(birth_date, _today())
    if problem:
        raise ValidationFailed(problem, field="birth_date")
    return birth_date


def _clean_language(value: Any) -> str:
    tag = checked_text(value, "preferred_language", "Preferred language", 35) or "en"
    if not rules.is_language_tag(tag):
        raise ValidationFailed(
            f"{tag!r} is not a language code such as en or es.", field="preferred_language"
        )
    return tag


def _clean_status(value: Any) -> str:
    allowed = [s for s in PatientStatus.values if s != PatientStatus.MERGED]
    return _choice(value, "status", "status (merging is a separate step)", allowed)


_SPECIAL_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "birth_date": _clean_birth_date,
    "sex": lambda v: _choice(v, "sex", "administrative sex", AdministrativeSex.values),
    "email": lambda v: _email(v, "email"),
    "state": lambda v: _clean_code(v, "state", "State"),
    "country": lambda v: _clean_code(v, "country", "Country") or "US",
    "preferred_language": _clean_language,
    "status": _clean_status,
    "deceased_date": lambda v: _date(v, "deceased_date", "Date of death"),
}


def _clean_field(name: str, value: Any) -> Any:
    """One demographic field, trimmed and checked on its own."""
    if name in ("given_name", "family_name"):
        return _clean_name(value, name)
    if name in _TEXT_LIMITS:
        return checked_text(value, name, _LABELS[name], _TEXT_LIMITS[name])
    if name in _FLAGS:
        return _flag(value, name, _FLAGS[name])
    return _SPECIAL_CLEANERS[name](value)


def _check_consistency(values: Mapping[str, Any], touched: Iterable[str]) -> None:
    """Rules across fields. The address rules apply only when the address was touched, so a stored value
    that predates a rule does not block editing something else."""
    problem = rules.deceased_date_error(
        values["status"], values["deceased_date"], values["birth_date"], _today()
    )
    if problem:
        raise ValidationFailed(problem, field="deceased_date")
    if not {"state", "postal_code", "country"} & set(touched) or values["country"] != "US":
        return
    if values["state"] and not rules.is_us_state(values["state"]):
        raise ValidationFailed(f"{values['state']} is not a US state code.", field="state")
    if values["postal_code"] and not rules.is_us_zip(values["postal_code"]):
        raise ValidationFailed("A US ZIP code is 5 digits, or 5+4 (12345-6789).", field="postal_code")


def _coerce(item: Any, kind: type[Any], field: str, index: int) -> Any:
    if isinstance(item, kind):
        return item
    if isinstance(item, Mapping):
        try:
            return kind(**item)
        except TypeError as exc:
            raise ValidationFailed(
                f"Entry {index + 1} of {field} has unknown or missing parts.", field=field
            ) from exc
    raise ValidationFailed(f"Entry {index + 1} of {field} is not understood.", field=field)


def _clean_telecoms(items: Sequence[Any] | None) -> list[TelecomInput]:
    """Checked phone numbers, in order, without repeats of the same number on the same system."""
    cleaned: list[TelecomInput] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items or []):
        telecom = _coerce(item, TelecomInput, "telecoms", index)
        value = checked_text(telecom.value, "telecoms", "Phone number", 100, required=True)
        problem = rules.phone_digits_error(phone_key(value))
        if problem:
            raise ValidationFailed(f"{value}: {problem}", field="telecoms")
        system = _choice(telecom.system, "telecoms", "contact system", TelecomSystem.values)
        use = _choice(telecom.use, "telecoms", "contact use", TelecomUse.values)
        if (system, phone_key(value)) not in seen:
            seen.add((system, phone_key(value)))
            cleaned.append(TelecomInput(value=value, system=system, use=use))
    return cleaned


def _clean_identifiers(items: Sequence[Any] | None) -> list[IdentifierInput]:
    cleaned: list[IdentifierInput] = []
    for index, item in enumerate(items or []):
        identifier = _coerce(item, IdentifierInput, "identifiers", index)
        system = checked_text(identifier.system, "identifiers", "Identifier system", 200, required=True)
        value = checked_text(identifier.value, "identifiers", "Identifier value", 100, required=True)
        label = checked_text(identifier.type_label, "identifiers", "Identifier type", 60)
        if any(c.system == system and c.value == value for c in cleaned):
            raise ValidationFailed(f"Identifier {system}|{value} is listed twice.", field="identifiers")
        cleaned.append(IdentifierInput(system=system, value=value, type_label=label))
    return cleaned


def _clean_related_persons(items: Sequence[Any] | None) -> list[RelatedPersonInput]:
    cleaned: list[RelatedPersonInput] = []
    for index, item in enumerate(items or []):
        person = _coerce(item, RelatedPersonInput, "related_persons", index)
        phone = checked_text(person.phone, "related_persons", "Contact phone", 30)
        if phone and (problem := rules.phone_digits_error(phone_key(phone))):
            raise ValidationFailed(f"{phone}: {problem}", field="related_persons")
        cleaned.append(
            RelatedPersonInput(
                name=checked_text(person.name, "related_persons", "Contact name", 200, required=True),
                relationship=_choice(
                    person.relationship, "related_persons", "relationship", ContactRelationship.values
                ),
                phone=phone,
                email=_email(person.email, "related_persons", "Contact e-mail"),
                is_emergency_contact=_flag(
                    person.is_emergency_contact, "related_persons", "Emergency contact"
                ),
            )
        )
    return cleaned


def _clean_new_patient(data: PatientInput) -> dict[str, Any]:
    values = {name: _clean_field(name, getattr(data, name)) for name in DEMOGRAPHIC_FIELDS}
    _check_consistency(values, DEMOGRAPHIC_FIELDS)
    return values


def _keys(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        "family_key": name_key(values["family_name"])[:100],
        "given_key": name_key(values["given_name"])[:100],
    }


# ---------------------------------------------------------------------------------------------------
# Duplicates
# ---------------------------------------------------------------------------------------------------


def _phone_keys(telecoms: Iterable[Any]) -> set[str]:
    keys: set[str] = set()
    for item in telecoms:
        value = item.get("value", "") if isinstance(item, Mapping) else getattr(item, "value", "")
        key = phone_key(str(value or ""))
        if rules.phone_is_matchable(key):
            keys.add(key)
    return keys


def _duplicate_candidates(
    organization_id: int,
    names: rules.NameKeys,
    birth_date: dt.date | None,
    phones: set[str],
    exclude_id: int | None,
) -> list[Patient]:
    """Same birth date and a look-alike name (rules.names_look_alike), or a shared phone number."""
    patients = Patient.objects.filter(organization_id=organization_id).exclude(status=PatientStatus.MERGED)
    if exclude_id is not None:
        patients = patients.exclude(pk=exclude_id)
    condition = Q(pk__in=[])
    if birth_date is not None:
        same_day = patients.filter(birth_date=birth_date).only("pk", "given_key", "family_key")
        alike = [
            p.pk for p in same_day if rules.names_look_alike(names, rules.NameKeys(p.given_key, p.family_key))
        ]
        condition |= Q(pk__in=alike)
    if phones:
        condition |= Q(pk__in=PatientTelecom.objects.filter(digits__in=sorted(phones)).values("patient_id"))
    return list(
        patients.filter(condition).order_by("family_key", "given_key", "pk")[:MAX_DUPLICATE_CANDIDATES]
    )


def _record_duplicate_check(actor: Actor, candidates: list[Patient]) -> None:
    audit.record(
        actor=actor,
        action=AuditAction.PATIENT_DUPLICATE_CHECK,
        object_type="patients.patient",
        detail={"candidate_ids": [p.pk for p in candidates]},
    )


def find_likely_duplicates(
    *, actor: Actor, data: PatientInput, exclude_id: int | None = None
) -> list[Patient]:
    """Same birth date and a similar name, or the same phone number, in the actor's organization.

    Works on a half-filled form (nothing is validated), skips merged records, and writes one
    PATIENT_DUPLICATE_CHECK audit row with the ids it returns."""
    _require(actor, Permission.PATIENT_CREATE, Permission.PATIENT_EDIT, Permission.PATIENT_SEARCH)
    organization_id = _organization_id(actor)
    names = rules.NameKeys(name_key(str(data.given_name or "")), name_key(str(data.family_name or "")))
    birth_date = data.birth_date if isinstance(data.birth_date, dt.date) else None
    with transaction.atomic():
        candidates = _duplicate_candidates(
            organization_id, names, birth_date, _phone_keys(data.telecoms or []), exclude_id
        )
        _record_duplicate_check(actor, candidates)
    return candidates


# ---------------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------------


def _next_mrn(organization_id: int) -> str:
    """Advance the organization's counter under its row lock (held until the transaction ends, so
    concurrent registrations queue here) and format the MRN. Skips a number already taken by an
    imported record."""
    short_code = Organization.objects.values_list("short_code", flat=True).get(pk=organization_id)
    if len(rules.format_mrn(short_code, 0)) > MAX_MRN_LENGTH:
        raise ValidationFailed("The organization's short code is too long to build MRNs from.")
    MrnSequence.objects.get_or_create(organization_id=organization_id)
    counter = MrnSequence.objects.select_for_update().filter(organization_id=organization_id)
    counter.get()  # take the lock before reading the value
    while True:
        counter.update(last_value=F("last_value") + 1)
        mrn = rules.format_mrn(short_code, counter.values_list("last_value", flat=True).get())
        if not Patient.objects.filter(organization_id=organization_id, mrn=mrn).exists():
            return mrn


def _add_telecoms(patient: Patient, telecoms: Sequence[TelecomInput], first_rank: int = 1) -> None:
    PatientTelecom.objects.bulk_create(
        PatientTelecom(
            patient=patient,
            system=t.system,
            use=t.use,
            value=t.value,
            digits=phone_key(t.value)[:20],
            rank=first_rank + index,
        )
        for index, t in enumerate(telecoms)
    )


def _insert_patient(
    organization_id: int,
    values: dict[str, Any],
    telecoms: list[TelecomInput],
    identifiers: list[IdentifierInput],
    related: list[RelatedPersonInput],
) -> Patient:
    patient = Patient(
        organization_id=organization_id, mrn=_next_mrn(organization_id), **values, **_keys(values)
    )
    patient.save(force_insert=True)
    _add_telecoms(patient, telecoms)
    PatientIdentifier.objects.bulk_create(
        PatientIdentifier(patient=patient, **asdict(i)) for i in identifiers
    )
    RelatedPerson.objects.bulk_create(RelatedPerson(patient=patient, **asdict(r)) for r in related)
    return patient


def register_patient(*, actor: Actor, data: PatientInput, confirm_not_duplicate: bool = False) -> Patient:
    """Create a patient with a generated MRN. Raises DuplicateSuspected (with the candidates) when
    likely duplicates exist and `confirm_not_duplicate` is False. ValidationFailed on bad input.

    The duplicate check and the insert share one transaction (serialized on SQLite, so two desks cannot
    both miss each other); when it raises DuplicateSuspected only its PATIENT_DUPLICATE_CHECK audit row
    is written."""
    _require(actor, Permission.PATIENT_CREATE)
    organization_id = _organization_id(actor)
    values = _clean_new_patient(data)
    telecoms = _clean_telecoms(data.telecoms)
    identifiers = _clean_identifiers(data.identifiers)
    related = _clean_related_persons(data.related_persons)
    candidates: list[Patient] = []
    patient: Patient | None = None
    with transaction.atomic():
        if not confirm_not_duplicate:
            keys = _keys(values)
            names = rules.NameKeys(given=keys["given_key"], family=keys["family_key"])
            phones = {phone_key(t.value) for t in telecoms if rules.phone_is_matchable(phone_key(t.value))}
            candidates = _duplicate_candidates(organization_id, names, values["birth_date"], phones, None)
        if candidates:
            _record_duplicate_check(actor, candidates)
        else:
            patient = _insert_patient(organization_id, values, telecoms, identifiers, related)
            audit.record(
                actor=actor,
                action=AuditAction.PATIENT_CREATE,
                patient_id=patient.pk,
                obj=patient,
                detail={"mrn": patient.mrn, "confirmed_not_duplicate": confirm_not_duplicate},
            )
    if patient is None:
        raise DuplicateSuspected(candidates)
    return patient


# ---------------------------------------------------------------------------------------------------
# Demographic updates
# ---------------------------------------------------------------------------------------------------


def _telecom_values(patient: Patient) -> list[str]:
    return [f"{t.system}:{t.use}:{t.value}" for t in patient.telecoms.order_by("rank", "pk")]


def update_patient(
    *, actor: Actor, patient_id: int, changes: dict[str, Any], expected_version: int | None = None
) -> Patient:
    """Change demographics. `changes` uses PatientInput field names. StaleVersion if the record changed
    since `expected_version` (no lost writes). The audit row carries before/after of changed fields.

    `changes["telecoms"]` (TelecomInput or dicts) replaces the phone numbers. Only the fields named in
    `changes` are checked on their own, plus the rules across fields. No difference: nothing written."""
    _require(actor, Permission.PATIENT_EDIT)
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ValidationFailed(f"Unknown or read-only field(s): {names}.", field=sorted(unknown)[0])
    with transaction.atomic():
        patient = _writable_patient(actor, patient_id)
        if expected_version is not None and patient.version != expected_version:
            raise StaleVersion(
                "Someone else changed this patient since you opened it. Reload to see their changes.",
                details={"expected_version": expected_version, "current_version": patient.version},
            )
        before = {name: getattr(patient, name) for name in DEMOGRAPHIC_FIELDS}
        touched = [name for name in changes if name in before]
        after = {**before, **{name: _clean_field(name, changes[name]) for name in touched}}
        _check_consistency(after, touched)
        changed: dict[str, list[Any]] = {
            name: [_jsonable(before[name]), _jsonable(after[name])]
            for name in DEMOGRAPHIC_FIELDS
            if before[name] != after[name]
        }
        telecoms = _clean_telecoms(changes["telecoms"]) if "telecoms" in changes else None
        if telecoms is not None:
            old_telecoms = _telecom_values(patient)
            new_telecoms = [f"{t.system}:{t.use}:{t.value}" for t in telecoms]
            if old_telecoms != new_telecoms:
                changed["telecoms"] = [old_telecoms, new_telecoms]
        if not changed:
            return patient
        _save_changes(patient, {name: after[name] for name in changed if name in after}, after)
        if "telecoms" in changed and telecoms is not None:
            patient.telecoms.all().delete()
            _add_telecoms(patient, telecoms)
        audit.record(
            actor=actor,
            action=AuditAction.PATIENT_UPDATE,
            patient_id=patient.pk,
            obj=patient,
            detail={"changed": changed, "version": patient.version + 1},
        )
        patient.refresh_from_db()
    return patient


def _save_changes(patient: Patient, updates: dict[str, Any], after: Mapping[str, Any]) -> None:
    """The optimistic-lock write: only when the version is still the one read; bumps it."""
    if {"given_name", "family_name"} & set(updates):
        updates.update(_keys(after))
    written = Patient.objects.filter(pk=patient.pk, version=patient.version).update(
        **updates, version=F("version") + 1, updated_at=timezone.now()
    )
    if written != 1:
        raise StaleVersion("Someone else changed this patient at the same time. Reload and try again.")


# ---------------------------------------------------------------------------------------------------
# Merging duplicates
# ---------------------------------------------------------------------------------------------------

MergeHook = Callable[[Actor, Patient, Patient], None]
_merge_hooks: list[MergeHook] = []


def register_merge_hook(hook: MergeHook) -> MergeHook:
    """Let another app re-point its own rows when two patients are merged.

    `merge_patients` calls every registered `hook(actor, source, target)` inside its transaction, after
    the chart has moved and before the audit rows are written; both patient rows are locked. A hook moves
    its app's rows from `source` to `target` (e.g. `Appointment.objects.filter(patient=source)
    .update(patient=target)`); raising aborts the whole merge. Register once, from the app's
    `AppConfig.ready()`; registering the same function again is a no-op. Returns the hook, so it can be
    used as a decorator."""
    if hook not in _merge_hooks:
        _merge_hooks.append(hook)
    return hook


_CHART_MODELS: tuple[type[ClinicalEntry], ...] = (Problem, Allergy, Medication, Observation, Document, Note)


def _move_chart(source: Patient, target: Patient) -> dict[str, int]:
    """Re-point every chart entry (all versions, whatever their status); counts by model name."""
    moved: dict[str, int] = {}
    for model in _CHART_MODELS:
        entries = model._default_manager.filter(patient=source)
        moved[model._meta.model_name or model.__name__] = entries.update(patient=target)
    return moved


def _move_telecoms(source: Patient, target: Patient) -> int:
    present = set(target.telecoms.values_list("system", "digits"))
    rank = max(target.telecoms.values_list("rank", flat=True), default=0)
    moved = 0
    for telecom in source.telecoms.order_by("rank", "pk"):
        if (telecom.system, telecom.digits) in present:
            continue  # the same number stays on the merged record only
        present.add((telecom.system, telecom.digits))
        rank += 1
        moved += PatientTelecom.objects.filter(pk=telecom.pk).update(patient=target, rank=rank)
    return moved


def _move_identifiers(source: Patient, target: Patient, previous_mrn_system: str) -> int:
    present = set(target.identifiers.values_list("system", "value"))
    movable = [i.pk for i in source.identifiers.all() if (i.system, i.value) not in present]
    moved = PatientIdentifier.objects.filter(pk__in=movable).update(patient=target)
    if (previous_mrn_system, source.mrn) not in present:
        PatientIdentifier.objects.create(
            patient=target, system=previous_mrn_system, value=source.mrn, type_label=PREVIOUS_MRN_LABEL
        )
    return moved


def _move_related_persons(source: Patient, target: Patient) -> int:
    def key(person: RelatedPerson) -> tuple[str, str, str]:
        return name_key(person.name), person.relationship, digits(person.phone)

    present = {key(p) for p in target.related_persons.all()}
    movable = [p.pk for p in source.related_persons.all() if key(p) not in present]
    return RelatedPerson.objects.filter(pk__in=movable).update(patient=target)


def _lock_pair(actor: Actor, source_id: int, target_id: int) -> tuple[Patient, Patient]:
    """Both rows locked in id order (the same order for every merge, so two merges cannot deadlock)."""
    rows = {
        p.pk: p
        for p in _scoped_patients(actor)
        .select_for_update()
        .filter(pk__in=[source_id, target_id])
        .order_by("pk")
    }
    for pk in (source_id, target_id):
        if pk not in rows:
            raise PatientNotFound(f"No patient with id {pk}.", details={"id": pk})
    return rows[source_id], rows[target_id]


def _check_mergeable(source: Patient, target: Patient) -> None:
    for patient in (source, target):
        if patient.status == PatientStatus.MERGED:
            raise MergeNotAllowed(f"Patient {patient.mrn} was already merged into another record.")
    if source.status == PatientStatus.DECEASED and target.status != PatientStatus.DECEASED:
        raise MergeNotAllowed(
            f"Patient {source.mrn} is recorded as deceased but {target.mrn} is not; "
            "settle the status before merging."
        )


def merge_patients(*, actor: Actor, source_id: int, target_id: int, reason: str) -> Patient:
    """Fold the duplicate `source` into `target`: every chart entry, contact and identifier moves, the
    source MRN becomes an identifier of the target, the source is kept with status merged.

    Exact duplicate phone numbers, identifiers and contacts stay on the source. A portal user of the
    source keeps their link (reported in the audit detail for someone to follow up). Writes one
    PATIENT_MERGE row on each patient. Returns the target."""
    _require(actor, Permission.PATIENT_MERGE)
    organization_id = _organization_id(actor)
    reason = checked_text(reason, "reason", "Reason", 300, required=True)
    source_pk, target_pk = optional_id(source_id), optional_id(target_id)
    if source_pk is None or target_pk is None:
        raise PatientNotFound("No such patient.")
    if source_pk == target_pk:
        raise MergeNotAllowed("A patient cannot be merged into itself.", field="target_id")
    short_code = Organization.objects.values_list("short_code", flat=True).get(pk=organization_id)
    with transaction.atomic():
        source, target = _lock_pair(actor, source_pk, target_pk)
        _check_mergeable(source, target)
        moved = _move_chart(source, target)
        moved["telecoms"] = _move_telecoms(source, target)
        moved["identifiers"] = _move_identifiers(source, target, rules.mrn_system(short_code))
        moved["related_persons"] = _move_related_persons(source, target)
        Patient.objects.filter(pk=source.pk).update(
            status=PatientStatus.MERGED,
            merged_into=target,
            deceased_date=None,
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
        Patient.objects.filter(pk=target.pk).update(version=F("version") + 1, updated_at=timezone.now())
        source.refresh_from_db()
        target.refresh_from_db()
        for hook in list(_merge_hooks):
            hook(actor, source, target)
        _record_merge(actor, source, target, reason, moved)
    return target


def _record_merge(actor: Actor, source: Patient, target: Patient, reason: str, moved: dict[str, int]) -> None:
    portal_user = User.objects.filter(patient_id=source.pk).values("pk", "username").first()
    common: dict[str, Any] = {"reason": reason, "moved": moved}
    if portal_user is not None:
        common["source_portal_user"] = {"id": portal_user["pk"], "username": portal_user["username"]}
    audit.record(
        actor=actor,
        action=AuditAction.PATIENT_MERGE,
        patient_id=source.pk,
        obj=source,
        detail={**common, "role": "source", "merged_into": target.pk, "target_mrn": target.mrn},
    )
    audit.record(
        actor=actor,
        action=AuditAction.PATIENT_MERGE,
        patient_id=target.pk,
        obj=target,
        detail={**common, "role": "target", "merged_from": source.pk, "source_mrn": source.mrn},
    )


# ---------------------------------------------------------------------------------------------------
# The chart: cleaning the values of each kind of entry
# ---------------------------------------------------------------------------------------------------

CLINICAL_STATUSES = ("active", "resolved", "inactive")


def _past_date(value: Any, field: str, label: str) -> dt.date | None:
    day = _date(value, field, label)
    if day is not None and day > _today():
        raise ValidationFailed(f"{label} is in the future.", field=field)
    if day is not None and day < rules.EARLIEST_BIRTH_DATE:
        raise ValidationFailed(f"{label} is before {rules.EARLIEST_BIRTH_DATE:%Y}.", field=field)
    return day


def _problem_values(
    *, icd10_code: Any, description: Any = "", onset_date: Any = None, clinical_status: Any = "active"
) -> dict[str, Any]:
    raw = checked_text(icd10_code, "icd10_code", "ICD-10-CM code", 10, required=True)
    code = rules.normalize_icd10(raw)
    if code is None:
        raise InvalidCode(f"'{raw}' is not an ICD-10-CM code.", field="icd10_code", details={"code": raw})
    return {
        "icd10_code": code,
        "description": checked_text(description, "description", "Description", 300)
        or rules.icd10_description(code)[:300],
        "onset_date": _past_date(onset_date, "onset_date", "Onset date"),
        "clinical_status": _choice(clinical_status, "clinical_status", "clinical status", CLINICAL_STATUSES),
    }


def _allergy_values(*, substance: Any, reaction: Any = "", criticality: Any = "low") -> dict[str, Any]:
    return {
        "substance": checked_text(substance, "substance", "Substance", 200, required=True),
        "reaction": checked_text(reaction, "reaction", "Reaction", 200),
        "criticality": _choice(criticality, "criticality", "criticality", AllergyCriticality.values),
    }


def _medication_values(
    *,
    name: Any,
    dose: Any = "",
    route: Any = "",
    frequency: Any = "",
    start_date: Any = None,
    end_date: Any = None,
    rxnorm_code: Any = "",
) -> dict[str, Any]:
    start = _date(start_date, "start_date", "Start date")
    end = _date(end_date, "end_date", "End date")
    if start and end and end < start:
        raise ValidationFailed("End date is before the start date.", field="end_date")
    rxnorm = checked_text(rxnorm_code, "rxnorm_code", "RxNorm code", 20)
    if rxnorm and not rxnorm.isdigit():
        raise ValidationFailed("An RxNorm code is digits only.", field="rxnorm_code")
    return {
        "name": checked_text(name, "name", "Medication name", 200, required=True),
        "dose": checked_text(dose, "dose", "Dose", 100),
        "route": checked_text(route, "route", "Route", 50),
        "frequency": checked_text(frequency, "frequency", "Frequency", 100),
        "start_date": start,
        "end_date": end,
        "rxnorm_code": rxnorm,
    }


def _decimal(value: Any, field: str, label: str) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationFailed(f"{label} is required.", field=field)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"{label} must be a number.", field=field) from exc
    if not number.is_finite():
        raise ValidationFailed(f"{label} must be a number.", field=field)
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _moment(value: Any) -> dt.datetime:
    """When a measurement was taken: now by default; naive times are in the installation's zone."""
    if value is None or value == "":
        return timezone.now()
    moment = parse_datetime(value.strip()) if isinstance(value, str) else value
    if not isinstance(moment, dt.datetime):
        raise ValidationFailed("Time taken must be a date and time.", field="effective_at")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > timezone.now() + CLOCK_SKEW:
        raise ValidationFailed("Time taken is in the future.", field="effective_at")
    if moment.date() < rules.EARLIEST_BIRTH_DATE:
        raise ValidationFailed("Time taken is implausibly early.", field="effective_at")
    return moment


def _observation_values(
    *, kind: Any, value: Any, value2: Any = None, unit: Any = "", effective_at: Any = None
) -> dict[str, Any]:
    spec = rules.OBSERVATION_SPECS.get(str(kind))
    if spec is None:
        raise ValidationFailed(f"{kind!r} is not a known kind of observation.", field="kind")
    number = _decimal(value, "value", spec.value_label)
    second = (
        None if value2 is None or value2 == "" else _decimal(value2, "value2", spec.value2_label or "Value")
    )
    unit_code = checked_text(unit, "unit", "Unit", 20) or spec.default_unit
    problem = rules.observation_error(str(kind), number, second, unit_code)
    if problem:
        field, message = problem
        raise ValidationFailed(message, field=field)
    return {
        "kind": str(kind),
        "loinc_code": spec.loinc,
        "value": number,
        "value2": second,
        "unit": unit_code,
        "effective_at": _moment(effective_at),
    }


def _note_values(*, title: Any, body: Any) -> dict[str, Any]:
    return {
        "title": checked_text(title, "title", "Title", 200, required=True),
        "body": checked_text(body, "body", "Note", MAX_NOTE_LENGTH, required=True),
    }


@dataclass(frozen=True)
class _EntryKind:
    model: type[ClinicalEntry]
    permission: Permission
    clean: Callable[..., dict[str, Any]] | None  # None: cannot be corrected (documents)
    editable: tuple[str, ...]  # the fields a correction may change
    derived: dict[str, tuple[str, ...]]  # changing a key field resets these to their defaults


ENTRY_KINDS: dict[str, _EntryKind] = {
    "problem": _EntryKind(
        Problem,
        Permission.CLINICAL_EDIT,
        _problem_values,
        ("icd10_code", "description", "onset_date", "clinical_status"),
        {"icd10_code": ("description",)},
    ),
    "allergy": _EntryKind(
        Allergy, Permission.CLINICAL_EDIT, _allergy_values, ("substance", "reaction", "criticality"), {}
    ),
    "medication": _EntryKind(
        Medication,
        Permission.CLINICAL_EDIT,
        _medication_values,
        ("name", "dose", "route", "frequency", "start_date", "end_date", "rxnorm_code"),
        {},
    ),
    "observation": _EntryKind(
        Observation,
        Permission.CLINICAL_EDIT,
        _observation_values,
        ("kind", "value", "value2", "unit", "effective_at"),
        {"kind": ("unit",)},
    ),
    "note": _EntryKind(Note, Permission.NOTE_WRITE, _note_values, ("title", "body"), {}),
    "document": _EntryKind(Document, Permission.DOCUMENT_UPLOAD, None, (), {}),
}
CORRECTABLE_ENTRY_TYPES = frozenset(name for name, kind in ENTRY_KINDS.items() if kind.clean is not None)


# ---------------------------------------------------------------------------------------------------
# The chart: adding entries
# ---------------------------------------------------------------------------------------------------


def _add_entry(
    *,
    actor: Actor,
    patient_id: int,
    entry_type: str,
    values: dict[str, Any],
    action: AuditAction = AuditAction.CLINICAL_ADD,
) -> Any:
    with transaction.atomic():
        patient = _writable_patient(actor, patient_id)
        entry = ENTRY_KINDS[entry_type].model._default_manager.create(
            patient=patient, recorded_by_id=actor.user_id, recorded_by_name=_recorder_name(actor), **values
        )
        audit.record(
            actor=actor,
            action=action,
            patient_id=patient.pk,
            obj=entry,
            detail=_entry_detail(entry_type, entry),
        )
    return entry


def _entry_detail(entry_type: str, entry: ClinicalEntry) -> dict[str, Any]:
    """What the audit row says about an entry: its type and code, never its free text."""
    detail: dict[str, Any] = {"entry_type": entry_type}
    if isinstance(entry, Problem):
        detail["icd10_code"] = entry.icd10_code
    elif isinstance(entry, Observation):
        detail["kind"] = entry.kind
    return detail


def add_problem(
    *,
    actor: Actor,
    patient_id: int,
    icd10_code: str,
    description: str = "",
    onset_date: dt.date | None = None,
    clinical_status: str = "active",
) -> Problem:
    """A diagnosis on the problem list. `icd10_code` may be typed without the dot or in lower case; it is
    stored dotted and upper-case; InvalidCode when it is not an ICD-10-CM code. The description defaults
    to the code's official title."""
    _require(actor, Permission.CLINICAL_EDIT)
    values = _problem_values(
        icd10_code=icd10_code, description=description, onset_date=onset_date, clinical_status=clinical_status
    )
    problem: Problem = _add_entry(actor=actor, patient_id=patient_id, entry_type="problem", values=values)
    return problem


def add_allergy(
    *, actor: Actor, patient_id: int, substance: str, reaction: str = "", criticality: str = "low"
) -> Allergy:
    _require(actor, Permission.CLINICAL_EDIT)
    values = _allergy_values(substance=substance, reaction=reaction, criticality=criticality)
    allergy: Allergy = _add_entry(actor=actor, patient_id=patient_id, entry_type="allergy", values=values)
    return allergy


def add_medication(
    *,
    actor: Actor,
    patient_id: int,
    name: str,
    dose: str = "",
    route: str = "",
    frequency: str = "",
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> Medication:
    _require(actor, Permission.CLINICAL_EDIT)
    values = _medication_values(
        name=name, dose=dose, route=route, frequency=frequency, start_date=start_date, end_date=end_date
    )
    medication: Medication = _add_entry(
        actor=actor, patient_id=patient_id, entry_type="medication", values=values
    )
    return medication


def add_observation(
    *,
    actor: Actor,
    patient_id: int,
    kind: str,
    value: Decimal | float | int | str,
    value2: Decimal | float | int | str | None = None,
    unit: str = "",
    effective_at: dt.datetime | None = None,
) -> Observation:
    """A measurement (rules.OBSERVATION_SPECS): the LOINC code comes from the kind, the unit defaults to
    the kind's first unit, values outside the plausible range are refused. Blood pressure needs the
    diastolic pressure as `value2`."""
    _require(actor, Permission.CLINICAL_EDIT)
    values = _observation_values(kind=kind, value=value, value2=value2, unit=unit, effective_at=effective_at)
    observation: Observation = _add_entry(
        actor=actor, patient_id=patient_id, entry_type="observation", values=values
    )
    return observation


def add_note(*, actor: Actor, patient_id: int, title: str, body: str) -> Note:
    _require(actor, Permission.NOTE_WRITE)
    values = _note_values(title=title, body=body)
    note: Note = _add_entry(
        actor=actor, patient_id=patient_id, entry_type="note", values=values, action=AuditAction.NOTE_ADD
    )
    return note


# ---------------------------------------------------------------------------------------------------
# The chart: documents
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CheckedFile:
    extension: str
    content_type: str
    size_bytes: int
    sha256: str


def _check_upload(uploaded_file: UploadedFile) -> _CheckedFile:
    """Read the upload once: size, SHA-256, signature (or UTF-8 for text). InvalidDocument says why."""
    types: dict[str, str] = settings.CAREDESK_DOCUMENT_TYPES
    max_bytes: int = settings.CAREDESK_DOCUMENT_MAX_BYTES
    extension = rules.file_extension(uploaded_file.name or "")
    if extension not in types:
        allowed = ", ".join(sorted(types))
        raise InvalidDocument(f"Files of type '.{extension}' are not accepted; use {allowed}.", field="file")
    content_type = types[extension]
    if (uploaded_file.size or 0) > max_bytes:
        raise InvalidDocument(f"The file is larger than {max_bytes // (1024 * 1024)} MB.", field="file")
    digest, size, head = hashlib.sha256(), 0, b""
    text_decoder = codecs.getincrementaldecoder("utf-8")() if content_type == "text/plain" else None
    uploaded_file.seek(0)
    try:
        for chunk in uploaded_file.chunks():
            digest.update(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise InvalidDocument(
                    f"The file is larger than {max_bytes // (1024 * 1024)} MB.", field="file"
                )
            if len(head) < rules.SNIFF_BYTES:
                head += chunk[: rules.SNIFF_BYTES - len(head)]
            if text_decoder is not None:
                text_decoder.decode(chunk)
        if text_decoder is not None:
            text_decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InvalidDocument("A .txt file must be UTF-8 text.", field="file") from exc
    if size == 0:
        raise InvalidDocument("The file is empty.", field="file")
    if not rules.content_matches(content_type, head):
        raise InvalidDocument(
            f"The file's content is not {content_type}, although its name ends in .{extension}.", field="file"
        )
    return _CheckedFile(extension, content_type, size, digest.hexdigest())


def upload_document(*, actor: Actor, patient_id: int, title: str, uploaded_file: UploadedFile) -> Document:
    """Store a PDF, image or text file in the patient's chart (under MEDIA_ROOT, with a random name) with
    its SHA-256. The type is checked by extension and by content; empty or too large files are refused
    (InvalidDocument). The file is written before the row and removed again if the row is not."""
    _require(actor, Permission.DOCUMENT_UPLOAD)
    title = checked_text(title, "title", "Title", 200, required=True)
    checked = _check_upload(uploaded_file)
    filename = (uploaded_file.name or "").replace("\\", "/").rsplit("/", 1)[-1][:255]
    with transaction.atomic():
        patient = _writable_patient(actor, patient_id)
        document = Document(
            patient=patient,
            recorded_by_id=actor.user_id,
            recorded_by_name=_recorder_name(actor),
            title=title,
            original_filename=filename,
            content_type=checked.content_type,
            size_bytes=checked.size_bytes,
            sha256=checked.sha256,
        )
        uploaded_file.seek(0)
        document.file.save(f"{uuid.uuid4().hex}.{checked.extension}", uploaded_file, save=False)
        try:
            document.save(force_insert=True)
            audit.record(
                actor=actor,
                action=AuditAction.DOCUMENT_UPLOAD,
                patient_id=patient.pk,
                obj=document,
                detail={
                    "entry_type": "document",
                    "content_type": checked.content_type,
                    "size_bytes": checked.size_bytes,
                    "sha256": checked.sha256,
                },
            )
        except BaseException:
            document.file.delete(save=False)
            raise
    return document


# ---------------------------------------------------------------------------------------------------
# The chart: corrections and retractions
# ---------------------------------------------------------------------------------------------------


def _entry_kind(entry_type: str, *, correctable: bool = False) -> _EntryKind:
    kind = ENTRY_KINDS.get(entry_type)
    if kind is None or (correctable and kind.clean is None):
        allowed = sorted(CORRECTABLE_ENTRY_TYPES if correctable else ENTRY_KINDS)
        raise ValidationFailed(
            f"{entry_type!r} is not a chart entry type here; use one of {', '.join(allowed)}.",
            field="entry_type",
        )
    return kind


def _locked_entry(actor: Actor, kind: _EntryKind, entry_id: Any) -> Any:
    """The entry, locked, if its patient is in the actor's scope; EntryNotFound otherwise."""
    pk = optional_id(entry_id)
    entry = None
    if pk is not None:
        scope = _scoped_patients(actor).values("pk")
        entry = kind.model._default_manager.select_for_update().filter(pk=pk, patient_id__in=scope).first()
    if entry is None:
        raise EntryNotFound(
            f"No {kind.model._meta.verbose_name} with id {entry_id}.", details={"id": str(entry_id)}
        )
    return entry


def _require_current(entry: ClinicalEntry, verb: str) -> None:
    if entry.status != EntryStatus.CURRENT:
        raise EntryNotCurrent(
            f"This entry is {entry.get_status_display().lower()}; only the current version can be {verb}.",
            details={"status": entry.status},
        )


def _corrected_values(kind: _EntryKind, entry: ClinicalEntry, changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(kind.editable)
    if unknown:
        raise ValidationFailed(
            f"Field(s) that cannot be corrected: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0]
        )
    values = {name: getattr(entry, name) for name in kind.editable}
    for key_field, dependents in kind.derived.items():
        if key_field in changes and changes[key_field] != values[key_field]:
            values.update({name: "" for name in dependents if name not in changes})
    values.update(changes)
    assert kind.clean is not None
    return kind.clean(**values)


def correct_entry(
    *, actor: Actor, entry_type: str, entry_id: int, changes: dict[str, Any], reason: str
) -> ClinicalEntry:
    """Correct a chart entry without losing what it said: a NEW row with `changes` applied (checked like
    an add) supersedes the old one, which keeps its content and only becomes `superseded`. The new row
    records who corrected it and why. Only the current version can be corrected (EntryNotCurrent)."""
    kind = _entry_kind(entry_type, correctable=True)
    _require(actor, kind.permission)
    reason = checked_text(reason, "reason", "Reason", 300, required=True)
    if not changes:
        raise ValidationFailed("The correction changes nothing.", field="changes")
    with transaction.atomic():
        old = _locked_entry(actor, kind, entry_id)
        _require_current(old, "corrected")
        values = _corrected_values(kind, old, changes)
        changed = {
            name: [_jsonable(getattr(old, name)), _jsonable(value)]
            for name, value in values.items()
            if getattr(old, name) != value
        }
        if not changed:
            raise ValidationFailed("The correction changes nothing.", field="changes")
        old.status = EntryStatus.SUPERSEDED
        old.save(update_fields=["status"])
        try:
            with transaction.atomic():
                rows: Any = kind.model._default_manager  # the stubs cannot follow the abstract self-reference
                new = rows.create(
                    patient_id=old.patient_id,
                    recorded_by_id=actor.user_id,
                    recorded_by_name=_recorder_name(actor),
                    supersedes_id=old.pk,
                    change_reason=reason,
                    **values,
                )
        except IntegrityError as exc:
            raise EntryNotCurrent("This entry was corrected by someone else at the same time.") from exc
        audit.record(
            actor=actor,
            action=AuditAction.CLINICAL_CORRECT,
            patient_id=old.patient_id,
            obj=new,
            detail={
                **_entry_detail(entry_type, new),
                "supersedes": old.pk,
                "reason": reason,
                "changed": changed,
            },
        )
    return new


def retract_entry(*, actor: Actor, entry_type: str, entry_id: int, reason: str) -> ClinicalEntry:
    """Mark a current entry (documents too) "entered in error" with the reason; nothing is deleted."""
    kind = _entry_kind(entry_type)
    _require(actor, kind.permission)
    reason = checked_text(reason, "reason", "Reason", 300, required=True)
    with transaction.atomic():
        entry = _locked_entry(actor, kind, entry_id)
        _require_current(entry, "retracted")
        entry.status = EntryStatus.ENTERED_IN_ERROR
        entry.change_reason = reason
        entry.save(update_fields=["status", "change_reason"])
        audit.record(
            actor=actor,
            action=AuditAction.CLINICAL_RETRACT,
            patient_id=entry.patient_id,
            obj=entry,
            detail={**_entry_detail(entry_type, entry), "reason": reason},
        )
    return entry
