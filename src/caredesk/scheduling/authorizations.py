"""Prior authorizations at booking: the coverage app says whether the visit type needs one and whether
it is on file; a booking still goes through without it, but the desk sees a warning and the front desk
gets a worklist task per appointment (closed when an approval is recorded).

Scheduling sits above coverage and the worklist in the layers, so it calls their services; coverage tells
scheduling about approvals through `coverage.services.register_authorization_hook` (registered in
`SchedulingConfig.ready`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db.models import Model

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.core.errors import DomainError
from caredesk.coverage import services as coverage
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType

from . import selectors
from .choices import AppointmentStatus
from .hooks import FulfilledVisit
from .models import Appointment, VisitType

logger = logging.getLogger(__name__)

# Appointments still to happen, whose missing authorization is worth a task.
_OPEN = (AppointmentStatus.PROPOSED, AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
_ACTOR_PERMISSIONS = frozenset(
    str(p) for p in (Permission.TASK_WORK, Permission.TASK_ALL_QUEUES, Permission.PATIENT_VIEW)
)
_USE_PERMISSIONS = frozenset(
    str(p) for p in (Permission.COVERAGE_VIEW, Permission.COVERAGE_MANAGE, Permission.PATIENT_VIEW)
)


def task_key(appointment_id: int) -> str:
    return f"scheduling:prior-auth:{appointment_id}"


def _task_actor(actor: Actor, organization_id: int) -> Actor:
    """The worklist is the front desk's whoever booked (a coordinator may not put tasks in another
    queue), so the task is created for the booking by the check itself."""
    return system_actor(
        organization_id=organization_id,
        permissions=_ACTOR_PERMISSIONS,
        channel=actor.channel,
        username="prior-authorization check",
    )


def _checker(actor: Actor, organization_id: int) -> Actor:
    """Staff who may read coverage check as themselves (their audit rows); for a patient, or a link
    without a signed-in user, the check reads the coverage as the system."""
    if (
        not actor.is_portal
        and actor.organization_id == organization_id
        and actor.has(Permission.COVERAGE_VIEW)
    ):
        return actor
    return system_actor(
        organization_id=organization_id,
        permissions=_USE_PERMISSIONS,
        channel=actor.channel,
        username="prior-authorization check",
    )


def check_booked(actor: Actor, appointments: Iterable[Appointment]) -> list[str]:
    """After a booking: the warnings to show (one per distinct reason), and a worklist task per
    appointment that needs an authorization it does not have. Never refuses the booking: a check that
    cannot be made is logged and skipped.

    Whoever booked (the desk, the API, a patient answering a waitlist offer or booking in the portal), the
    check itself reads the coverage: a patient gets no warnings (the front desk gets the task)."""
    warnings: list[str] = []
    for appointment in appointments:
        try:
            local = appointment.starts_at.astimezone(selectors.zone_of(appointment.location))
            result = coverage.authorization_check(
                actor=_checker(actor, appointment.organization_id),
                patient_id=appointment.patient_id,
                service_code=appointment.visit_type.code,
                on_date=local.date(),
            )
            if not result.needed or result.ok:
                continue
            if result.reason not in warnings and not actor.is_portal:
                warnings.append(result.reason)
            worklist.create_task(
                actor=_task_actor(actor, appointment.organization_id),
                data=worklist.NewTask(
                    title=f"Prior authorization: {appointment.visit_type.name} {local:%Y-%m-%d %H:%M}",
                    description=(
                        f"{result.reason} Get the authorization before the visit on {local:%Y-%m-%d %H:%M} "
                        f"at {appointment.location.name}, and record it on the patient's insurance page."
                    ),
                    queue=TaskQueue.FRONT_DESK,
                    task_type=TaskType.PRIOR_AUTHORIZATION,
                    patient_id=appointment.patient_id,
                    priority=TaskPriority.HIGH,
                    source_type="scheduling.appointment",
                    source_id=str(appointment.pk),
                    dedupe_key=task_key(appointment.pk),
                ),
            )
        except DomainError:
            logger.exception("Prior-authorization check of appointment %s failed", appointment.pk)
    return warnings


def close_tasks_on_approval(actor: Actor, authorization: Model) -> None:
    """coverage hook (inside the approval's transaction): the tasks of the patient's appointments still
    to happen whose visit type is the authorized service are done, when the authorization now covers
    their date."""
    patient_id = getattr(authorization, "patient_id", None)
    code = str(getattr(authorization, "service_code", ""))
    organization_id = getattr(authorization, "organization_id", None)
    if patient_id is None or organization_id is None or not code:
        return
    appointments = list(
        Appointment.objects.filter(
            organization_id=organization_id,
            patient_id=patient_id,
            visit_type__code__iexact=code,
            status__in=_OPEN,
        ).select_related("location")
    )
    keys = []
    for appointment in appointments:
        day = appointment.starts_at.astimezone(selectors.zone_of(appointment.location)).date()
        result = coverage.authorization_check(
            actor=actor, patient_id=patient_id, service_code=code, on_date=day
        )
        if result.ok:
            keys.append(task_key(appointment.pk))
    if keys:
        worklist.close_tasks_by_keys(
            actor=_task_actor(actor, organization_id),
            dedupe_keys=keys,
            status=TaskStatus.DONE,
            reason=f"Authorization {getattr(authorization, 'auth_number', '')} recorded.",
        )


def use_on_fulfilment(actor: Actor, visit: FulfilledVisit) -> None:
    """Fulfilled hook (inside the transaction that fulfils the appointment): a visit that needed an
    authorization uses one unit of the one on file. A visit that took place is never refused for want
    of one; it simply uses none (the booking warned and queued a task)."""
    code = VisitType.objects.filter(pk=visit.visit_type_id).values_list("code", flat=True).first()
    appointment = Appointment.objects.select_related("location").filter(pk=visit.appointment_id).first()
    if not code or appointment is None:
        return
    checker = system_actor(
        organization_id=visit.organization_id,
        permissions=_USE_PERMISSIONS,
        channel=actor.channel,
        username="prior-authorization check",
    )
    try:
        day = appointment.starts_at.astimezone(selectors.zone_of(appointment.location)).date()
        result = coverage.authorization_check(
            actor=checker, patient_id=visit.patient_id, service_code=code, on_date=day
        )
        if result.needed and result.ok and result.authorization_id is not None:
            coverage.record_authorization_use(
                actor=checker,
                authorization_id=result.authorization_id,
                used_on=day,
                reference=f"appointment {visit.appointment_id}",
            )
    except DomainError:
        logger.exception("Prior-authorization use of appointment %s failed", visit.appointment_id)
