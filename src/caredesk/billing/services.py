"""Billing use cases: the procedure-code list and fee schedule, charges (a draft claim per visit), the
scrubber and every step of a claim's lifecycle.

Each takes the keyword-only `actor`, runs in one transaction, checks its permission and writes its audit row
inside that transaction. The 837P itself is interop's: `interop.x12.claims` builds the batch from
`claim_data` values and calls `mark_submitted`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, QuerySet, Sum
from django.utils import timezone

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.core.ids import positive_id
from caredesk.coverage import selectors as coverage_selectors
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound
from caredesk.practitioners import selectors as practitioner_selectors

from . import rules
from .choices import ClaimStatus, LedgerKind
from .errors import ClaimBlocked, ClaimNotFound, InvalidCharges, InvalidCodeList
from .models import (
    ChargeLine,
    Claim,
    ClaimDiagnosis,
    ClaimEvent,
    ClaimSequence,
    FeeScheduleEntry,
    LedgerEntry,
    ProcedureCode,
    Remittance,
    RemittanceClaim,
)
from .schemas import (
    Address,
    ChargesInput,
    ClaimCoverage,
    ClaimData,
    ClaimLineData,
    ClaimPayment,
    ClaimPerson,
    Provider,
)
from .schemas import Remittance as RemittanceData

_POS = re.compile(r"^\d{2}$")


def _organization_id(actor: Actor, permission: Permission = Permission.BILLING_MANAGE) -> int:
    if not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})
    if actor.organization_id is None or actor.is_portal:
        raise Forbidden("Only staff of an organization can work with its claims.")
    return actor.organization_id


def claim_queryset(actor: Actor) -> QuerySet[Claim]:
    """Claims of the actor's organization whose patient the actor may see. Not audited."""
    organization_id = _organization_id(actor, Permission.BILLING_VIEW)
    patients = patient_selectors.patient_queryset(actor).values("pk")
    return Claim.objects.filter(organization_id=organization_id, patient_id__in=patients)


# ------------------------------------------------------------------------------------ codes and fees


def load_procedure_codes(*, actor: Actor, text: str, source: str) -> int:
    """Load (or update) the organization's procedure codes from CSV; all or nothing."""
    organization_id = _organization_id(actor)
    try:
        rows = rules.parse_code_list(text)
    except rules.CodeListError as exc:
        raise InvalidCodeList(str(exc), field="file") from exc
    with transaction.atomic():
        for row in rows:
            ProcedureCode.objects.update_or_create(
                organization_id=organization_id,
                code=row.code,
                defaults={
                    "description": row.description,
                    "system": row.system,
                    "default_price": row.price,
                    "source": source[:200],
                    "active": True,
                },
            )
        audit.record(
            actor=actor,
            action=AuditAction.PROCEDURE_CODES_CREATE,
            object_type="billing.ProcedureCode",
            detail={"source": source[:200], "codes": len(rows)},
        )
    return len(rows)


def set_fee(*, actor: Actor, payer_id: int, code: str, allowed_amount: Decimal) -> FeeScheduleEntry:
    organization_id = _organization_id(actor)
    if not rules.is_cents(allowed_amount):
        raise InvalidCharges("The allowed amount must be zero or more.", field="allowed_amount")
    with transaction.atomic():
        payer = coverage_selectors.payer_queryset(actor).filter(pk=positive_id(payer_id)).first()
        procedure = ProcedureCode.objects.filter(organization_id=organization_id, code=code.upper()).first()
        if payer is None or procedure is None:
            raise InvalidCharges("Unknown payer or procedure code.", field="code")
        entry, _created = FeeScheduleEntry.objects.update_or_create(
            organization_id=organization_id,
            payer=payer,
            procedure=procedure,
            defaults={"allowed_amount": allowed_amount},
        )
        audit.record(
            actor=actor,
            action=AuditAction.FEE_SCHEDULE_UPDATE,
            obj=entry,
            detail={"payer_id": payer.pk, "code": procedure.code, "allowed": str(entry.allowed_amount)},
        )
    return entry


# ------------------------------------------------------------------------------------------ charges


def visible_patient_id(actor: Actor, patient_id: Any) -> int:
    """The id of a patient the actor may see; PatientNotFound (404) for any other id, or one that is none."""
    found = (
        patient_selectors.patient_queryset(actor)
        .filter(pk=positive_id(patient_id))
        .values_list("pk", flat=True)
    )
    pk = found.first()
    if pk is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    return pk


