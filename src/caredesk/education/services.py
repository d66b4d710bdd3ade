"""Patient-education use cases: keyword-only actor, one transaction, the audit row inside.

CONTRACT: `add_material` (EDUCATION_MANAGE), `assign_material` (EDUCATION_ASSIGN),
`assign_for_care_plan` (the careplans hook: CAREPLAN_MANAGE or EDUCATION_ASSIGN), `record_delivery`
(EDUCATION_ASSIGN; e-mail leaves after commit, through Django's mail backend, only with the patient's
e-mail consent), `move_assignments_on_merge` (patients' merge hook).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.inputs import checked_text
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.choices import PatientStatus
from caredesk.patients.errors import PatientNotFound

from . import rules, selectors
from .choices import AssignmentSource, DeliveryMethod, Language, ReadingLevel
from .errors import AlreadyAssigned, CannotDeliver, MaterialExists
from .models import Assignment, Delivery, Material

MAX_BODY = 20_000
PDF_SIGNATURE = b"%PDF-"


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can work with patient education.")
    return actor.organization_id


def _text(value: Any, field: str, label: str, limit: int, *, required: bool = True) -> str:
    text = checked_text(value, field, label, limit, required=required)
    if "\x00" in text:
        raise ValidationFailed(f"{label} holds a null character.", field=field)
    return text


def _name_of(actor: Actor) -> str:
    if actor.user_id is not None:
        user = User.objects.filter(pk=actor.user_id).only("first_name", "last_name", "username").first()
        if user is not None:
            return user.display_name[:150]
    return actor.username[:150]


def _writable_patient(actor: Actor, patient_id: Any) -> Any:
    pk = selectors.parse_id(patient_id)
    patient = None if pk is None else patient_selectors.patient_queryset(actor).filter(pk=pk).first()
    if patient is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    if patient.status == PatientStatus.MERGED:
        raise ValidationFailed("That record was merged into another one; use the surviving record.")
    return patient


def _check_pdf(uploaded: UploadedFile) -> None:
    max_bytes: int = settings.CAREDESK_DOCUMENT_MAX_BYTES
    name = (uploaded.name or "").lower()
    if not name.endswith(".pdf"):
        raise ValidationFailed("Upload the handout as a PDF file (.pdf).", field="file")
    if not uploaded.size:
        raise ValidationFailed("The file is empty.", field="file")
    if uploaded.size > max_bytes:
        raise ValidationFailed(f"The file is larger than {max_bytes // (1024 * 1024)} MB.", field="file")
    uploaded.seek(0)
    head = uploaded.read(len(PDF_SIGNATURE))
    uploaded.seek(0)
    if head != PDF_SIGNATURE:
        raise ValidationFailed(
            "The file's content is not a PDF, although its name ends in .pdf.", field="file"
        )


# --- the library ------------------------------------------------------------------------------------


def add_material(
    *,
    actor: Actor,
    title: str,
    language: str,
    reading_level: str,
    source: str,
    condition_codes: str = "",
    procedure_codes: str = "",
    body: str = "",
    uploaded_file: UploadedFile | None = None,
) -> Material:
    """A material for the library: a title, the conditions (ICD-10-CM codes or prefixes) and procedures it
    is about, its language and reading level, who wrote it, and its text or a PDF (or both). One title per
    language (MaterialExists)."""
    _require(actor, Permission.EDUCATION_MANAGE)
    organization_id = _organization_id(actor)
    title = _text(title, "title", "Title", 200)
    source = _text(source, "source", "Source", 300)
    body = _text(body, "body", "Text", MAX_BODY, required=False).replace("\r\n", "\n")
    if language not in Language.values:
        raise ValidationFailed(f"{language!r} is not a language of the library.", field="language")
    if reading_level not in ReadingLevel.values:
        raise ValidationFailed(f"{reading_level!r} is not a reading level.", field="reading_level")
    conditions, bad = rules.parse_codes(condition_codes, kind="icd10")
    if bad:
        raise ValidationFailed(f"Not ICD-10-CM codes: {', '.join(bad)}.", field="condition_codes")
    procedures, bad = rules.parse_codes(procedure_codes, kind="procedure")
    if bad:
        raise ValidationFailed(f"Not CPT or HCPCS codes: {', '.join(bad)}.", field="procedure_codes")
    if len(conditions) > rules.MAX_CODES or len(procedures) > rules.MAX_CODES:
        raise ValidationFailed(f"At most {rules.MAX_CODES} codes of each kind.", field="condition_codes")
    if not conditions and not procedures:
        raise ValidationFailed("Name at least one condition or procedure code.", field="condition_codes")
    if not body and uploaded_file is None:
        raise ValidationFailed("Write the text or upload a PDF.", field="body")
    if uploaded_file is not None:
        _check_pdf(uploaded_file)
    with transaction.atomic():
        material = Material(
            organization_id=organization_id,
            title=title,
            condition_codes=conditions,
            procedure_codes=procedures,
            language=language,
            reading_level=reading_level,
            body=body,
            source=source,
            created_by_id=actor.user_id,
            created_by_name=_name_of(actor),
        )
        if uploaded_file is not None:
            material.original_filename = (
                (uploaded_file.name or "").replace("\\", "/").rsplit("/", 1)[-1][:255]
            )
            material.file.save(f"{uuid.uuid4().hex}.pdf", uploaded_file, save=False)
        try:
            with transaction.atomic():
                material.save(force_insert=True)
        except IntegrityError as exc:
            if material.file:
                material.file.delete(save=False)
            raise MaterialExists(
                f"The library already has “{title}” in this language.", field="title"
            ) from exc
        audit.record(
            actor=actor,
            action=AuditAction.EDUCATION_MATERIAL_CREATE,
            obj=material,
            detail={"title": title, "language": language, "conditions": conditions, "procedures": procedures},
        )
    return material


# --- assigning ---------------------------------------------------------------------------------------


def _assign(
    actor: Actor, patient: Any, material: Material, source: str, source_ref: str, note: str
) -> Assignment:
    assignment = Assignment(
        organization_id=material.organization_id,
        patient_id=patient.pk,
        material=material,
        source=source,
        source_ref=source_ref,
        assigned_by_id=actor.user_id,
        assigned_by_name=_name_of(actor),
        note=note,
    )
    assignment.save(force_insert=True)
    audit.record(
        actor=actor,
        action=AuditAction.EDUCATION_ASSIGNMENT_CREATE,
        patient_id=patient.pk,
        obj=assignment,
        detail={"material_id": material.pk, "source": source, "source_ref": source_ref},
    )
    return assignment


def assign_material(*, actor: Actor, patient_id: int, material_id: int, note: str = "") -> Assignment:
    """Give a patient a material from the library. Once per patient and material (AlreadyAssigned)."""
    _require(actor, Permission.EDUCATION_ASSIGN)
    _organization_id(actor)
    note = _text(note, "note", "Note", 300, required=False)
    with transaction.atomic():
        patient = _writable_patient(actor, patient_id)
        material = selectors.get_material(actor=actor, material_id=material_id)
        if not material.active:
            raise ValidationFailed("This material was withdrawn from the library.", field="material")
        if Assignment.objects.filter(patient_id=patient.pk, material=material).exists():
            raise AlreadyAssigned(
                f"“{material.title}” is already assigned to this patient.", field="material"
            )
        try:
            with transaction.atomic():
                return _assign(actor, patient, material, AssignmentSource.MANUAL, "", note)
        except IntegrityError as exc:  # a concurrent assignment won the race
            raise AlreadyAssigned(
                f"“{material.title}” is already assigned to this patient.", field="material"
            ) from exc


def assign_for_care_plan(
    *, actor: Actor, patient_id: int, condition_codes: list[str], source_ref: str
) -> Assignment | None:
    """The careplans hook: a care plan's education activity gets the library's best material for the
    plan's conditions, in the patient's language (else English), easiest to read first. A material the
    patient already has is reused; None when the library has nothing that fits. Runs inside the care
    plan's transaction; whoever may create the plan may assign its education."""
    if not (actor.has(Permission.CAREPLAN_MANAGE) or actor.has(Permission.EDUCATION_ASSIGN)):
        raise Forbidden(f"This needs the permission {Permission.EDUCATION_ASSIGN}.")
    organization_id = _organization_id(actor)
    with transaction.atomic():
        patient = _writable_patient(actor, patient_id)
        material = selectors.best_material(
            organization_id=organization_id,
            condition_codes=condition_codes,
            language=patient.preferred_language,
        )
        if material is None:
            return None
        existing = Assignment.objects.filter(patient_id=patient.pk, material=material).first()
        if existing is not None:
            return existing
        return _assign(actor, patient, material, AssignmentSource.CARE_PLAN, source_ref[:80], "")


