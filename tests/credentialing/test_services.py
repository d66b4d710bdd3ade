"""Credentialing use cases on a real database: validation changes nothing, expiry notices come once per
threshold, the check gives reasons and alternatives, the committee approves only a finished checklist."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Conflict
from caredesk.credentialing import services
from caredesk.credentialing.errors import ChecklistIncomplete, InvalidCredential
from caredesk.credentialing.models import Privilege, StateLicense
from caredesk.worklist.choices import TaskQueue, TaskStatus, TaskType
from caredesk.worklist.models import Task
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import NOW

from .conftest import license_for

TODAY = NOW.date()


def _check(creds, practitioner, state="NJ", code="video-follow-up", **kwargs):
    return services.check_practitioner(
        actor=creds.coordinator,
        practitioner_id=practitioner.pk,
        service_code=code,
        location_id=creds.clinic.location.pk,
        service_state=state,
        on_date=TODAY,
        **kwargs,
    )


def test_unknown_state_or_expiry_before_issue_is_refused_and_changes_nothing(credentialed) -> None:
    before = StateLicense.objects.count()
    with pytest.raises(InvalidCredential) as unknown:
        license_for(
            credentialed.coordinator, credentialed.clinic.heart.pk, "XX", "1", "2020-01-01", "2030-01-01"
        )
    assert unknown.value.field == "state"
    assert "not a US state" in unknown.value.message
    with pytest.raises(InvalidCredential) as backwards:
        license_for(
            credentialed.coordinator, credentialed.clinic.heart.pk, "PA", "1", "2030-01-01", "2029-01-01"
        )
    assert backwards.value.field == "expires_on"
    assert "must be after the issue date" in backwards.value.message
    assert StateLicense.objects.count() == before


def test_the_database_refuses_an_expiry_before_the_issue_date(credentialed) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        StateLicense.objects.create(
            organization=credentialed.clinic.org,
            practitioner=credentialed.clinic.heart,
            state="PA",
            number="X",
            issued_on=dt.date(2030, 1, 1),
            expires_on=dt.date(2029, 1, 1),
        )


def test_one_active_privilege_per_practitioner_location_and_service(credentialed) -> None:
    clinic = credentialed.clinic
    with pytest.raises(Conflict):
        services.request_privilege(
            actor=credentialed.coordinator,
            practitioner_id=clinic.heart.pk,
            data=services.PrivilegeInput(
                location_id=clinic.location.pk, service_code="follow-up", status="granted"
            ),
        )
    # A suspended one no longer counts as active: a provisional grant may take its place.
    privilege = Privilege.objects.get(practitioner=clinic.heart, service_code="follow-up")
    services.suspend_privilege(
        actor=credentialed.coordinator, privilege_id=privilege.pk, reason="Peer review"
    )
    services.request_privilege(
        actor=credentialed.coordinator,
        practitioner_id=clinic.heart.pk,
        data=services.PrivilegeInput(
            location_id=clinic.location.pk, service_code="follow-up", status="provisional"
        ),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Privilege.objects.create(
            organization=clinic.org,
            practitioner=clinic.heart,
            location=clinic.location,
            service_code="follow-up",
            status="granted",
            requested_on=TODAY,
        )


def test_check_gives_reasons_in_plain_words_and_practitioners_who_would_pass(credentialed) -> None:
    clinic = credentialed.clinic
    result = _check(credentialed, clinic.heart)
    assert not result.ok
    assert result.reasons == [
        "Cora Heart, MD's New Jersey license 25MA0001 expired on 2027-01-31 and has not been renewed."
    ]
    assert [(a.id, a.name) for a in result.alternatives] == [(clinic.family.pk, "Finn Family, MD")]
    assert _check(credentialed, clinic.family).ok
    assert _check(credentialed, clinic.heart, state="NY").ok
    no_privilege = _check(credentialed, clinic.heart, state="NY", code="echo")
    assert no_privilege.reasons == ["Cora Heart, MD has no privilege for echo at Riverside Main Clinic."]
    needs_dea = _check(credentialed, clinic.family, state="NY", controlled_substance=True)
    assert needs_dea.reasons == [
        "Finn Family, MD has no DEA registration in New York (needed for controlled substances)."
    ]


def test_renewing_an_expired_license_makes_the_practitioner_pass_again(credentialed) -> None:
    clinic = credentialed.clinic
    with pytest.raises(InvalidCredential):
        services.renew_credential(
            actor=credentialed.coordinator,
            kind="license",
            credential_id=credentialed.heart_nj.pk,
            expires_on="2027-01-01",
        )
    services.renew_credential(
        actor=credentialed.coordinator,
        kind="license",
        credential_id=credentialed.heart_nj.pk,
        expires_on="2029-01-31",
    )
    assert _check(credentialed, clinic.heart).ok
    services.retire_credential(
        actor=credentialed.coordinator, kind="license", credential_id=credentialed.heart_nj.pk, reason="Moved"
    )
    assert _check(credentialed, clinic.heart).reasons == [
        "Cora Heart, MD's New Jersey license 25MA0001 is retired."
    ]
    codes = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.CREDENTIAL_UPDATE, AuditAction.CREDENTIAL_STATUS_CHANGED} <= codes


def test_expiry_notices_at_90_60_and_30_days_each_once(credentialed, cred_now) -> None:
    coordinator = credentialed.coordinator
    expiring = license_for(
        coordinator, credentialed.clinic.family.pk, "CT", "CT-9", "2020-01-01", "2027-05-31"
    )
    run = services.create_expiry_tasks(actor=coordinator)
    # 91 days ahead: nothing yet for it; the NJ license that lapsed in January gets its last notice.
    assert run.created == 1
    assert not Task.objects.filter(source_id=str(expiring.pk)).exists()
    lapsed = Task.objects.get(source_id=str(credentialed.heart_nj.pk))
    assert "expired on 2027-01-31" in lapsed.title
    seen: list[str] = []
    for day in (
        dt.date(2027, 3, 2),
        dt.date(2027, 3, 3),
        dt.date(2027, 4, 1),
        dt.date(2027, 5, 1),
        dt.date(2027, 5, 2),
    ):
        cred_now(NOW.replace(month=day.month, day=day.day))
        services.create_expiry_tasks(actor=coordinator)
        services.create_expiry_tasks(actor=coordinator)  # twice: nothing new
        seen = list(
            Task.objects.filter(source_type="credentialing.license", source_id=str(expiring.pk))
            .order_by("pk")
            .values_list("dedupe_key", flat=True)
        )
    assert [key.rsplit(":", 1)[1] for key in seen] == ["90", "60", "30"]
    task = Task.objects.filter(source_id=str(expiring.pk)).order_by("pk").last()
    assert task is not None
    assert task.queue == TaskQueue.MEDICAL_STAFF
    assert task.task_type == TaskType.CREDENTIAL_EXPIRING
    assert "CT license CT-9 expires 2027-05-31 (in 30 days)" in task.title
    # Renewal closes the open notices of the old date.
    services.renew_credential(
        actor=coordinator, kind="license", credential_id=expiring.pk, expires_on="2029-05-31"
    )
    statuses = set(Task.objects.filter(source_id=str(expiring.pk)).values_list("status", flat=True))
    assert statuses == {TaskStatus.DONE}


def test_the_committee_approves_only_a_finished_checklist(credentialed, cred_now) -> None:
    coordinator = credentialed.coordinator
    admin = staff_actor(credentialed.clinic.org, Role.ADMINISTRATOR)
    application = services.open_application(actor=coordinator, practitioner_id=credentialed.clinic.heart.pk)
    with pytest.raises(ChecklistIncomplete) as incomplete:
        services.approve_application(actor=admin, application_id=application.pk)
    assert "State licensing board" in incomplete.value.message
    for kind in ("license_board", "dea", "board_certification", "sanctions"):
        services.record_verification(
            actor=coordinator, application_id=application.pk, kind=kind, outcome="verified"
        )
    with pytest.raises(InvalidCredential):
        services.record_verification(
            actor=coordinator, application_id=application.pk, kind="references", outcome="problem"
        )
    services.record_verification(
        actor=coordinator,
        application_id=application.pk,
        kind="references",
        outcome="verified",
        note="3 letters",
    )
    with pytest.raises(PermissionDenied):
        services.approve_application(actor=coordinator, application_id=application.pk)
    approved = services.approve_application(
        actor=admin, application_id=application.pk, note="Committee 2027-03"
    )
    assert approved.status == "approved"
    assert approved.recredential_due_on == dt.date(2030, 3, 1)
    verification = approved.verifications.get(kind="references")
    assert verification.verified_by_name
    assert verification.verified_at is not None