def _coverage_id(actor: Actor, patient_id: int, coverage_id: int | None, field: str) -> int | None:
    if coverage_id is None:
        return None
    found = (
        coverage_selectors.coverage_queryset(actor)
        .filter(pk=positive_id(coverage_id), patient_id=patient_id)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise InvalidCharges("The coverage is not one of the patient's.", field=field)
    return found


def patient_appointment_id(organization_id: int, patient_id: int, appointment_id: int | None) -> int | None:
    """The visit the charges are for: an appointment of this patient in this organization. The model is
    reached through the foreign key, as billing sits below scheduling and may not import it."""
    if appointment_id is None:
        return None
    appointments = Claim._meta.get_field("appointment").related_model._default_manager
    found = appointments.filter(
        pk=positive_id(appointment_id), organization_id=organization_id, patient_id=patient_id
    ).exists()
    if not found:
        raise InvalidCharges("The visit is not one of the patient's appointments.", field="appointment_id")
    return appointment_id


def _clean_diagnoses(codes: Sequence[str]) -> list[str]:
    cleaned = [rules.normalize_icd10(c) for c in codes if c.strip()]
    if not cleaned:
        raise InvalidCharges("Enter at least one diagnosis.", field="diagnoses")
    if len(cleaned) > rules.MAX_DIAGNOSES:
        raise InvalidCharges(f"A claim carries at most {rules.MAX_DIAGNOSES} diagnoses.", field="diagnoses")
    if len(set(cleaned)) != len(cleaned):
        raise InvalidCharges("A diagnosis is listed twice.", field="diagnoses")
    for code in cleaned:
        if (problem := rules.icd10_problem(code)) is not None:
            raise InvalidCharges(problem, field="diagnoses")
    return cleaned


def next_claim_number(organization_id: int) -> str:
    """The organization's next claim number, drawn inside the caller's transaction: the counter row is
    locked until it commits (a concurrent biller waits, then draws the next), and a rolled-back claim gives
    its number back. A number already taken (claims from before the counter) is skipped."""
    ClaimSequence.objects.get_or_create(organization_id=organization_id)
    counter = ClaimSequence.objects.select_for_update().filter(organization_id=organization_id)
    if not counter.values_list("last_value", flat=True).get():
        # First use: continue after the claims that exist (numbered by count before the counter).
        counter.update(last_value=Claim.objects.filter(organization_id=organization_id).count())
    while True:
        counter.update(last_value=F("last_value") + 1)
        number = f"C{organization_id}-{counter.values_list('last_value', flat=True).get():06d}"
        if not Claim.objects.filter(organization_id=organization_id, claim_number=number).exists():
            return number


def _charge_lines(organization_id: int, data: ChargesInput, diagnosis_count: int) -> list[ChargeLine]:
    if not data.lines:
        raise InvalidCharges("Enter at least one charge line.", field="lines")
    codes = {
        p.code: p
        for p in ProcedureCode.objects.filter(
            organization_id=organization_id, code__in=[line.procedure_code.upper() for line in data.lines]
        )
    }
    built: list[ChargeLine] = []
    for number, line in enumerate(data.lines, start=1):
        field = f"lines.{number}"
        procedure = codes.get(line.procedure_code.upper())
        if procedure is None or not procedure.active:
            raise InvalidCharges(
                f"Line {number}: {line.procedure_code} is not in the code list.", field=field
            )
        modifiers = [m.strip().upper() for m in line.modifiers if m.strip()]
        if len(modifiers) > rules.MAX_MODIFIERS or any(rules.modifier_error(m) for m in modifiers):
            raise InvalidCharges(f"Line {number}: up to 4 two-character modifiers.", field=field)
        pointers = list(line.diagnosis_pointers)
        if not 1 <= len(pointers) <= rules.MAX_POINTERS or any(
            not 1 <= p <= diagnosis_count for p in pointers
        ):
            raise InvalidCharges(
                f"Line {number}: point at 1 to 4 of the claim's {diagnosis_count} diagnoses.", field=field
            )
        units = line.units
        if not rules.is_cents(units, limit=Decimal("99999.99")) or units <= 0:
            raise InvalidCharges(f"Line {number}: units must be more than zero.", field=field)
        charge = line.charge
        if charge is None:
            if procedure.default_price is None:
                raise InvalidCharges(
                    f"Line {number}: {procedure.code} has no price; enter the charge.", field=field
                )
            charge = rules.line_charge(procedure.default_price, units)
        if not rules.is_cents(charge):
            raise InvalidCharges(
                f"Line {number}: the charge is not an amount in dollars and cents.", field=field
            )
        padded = [*pointers, None, None, None][:4]
        built.append(
            ChargeLine(
                position=number,
                procedure=procedure,
                modifiers=modifiers,
                pointer1=pointers[0],
                pointer2=padded[1],
                pointer3=padded[2],
                pointer4=padded[3],
                units=units,
                charge=charge,
                service_date=line.service_date,
            )
        )
    return built


def enter_charges(*, actor: Actor, data: ChargesInput) -> Claim:
    """A draft claim for one visit: its diagnoses and charge lines, scrubbed."""
    organization_id = _organization_id(actor)
    if not _POS.fullmatch(data.place_of_service):
        raise InvalidCharges("The place of service is a 2-digit code.", field="place_of_service")
    diagnoses = _clean_diagnoses(data.diagnoses)
    with transaction.atomic():
        patient_id = visible_patient_id(actor, data.patient_id)
        coverage_id = _coverage_id(actor, patient_id, data.coverage_id, "coverage_id")
        other_id = _coverage_id(actor, patient_id, data.other_coverage_id, "other_coverage_id")
        if other_id is not None and other_id == coverage_id:
            raise InvalidCharges(
                "The other coverage must differ from the billed one.", field="other_coverage_id"
            )
        rendering = (
            practitioner_selectors.practitioner_queryset(actor)
            .filter(pk=positive_id(data.rendering_provider_id))
            .first()
        )
        if rendering is None:
            raise InvalidCharges("Choose the rendering provider.", field="rendering_provider_id")
        lines = _charge_lines(organization_id, data, len(diagnoses))
        claim = Claim(
            organization_id=organization_id,
            patient_id=patient_id,
            coverage_id=coverage_id,
            other_coverage_id=other_id,
            rendering_provider=rendering,
            appointment_id=patient_appointment_id(organization_id, patient_id, data.appointment_id),
            place_of_service=data.place_of_service,
            billing_npi=Organization.objects.filter(pk=organization_id).values_list("npi", flat=True).get(),
            claim_number=next_claim_number(organization_id),
        )
        try:
            with transaction.atomic():
                claim.save()
        except IntegrityError as exc:
            raise InvalidCharges("The claim could not be numbered; try again.") from exc
        ClaimDiagnosis.objects.bulk_create(
            [ClaimDiagnosis(claim=claim, position=i, code=c) for i, c in enumerate(diagnoses, start=1)]
        )
        for line in lines:
            line.claim = claim
        ChargeLine.objects.bulk_create(lines)
        claim.scrub_problems = rules.scrub(claim_facts(claim))
        claim.save(update_fields=["scrub_problems", "updated_at"])
        ClaimEvent.objects.create(
            claim=claim, to_status=ClaimStatus.DRAFT, actor_name=actor.username or "system"
        )
        if coverage_id is None:
            post_charge(claim)  # self-pay: the charge is the patient's to pay from now on
        audit.record(
            actor=actor,
            action=AuditAction.CLAIM_CREATE,
            patient_id=patient_id,
            obj=claim,
            detail={"lines": len(lines), "diagnoses": len(diagnoses)},
        )
    return claim


# ---------------------------------------------------------------------------------------- scrubbing


def claim_facts(claim: Claim) -> rules.ClaimFacts:
    coverage = claim.coverage
    return rules.ClaimFacts(
        billing_npi=claim.billing_npi,
        rendering_npi=claim.rendering_provider.npi if claim.rendering_provider else "",
        diagnoses=tuple(d.code for d in claim.diagnoses.all()),
        lines=tuple(
            rules.LineFacts(
                procedure_code=line.procedure.code,
                modifiers=tuple(line.modifiers),
                diagnosis_pointers=line.pointers,
                service_date=line.service_date,
                units=line.units,
                charge=line.charge,
            )
            for line in claim.lines.select_related("procedure")
        ),
        has_coverage=coverage is not None,
        member_id=coverage.member_id if coverage else "",
        relationship=coverage.relationship if coverage else "self",
        subscriber_given_name=coverage.subscriber_given_name if coverage else "",
        subscriber_family_name=coverage.subscriber_family_name if coverage else "",
        subscriber_birth_date=coverage.subscriber_birth_date if coverage else None,
        coverage_from=coverage.effective_from if coverage else None,
        coverage_to=coverage.effective_to if coverage else None,
    )


def _locked_claim(actor: Actor, claim_id: Any) -> Claim:
    claim = (
        claim_queryset(actor)
        .select_for_update(of=("self",))
        .select_related("coverage", "rendering_provider")
        .filter(pk=positive_id(claim_id))
        .first()
    )
    if claim is None:
        raise ClaimNotFound(f"No claim with id {claim_id}.", details={"id": str(claim_id)})
    return claim


def _move(actor: Actor, claim: Claim, target: str, note: str) -> None:
    problem = rules.transition_error(claim.status, target)
    if problem is not None:
        raise ClaimBlocked(problem, field="status")
    ClaimEvent.objects.create(
        claim=claim,
        from_status=claim.status,
        to_status=target,
        actor_name=actor.username or "system",
        note=note[:500],
    )
    audit.record(
        actor=actor,
        action=AuditAction.CLAIM_STATUS_CHANGED,
        patient_id=claim.patient_id,
        obj=claim,
        detail={"from": claim.status, "to": target, "note": note[:500]},
    )
    claim.status = target


def change_status(*, actor: Actor, claim_id: int, target: str, note: str = "") -> Claim:
    """One step of the lifecycle. Ready needs a clean scrub; submitted is `mark_submitted`'s alone."""
    _organization_id(actor)
    if target == ClaimStatus.SUBMITTED:
        raise ClaimBlocked("Claims are submitted by building an 837P batch.", field="status")
    with transaction.atomic():
        claim = _locked_claim(actor, claim_id)
        if target == ClaimStatus.READY:
            claim.scrub_problems = rules.scrub(claim_facts(claim))
            if claim.scrub_problems:
                claim.save(update_fields=["scrub_problems", "updated_at"])
                raise ClaimBlocked(
                    "The scrubber found problems: " + " ".join(claim.scrub_problems),
                    details={"problems": claim.scrub_problems},
                )
        _move(actor, claim, target, note)
        claim.save(update_fields=["status", "scrub_problems", "updated_at"])
    return claim


def ready_claims(*, actor: Actor, payer_id: str = "") -> list[Claim]:
    """The ready claims (for a batch), with what the 837P needs loaded. Audited as a search."""
    _organization_id(actor)
    with transaction.atomic():
        rows = (
            claim_queryset(actor)
            .filter(status=ClaimStatus.READY)
            .select_related(
                "coverage__plan__payer",
                "other_coverage__plan__payer",
                "rendering_provider",
                "organization",
                "patient",
            )
            .prefetch_related(
                "diagnoses", Prefetch("lines", queryset=ChargeLine.objects.select_related("procedure"))
            )
        )
        if payer_id:
            rows = rows.filter(coverage__plan__payer__payer_id=payer_id)
        claims = list(rows.order_by("id"))
        audit.record(
            actor=actor,
            action=AuditAction.CLAIM_SEARCH,
            detail={
                "status": "ready",
                "payer_id": payer_id,
                "claim_ids": [c.pk for c in claims],
                "result_ids": sorted({c.patient_id for c in claims}),
            },
        )
    return claims


def mark_submitted(*, actor: Actor, claim_ids: Sequence[int], file_name: str) -> None:
    """The claims went out in `file_name`: each moves to submitted, all or none. The claims are locked in
    one query and their timeline, audit and ledger rows written in bulk (batches of thousands)."""
    organization_id = _organization_id(actor)
    note = f"837P batch {file_name}"
    with transaction.atomic():
        found = {
            c.pk: c
            for c in claim_queryset(actor)
            .select_for_update(of=("self",))
            .filter(pk__in=[positive_id(c) for c in claim_ids])
            .order_by("pk")
        }
        collected = _Postings(events=[], audits=[], moved={})
        for claim_id in claim_ids:
            claim = found.get(positive_id(claim_id))
            if claim is None:
                raise ClaimNotFound(f"No claim with id {claim_id}.", details={"id": str(claim_id)})
            _step(actor, claim, ClaimStatus.SUBMITTED, note, collected)
            claim.submitted_file = file_name[:300]
        ClaimEvent.objects.bulk_create(collected.events, batch_size=2000)
        _save_statuses(collected.moved.values(), submitted_file=file_name[:300])
        audit.record_many(collected.audits)
        _post_missing_charges(organization_id, list(collected.moved.values()))


# ------------------------------------------------------------------------------------------ 837P values


def _coverage_values(actor: Actor, coverage: Any, patient: ClaimPerson) -> ClaimCoverage:
    subscriber = (
        patient
        if coverage.relationship == "self"
        else ClaimPerson(
            given_name=coverage.subscriber_given_name,
            family_name=coverage.subscriber_family_name,
            birth_date=coverage.subscriber_birth_date,
        )
    )
    return ClaimCoverage(
        payer_name=coverage.plan.payer.name,
        payer_id=coverage.plan.payer.payer_id,
        member_id=coverage.member_id,
        subscriber=subscriber,
        relationship=coverage.relationship,
        group_number=coverage.group_number,
        order=coverage.order,
    )


def billing_address(organization_id: int) -> Address | None:
    """The billing provider's address: the organization's first location that has one."""
    location = (
        Location.objects.filter(organization_id=organization_id)
        .exclude(address_line="")
        .exclude(city="")
        .order_by("id")
        .first()
    )
    if location is None:
        return None
    return Address(
        line1=location.address_line,
        city=location.city,
        state=location.state,
        postal_code=location.postal_code,
    )


def claim_data(*, actor: Actor, claim: Claim, address: Address | None = None) -> ClaimData:
    """The values of one ready claim (as `ready_claims` loads it) as the 837P builder needs them;
    `address` is the billing provider's (`billing_address`), looked up when not given."""
    if claim.coverage is None or claim.rendering_provider is None:
        raise ClaimBlocked(f"Claim {claim.claim_number} has no coverage or rendering provider.")
    # ready_claims reads only claims whose patient the actor may see (claim_queryset), with the patient.
    patient_row = claim.patient
    patient = ClaimPerson(
        given_name=patient_row.given_name,
        family_name=patient_row.family_name,
        birth_date=patient_row.birth_date,
        sex=patient_row.sex,
        address=Address(
            line1=patient_row.address_line1,
            city=patient_row.city,
            state=patient_row.state,
            postal_code=patient_row.postal_code,
        ),
    )
    organization = claim.organization
    rendering = claim.rendering_provider
    return ClaimData(
        claim_number=claim.claim_number,
        patient=patient,
        coverage=_coverage_values(actor, claim.coverage, patient),
        other_coverage=(
            _coverage_values(actor, claim.other_coverage, patient) if claim.other_coverage else None
        ),
        billing_provider=Provider(
            npi=claim.billing_npi,
            family_name=organization.name,
            organization=True,
            tax_id=organization.tax_id,
            address=address or billing_address(claim.organization_id),
        ),
        rendering_provider=Provider(
            npi=rendering.npi, family_name=rendering.family_name, given_name=rendering.given_name
        ),
        diagnoses=tuple(d.code for d in claim.diagnoses.all()),
        lines=tuple(
            ClaimLineData(
                procedure_code=line.procedure.code,
                charge=line.charge,
                service_date=line.service_date,
                units=line.units,
                modifiers=tuple(line.modifiers),
                diagnosis_pointers=line.pointers,
            )
            for line in claim.lines.all()
        ),
        place_of_service=claim.place_of_service,
    )


# ------------------------------------------------------------------------------------ remittance and ledger


@dataclass(frozen=True)
class PostedRemittance:
    """What posting an 835 did: the remittance row, whether it was already posted (then nothing changed),
    and the claim numbers matched, unmatched, paid and denied."""

    remittance: Remittance
    duplicate: bool
    matched: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()
    paid: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        r = self.remittance
        if self.duplicate:
            return (
                f"Remittance {r.trace_number} from {r.payer_name} was already posted "
                f"on {r.created_at:%Y-%m-%d}; nothing changed."
            )
        return (
            f"Remittance {r.trace_number} from {r.payer_name}: {len(self.matched)} claim(s) matched "
            f"({len(self.paid)} paid, {len(self.denied)} denied), {len(self.unmatched)} unmatched "
            f"kept for review."
        )


def _charge_total(claim: Claim) -> Decimal:
    return sum((line.charge for line in claim.lines.all()), Decimal("0.00"))


def post_charge(claim: Claim) -> None:
    """The claim's charge on the ledger, once (a conditional unique constraint guards it)."""
    if not LedgerEntry.objects.filter(claim=claim, kind=LedgerKind.CHARGE).exists():
        LedgerEntry.objects.create(
            organization_id=claim.organization_id,
            claim=claim,
            kind=LedgerKind.CHARGE,
            amount=_charge_total(claim),
            note=f"Charges of claim {claim.claim_number}",
        )


def _adjustment_rows(payment: ClaimPayment) -> list[dict[str, str]]:
    rows = [
        {"group": a.group, "reason": a.reason, "amount": str(a.amount), "line": ""}
        for a in payment.adjustments
    ]
    for service in payment.services:
        rows += [
            {"group": a.group, "reason": a.reason, "amount": str(a.amount), "line": service.procedure_code}
            for a in service.adjustments
        ]
    return rows


@dataclass
class _Postings:
    """What posting an 835 writes, collected in memory and written in bulk at the end of its transaction."""

    events: list[ClaimEvent]
    audits: list[Any]
    moved: dict[int, Claim]


def _step(actor: Actor, claim: Claim, target: str, note: str, into: _Postings) -> None:
    """`_move` without its writes: the timeline row and audit row are collected in `into`."""
    problem = rules.transition_error(claim.status, target)
    if problem is not None:
        raise ClaimBlocked(problem, field="status")
    into.events.append(
        ClaimEvent(
            claim=claim,
            from_status=claim.status,
            to_status=target,
            actor_name=actor.username or "system",
            note=note[:500],
        )
    )
    into.audits.append(
        audit.build(
            actor=actor,
            action=AuditAction.CLAIM_STATUS_CHANGED,
            patient_id=claim.patient_id,
            obj=claim,
            detail={"from": claim.status, "to": target, "note": note[:500]},
        )
    )
    claim.status = target
    into.moved[claim.pk] = claim


def _apply_status(actor: Actor, claim: Claim, payment: ClaimPayment, trace: str, into: _Postings) -> str:
    """Move the claim as the payment says, through the lifecycle's allowed steps; what happened, in words."""
    target = rules.remittance_target(payment)
    if target is None:
        return f"CLP02 {payment.status_code}: posted, status unchanged ({claim.get_status_display()})."
    path = rules.status_path(claim.status, target)
    if path is None:
        return (
            f"Posted; the claim is {claim.get_status_display().lower()} and cannot become "
            f"{ClaimStatus(target).label.lower()}: review it."
        )
    for step in path:
        if step == ClaimStatus.DENIED:
            note = f"Denied in remittance {trace}: {rules.denial_reasons(payment)}"
        elif step == ClaimStatus.PAID:
            note = f"Paid {payment.paid} in remittance {trace}"
        else:
            note = f"Adjudicated in remittance {trace}"
        _step(actor, claim, step, note, into)
    return f"Now {claim.get_status_display().lower()}."


def _save_statuses(claims: Iterable[Claim], **also: str) -> None:
    """Write the claims' new statuses: one UPDATE per status (and `also` on all), not one per claim."""
    by_status: dict[str, list[int]] = {}
    for claim in claims:
        by_status.setdefault(claim.status, []).append(claim.pk)
    now = timezone.now()
    for status, ids in by_status.items():
        for start in range(0, len(ids), 5000):
            Claim.objects.filter(pk__in=ids[start : start + 5000]).update(
                status=status, updated_at=now, **also
            )


def _post_missing_charges(organization_id: int, claims: Sequence[Claim]) -> None:
    """Each claim's charge on the ledger, once, in three queries for all of them."""
    ids = [c.pk for c in claims]
    charged = set(
        LedgerEntry.objects.filter(claim_id__in=ids, kind=LedgerKind.CHARGE).values_list(
            "claim_id", flat=True
        )
    )
    missing = [c for c in claims if c.pk not in charged]
    if not missing:
        return
    totals = dict(
        ChargeLine.objects.filter(claim_id__in=[c.pk for c in missing])
        .values("claim_id")
        .annotate(total=Sum("charge"))
        .values_list("claim_id", "total")
    )
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                organization_id=organization_id,
                claim=claim,
                kind=LedgerKind.CHARGE,
                amount=totals.get(claim.pk) or Decimal("0.00"),
                note=f"Charges of claim {claim.claim_number}",
            )
            for claim in missing
        ],
        batch_size=2000,
    )