# --- delivering ----------------------------------------------------------------------------------------


def _organization_name(organization_id: int) -> str:
    return Organization.objects.filter(pk=organization_id).values_list("name", flat=True).first() or ""


def _send_email(address: str, subject: str, body: str, attachment: tuple[str, bytes] | None) -> None:
    message = EmailMessage(subject=subject, body=body, to=[address])
    if attachment is not None:
        message.attach(attachment[0], attachment[1], "application/pdf")
    message.send()


def record_delivery(*, actor: Actor, assignment_id: int, method: str, note: str = "") -> Delivery:
    """Record that the patient got the material: printed and handed over, shared in the portal (the
    patient then sees it there), or sent by e-mail (to the patient's address, only with their e-mail
    consent; the message leaves after the delivery is committed)."""
    _require(actor, Permission.EDUCATION_ASSIGN)
    _organization_id(actor)
    if method not in DeliveryMethod.values:
        raise ValidationFailed(f"{method!r} is not a way of delivering a material.", field="method")
    note = _text(note, "note", "Note", 300, required=False)
    with transaction.atomic():
        assignment = selectors.assignment_for_write(actor, assignment_id)
        patient = _writable_patient(actor, assignment.patient_id)
        material = assignment.material
        email_to = ""
        if method == DeliveryMethod.EMAIL:
            if not patient.email:
                raise CannotDeliver("The patient has no e-mail address on file.", field="method")
            if not patient.email_allowed:
                raise CannotDeliver("The patient has not agreed to be contacted by e-mail.", field="method")
            email_to = patient.email
        delivery = Delivery.objects.create(
            assignment=assignment,
            method=method,
            delivered_at=timezone.now(),
            delivered_by_id=actor.user_id,
            delivered_by_name=_name_of(actor),
            email_to=email_to,
            note=note,
        )
        audit.record(
            actor=actor,
            action=AuditAction.EDUCATION_DELIVERY_CREATE,
            patient_id=patient.pk,
            obj=delivery,
            detail={"assignment_id": assignment.pk, "material_id": material.pk, "method": method},
        )
        if method == DeliveryMethod.EMAIL:
            organization = _organization_name(assignment.organization_id)
            greeting = f"Dear {patient.preferred_name or patient.given_name},"
            text = material.body or "Your care team's handout is attached."
            body = f"{greeting}\n\n{text}\n\nSource: {material.source}\n\n{organization}\n"
            attachment = None
            if material.file:
                with material.file.open("rb") as handle:
                    attachment = (material.original_filename or "handout.pdf", handle.read())
            subject = f"{organization}: {material.title}" if organization else material.title
            transaction.on_commit(lambda: _send_email(email_to, subject, body, attachment))
    return delivery


# --- patient merges -------------------------------------------------------------------------------------


def move_assignments_on_merge(actor: Actor, source: models.Model, target: models.Model) -> None:
    """patients.services merge hook: the surviving record takes over the merged one's materials; where both
    had the same material, the deliveries join the survivor's assignment (inside the merge's transaction)."""
    for assignment in Assignment.objects.filter(patient_id=source.pk).order_by("pk"):
        kept = Assignment.objects.filter(patient_id=target.pk, material_id=assignment.material_id).first()
        if kept is None:
            Assignment.objects.filter(pk=assignment.pk).update(patient_id=target.pk)
        else:
            Delivery.objects.filter(assignment=assignment).update(assignment=kept)
            assignment.delete()


__all__ = [
    "add_material",
    "assign_for_care_plan",
    "assign_material",
    "move_assignments_on_merge",
    "record_delivery",
]