def post_remittance(*, actor: Actor, remittance: RemittanceData, file_name: str = "") -> PostedRemittance:
    """Post one parsed 835: record it, match each claim payment to the organization's claim by its number,
    put the payment and its adjustments on the claim's ledger and move the claim (paid, denied or accepted)
    through the lifecycle. Unknown claim numbers are kept, unmatched, for review. The same payer and trace
    number posted again changes nothing (a unique constraint holds it even under concurrent imports)."""
    organization_id = _organization_id(actor)
    payer_key = remittance.payer_id[:80]
    trace = remittance.trace_number[:50]
    with transaction.atomic():
        existing = Remittance.objects.filter(
            organization_id=organization_id, payer_identifier=payer_key, trace_number=trace
        ).first()
        if existing is not None:
            return PostedRemittance(remittance=existing, duplicate=True)
        row = Remittance(
            organization_id=organization_id,
            payer_name=remittance.payer_name[:60],
            payer_identifier=payer_key,
            payee_name=remittance.payee_name[:60],
            payee_identifier=remittance.payee_id[:80],
            trace_number=trace,
            payment_method=remittance.payment_method[:3],
            payment_date=remittance.payment_date,
            total_paid=remittance.total_paid,
            file_name=file_name[:300],
            provider_adjustments=[
                {"reason": p.reason, "reference": p.reference, "amount": str(p.amount)}
                for p in remittance.provider_adjustments
            ],
            actor_name=actor.username or "system",
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            existing = Remittance.objects.get(
                organization_id=organization_id, payer_identifier=payer_key, trace_number=trace
            )
            return PostedRemittance(remittance=existing, duplicate=True)
        numbers = {p.claim_number for p in remittance.claims}
        claims = {
            c.claim_number: c
            for c in claim_queryset(actor)
            .select_for_update(of=("self",))
            .filter(claim_number__in=numbers)
            .order_by("pk")
        }
        _post_missing_charges(organization_id, list(claims.values()))
        matched: list[str] = []
        unmatched: list[str] = []
        paid: list[str] = []
        denied: list[str] = []
        collected = _Postings(events=[], audits=[], moved={})
        lines: list[RemittanceClaim] = []
        postings: list[list[rules.Posting]] = []
        for payment in remittance.claims:
            claim = claims.get(payment.claim_number)
            if claim is None:
                unmatched.append(payment.claim_number)
                outcome = "No claim with this number: kept for review."
            else:
                matched.append(claim.claim_number)
                outcome = _apply_status(actor, claim, payment, trace, collected)
            lines.append(
                RemittanceClaim(
                    remittance=row,
                    claim=claim,
                    claim_number=payment.claim_number[:38],
                    status_code=payment.status_code[:2],
                    charge=payment.charge,
                    paid=payment.paid,
                    patient_responsibility=payment.patient_responsibility,
                    payer_claim_number=payment.payer_claim_number[:50],
                    patient_name=payment.patient_name[:120],
                    adjustments=_adjustment_rows(payment),
                    outcome=outcome[:300],
                )
            )
            postings.append(rules.claim_postings(payment) if claim is not None else [])
            if claim is None:
                continue
            if claim.status == ClaimStatus.PAID and rules.remittance_target(payment) == ClaimStatus.PAID:
                paid.append(claim.claim_number)
            elif (
                claim.status == ClaimStatus.DENIED and rules.remittance_target(payment) == ClaimStatus.DENIED
            ):
                denied.append(claim.claim_number)
            collected.audits.append(
                audit.build(
                    actor=actor,
                    action=AuditAction.REMITTANCE_POST,
                    patient_id=claim.patient_id,
                    obj=claim,
                    detail={
                        "trace_number": trace,
                        "paid": str(payment.paid),
                        "status_code": payment.status_code,
                    },
                )
            )
        # Bulk writes: the remittance lines (their ids come back), then what hangs on them.
        RemittanceClaim.objects.bulk_create(lines, batch_size=2000)
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    organization_id=organization_id,
                    claim_id=line.claim_id,
                    kind=posting.kind,
                    amount=posting.amount,
                    group=posting.group,
                    reason=posting.reason,
                    remittance_claim=line,
                    note=f"Remittance {trace}",
                )
                for line, rows in zip(lines, postings, strict=True)
                for posting in rows
            ],
            batch_size=2000,
        )
        ClaimEvent.objects.bulk_create(collected.events, batch_size=2000)
        _save_statuses(collected.moved.values())
        collected.audits.append(
            audit.build(
                actor=actor,
                action=AuditAction.REMITTANCE_POST,
                obj=row,
                detail={
                    "trace_number": trace,
                    "payer": payer_key,
                    "matched": len(matched),
                    "unmatched": len(unmatched),
                },
            )
        )
        audit.record_many(collected.audits)
    return PostedRemittance(
        remittance=row,
        duplicate=False,
        matched=tuple(matched),
        unmatched=tuple(unmatched),
        paid=tuple(paid),
        denied=tuple(denied),
    )


def claim_balance(*, actor: Actor, claim_id: int) -> rules.Balance:
    """The claim's balance, summed from its ledger (charges - payments - adjustments). Audited as a view."""
    with transaction.atomic():
        claim = claim_queryset(actor).filter(pk=positive_id(claim_id)).first()
        if claim is None:
            raise ClaimNotFound(f"No claim with id {claim_id}.", details={"id": str(claim_id)})
        totals = dict(
            LedgerEntry.objects.filter(claim=claim)
            .values("kind")
            .annotate(total=Sum("amount"))
            .values_list("kind", "total")
        )
        audit.record(
            actor=actor,
            action=AuditAction.CLAIM_VIEW,
            patient_id=claim.patient_id,
            obj=claim,
            detail={"ledger": True},
        )
    return rules.balance_of(totals)


# ------------------------------------------------------------------------- acknowledgements (999, 277CA)


@dataclass(frozen=True)
class AcknowledgedClaim:
    """What one acknowledgement did to one claim: `changed` is False when the claim was not submitted
    (already accepted, rejected or further on), and `text` says what happened in plain words."""

    claim_id: int
    claim_number: str
    status: str
    changed: bool
    text: str


ACKNOWLEDGEMENT_OUTCOMES = ("accepted", "rejected", "received")


def record_acknowledgement(
    *,
    actor: Actor,
    outcome: str,
    reason: str,
    source: str,
    claim_numbers: Sequence[str],
    submitted_file: str = "",
) -> list[AcknowledgedClaim]:
    """A clearinghouse or payer acknowledged the claims named by `claim_numbers` (277CA: one claim; 999:
    the claims of one batch, then `submitted_file` limits it to those still last submitted in that file).

    `accepted` moves a submitted claim to accepted, `rejected` to rejected (the reason, in plain words, on its
    timeline; the worklist's claim rule turns it into a follow-up task), `received` only notes the
    acknowledgement on the timeline. A claim that is no longer submitted is left as it is (an
    acknowledgement read twice changes nothing). One transaction; the audit rows inside it."""
    _organization_id(actor)
    if outcome not in ACKNOWLEDGEMENT_OUTCOMES:
        raise ValueError(f"Unknown acknowledgement outcome {outcome!r}.")
    if not claim_numbers:
        return []
    note = f"{source}: {reason}" if reason else source
    results: list[AcknowledgedClaim] = []
    with transaction.atomic():
        rows = (
            claim_queryset(actor).select_for_update(of=("self",)).filter(claim_number__in=list(claim_numbers))
        )
        if submitted_file:
            rows = rows.filter(submitted_file=submitted_file)
        for claim in rows.order_by("pk"):
            if claim.status != ClaimStatus.SUBMITTED:
                results.append(
                    AcknowledgedClaim(
                        claim.pk,
                        claim.claim_number,
                        claim.status,
                        False,
                        f"is {claim.get_status_display().lower()}; left as it is",
                    )
                )
                continue
            if outcome == "received":
                ClaimEvent.objects.create(
                    claim=claim,
                    from_status=claim.status,
                    to_status=claim.status,
                    actor_name=actor.username or "system",
                    note=note[:500],
                )
                audit.record(
                    actor=actor,
                    action=AuditAction.CLAIM_UPDATE,
                    patient_id=claim.patient_id,
                    obj=claim,
                    detail={"acknowledgement": source[:200]},
                )
                results.append(AcknowledgedClaim(claim.pk, claim.claim_number, claim.status, True, "noted"))
                continue
            target = ClaimStatus.ACCEPTED if outcome == "accepted" else ClaimStatus.REJECTED
            _move(actor, claim, target, note)
            claim.save(update_fields=["status", "updated_at"])
            results.append(
                AcknowledgedClaim(claim.pk, claim.claim_number, claim.status, True, f"now {outcome}")
            )
    return results


def scrub_claim(*, actor: Actor, claim_id: Any) -> Claim:
    """Run the scrubber on a draft claim again and keep its findings (empty: it may be marked ready).
    Only a draft is scrubbed: a claim past it has left the biller's hands."""
    _organization_id(actor)
    with transaction.atomic():
        claim = _locked_claim(actor, claim_id)
        if claim.status != ClaimStatus.DRAFT:
            raise ClaimBlocked(
                f"Only a draft claim is scrubbed; this one is {claim.get_status_display().lower()}.",
                field="status",
            )
        claim.scrub_problems = rules.scrub(claim_facts(claim))
        claim.save(update_fields=["scrub_problems", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.CLAIM_SCRUBBED,
            patient_id=claim.patient_id,
            obj=claim,
            detail={"problems": len(claim.scrub_problems)},
        )
    return claim


def set_claim_diagnoses(*, actor: Actor, claim_id: Any, codes: Sequence[str]) -> Claim:
    """Replace a draft (or ready) claim's diagnoses, in order, checked as charge entry checks them; every
    line must still point at one of them. The claim is scrubbed again; a ready claim the scrubber now
    blocks goes back to draft. A claim past ready has left the biller's hands."""
    _organization_id(actor)
    diagnoses = _clean_diagnoses(codes)
    with transaction.atomic():
        claim = _locked_claim(actor, claim_id)
        if claim.status not in (ClaimStatus.DRAFT, ClaimStatus.READY):
            raise ClaimBlocked(
                "Only a draft or ready claim's diagnoses are changed; "
                f"this one is {claim.get_status_display().lower()}.",
                field="status",
            )
        for line in claim.lines.all():
            if any(p > len(diagnoses) for p in line.pointers):
                raise InvalidCharges(
                    f"Line {line.position} points at diagnosis {max(line.pointers)}; "
                    f"the claim would carry only {len(diagnoses)}.",
                    field="diagnoses",
                )
        before = list(claim.diagnoses.values_list("code", flat=True))
        claim.diagnoses.all().delete()
        ClaimDiagnosis.objects.bulk_create(
            [ClaimDiagnosis(claim=claim, position=i, code=c) for i, c in enumerate(diagnoses, start=1)]
        )
        claim.scrub_problems = rules.scrub(claim_facts(claim))
        if claim.status == ClaimStatus.READY and claim.scrub_problems:
            _move(actor, claim, ClaimStatus.DRAFT, "Diagnoses changed; the scrubber found problems")
        claim.save(update_fields=["status", "scrub_problems", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.CLAIM_UPDATE,
            patient_id=claim.patient_id,
            obj=claim,
            detail={"diagnoses_before": before, "diagnoses": diagnoses},
        )
    return claim
