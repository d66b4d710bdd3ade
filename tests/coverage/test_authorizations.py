"""Prior authorizations against a real database: which services need one, what the front desk is told
when it is missing, expired or used up, and that units are never used past what the payer allowed."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Forbidden
from caredesk.coverage import services
from caredesk.coverage.errors import (
    AuthorizationClosed,
    AuthorizationNotUsable,
    DuplicateAuthorizationRule,
    InvalidAuthorization,
)
from caredesk.coverage.models import AuthorizationUse, PriorAuthorization
from tests.patients.factories import audit_triggers_lifted, make_patient

DAY = dt.date(2026, 6, 15)


def _mri_rule(clinic, **kwargs):
    return services.add_authorization_rule(
        actor=clinic.billing,
        payer_id=clinic.instant_payer.pk,
        service_code="72148",
        description="MRI lumbar spine",
        **kwargs,
    )


def _approved(clinic, coverage, *, units=6, valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 12, 31)):
    auth = services.request_authorization(
        actor=clinic.front_desk, coverage_id=coverage.pk, service_code="72148", units_requested=units
    )
    return services.record_authorization_approval(
        actor=clinic.front_desk,
        authorization_id=auth.pk,
        auth_number="A123",
        units_authorized=units,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def _check(clinic, code="72148", on=DAY):
    return services.authorization_check(
        actor=clinic.front_desk, patient_id=clinic.patient.pk, service_code=code, on_date=on
    )


def test_service_without_a_rule_needs_nothing(clinic):
    clinic.coverage()
    _mri_rule(clinic)
    result = _check(clinic, code="99213")
    assert (result.needed, result.ok, result.reason) == (False, True, "")


def test_patient_without_coverage_needs_nothing(clinic):
    _mri_rule(clinic)
    assert _check(clinic).needed is False


def test_missing_authorization_is_named_for_the_front_desk(clinic):
    clinic.coverage()
    _mri_rule(clinic)
    result = _check(clinic)
    assert result.needed
    assert not result.ok
    assert result.reason == (
        "Acme Health requires prior authorization for 72148 (MRI lumbar spine); none is on file."
    )
    assert result.authorization_id is None
    event = AuditEvent.objects.get(action=AuditAction.AUTHORIZATION_CHECK)
    assert event.patient_id == clinic.patient.pk
    assert event.detail["ok"] is False


def test_rule_of_another_payer_does_not_apply(clinic):
    clinic.coverage(plan_id=clinic.drop_plan.pk)
    _mri_rule(clinic)
    assert _check(clinic).needed is False


def test_plan_rule_applies_only_to_that_plan(clinic):
    services.add_authorization_rule(
        actor=clinic.billing,
        payer_id=clinic.drop_payer.pk,
        plan_id=clinic.drop_plan.pk,
        service_code="mri-lumbar",
    )
    clinic.coverage(plan_id=clinic.drop_plan.pk)
    result = _check(clinic, code="MRI-LUMBAR")
    assert result.needed
    assert not result.ok
    assert result.reason == "Blue River requires prior authorization for mri-lumbar; none is on file."


def test_approved_authorization_in_its_dates_is_ok(clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    auth = _approved(clinic, coverage)
    result = _check(clinic)
    assert (result.needed, result.ok, result.reason, result.authorization_id) == (True, True, "", auth.pk)


def test_expired_authorization_is_named_with_its_end_date(clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    _approved(clinic, coverage, valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 5, 31))
    result = _check(clinic)
    assert not result.ok
    assert result.reason.endswith("Authorization A123 expired on 2026-05-31.")


def test_used_up_authorization_is_named(clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    auth = _approved(clinic, coverage, units=2)
    for _ in range(2):
        services.record_authorization_use(actor=clinic.front_desk, authorization_id=auth.pk, used_on=DAY)
    result = _check(clinic)
    assert not result.ok
    assert result.reason.endswith("Authorization A123's 2 units are used up.")
    with pytest.raises(AuthorizationNotUsable, match="used up"):
        services.record_authorization_use(actor=clinic.front_desk, authorization_id=auth.pk, used_on=DAY)
    assert PriorAuthorization.objects.get(pk=auth.pk).units_used == 2


def test_pending_and_denied_requests_are_not_enough(clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    auth = services.request_authorization(
        actor=clinic.front_desk, coverage_id=coverage.pk, service_code="72148"
    )
    assert auth.description == "MRI lumbar spine"  # taken from the rule
    assert "requested but not approved yet" in _check(clinic).reason
    services.deny_authorization(
        actor=clinic.front_desk, authorization_id=auth.pk, reason="Not medically necessary"
    )
    assert "was denied" in _check(clinic).reason
    with pytest.raises(AuthorizationClosed):
        services.record_authorization_approval(
            actor=clinic.front_desk,
            authorization_id=auth.pk,
            auth_number="A9",
            units_authorized=1,
            valid_from=DAY,
            valid_to=DAY,
        )


def test_use_outside_the_dates_is_refused_unless_overridden(clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    auth = _approved(clinic, coverage, units=1, valid_to=dt.date(2026, 3, 31))
    with pytest.raises(AuthorizationNotUsable, match="expired on 2026-03-31"):
        services.record_authorization_use(actor=clinic.front_desk, authorization_id=auth.pk, used_on=DAY)
    use = services.record_authorization_use(
        actor=clinic.front_desk,
        authorization_id=auth.pk,
        used_on=DAY,
        override_reason="Payer agreed by phone",
    )
    assert use.override_reason == "Payer agreed by phone"
    services.record_authorization_use(
        actor=clinic.front_desk,
        authorization_id=auth.pk,
        used_on=dt.date(2026, 3, 1),
        override_reason="Second scan, payer agreed",
    )
    auth.refresh_from_db()
    assert (auth.units_used, auth.units_over) == (2, 1)
    event = AuditEvent.objects.filter(action=AuditAction.AUTHORIZATION_USE).order_by("id").last()
    assert event.detail["override_reason"] == "Second scan, payer agreed"


def test_database_refuses_units_beyond_the_authorization(clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    auth = _approved(clinic, coverage, units=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        PriorAuthorization.objects.filter(pk=auth.pk).update(units_used=3)


def test_bad_input_is_refused_and_changes_nothing(clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    with pytest.raises(DuplicateAuthorizationRule):
        _mri_rule(clinic)
    with pytest.raises(InvalidAuthorization, match="service code"):
        services.request_authorization(
            actor=clinic.front_desk, coverage_id=coverage.pk, service_code="72 148"
        )
    auth = services.request_authorization(
        actor=clinic.front_desk, coverage_id=coverage.pk, service_code="72148"
    )
    with pytest.raises(InvalidAuthorization, match="cannot end before"):
        services.record_authorization_approval(
            actor=clinic.front_desk,
            authorization_id=auth.pk,
            auth_number="A1",
            units_authorized=3,
            valid_from=DAY,
            valid_to=DAY - dt.timedelta(days=1),
        )
    with pytest.raises(InvalidAuthorization, match="whole number"):
        services.record_authorization_approval(
            actor=clinic.front_desk,
            authorization_id=auth.pk,
            auth_number="A1",
            units_authorized="three",
            valid_from=DAY,
            valid_to=DAY,
        )
    with pytest.raises(Forbidden):
        services.request_authorization(
            actor=clinic.coordinator, coverage_id=coverage.pk, service_code="72148"
        )
    auth.refresh_from_db()
    assert auth.status == "requested"
    assert auth.auth_number == ""
    assert PriorAuthorization.objects.count() == 1


def test_cancelled_authorization_cannot_be_used(clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    auth = _approved(clinic, coverage)
    services.cancel_authorization(actor=clinic.front_desk, authorization_id=auth.pk, reason="Patient moved")
    with pytest.raises(AuthorizationNotUsable, match="cancelled"):
        services.record_authorization_use(actor=clinic.front_desk, authorization_id=auth.pk, used_on=DAY)
    assert "was cancelled" in _check(clinic).reason
    decisions = AuditEvent.objects.filter(action=AuditAction.AUTHORIZATION_DECISION)
    assert [e.detail["after"]["status"] for e in decisions.order_by("id")] == ["approved", "cancelled"]


def test_merge_moves_authorizations_to_the_survivor(clinic):
    from caredesk.patients.services import merge_patients

    coverage = clinic.coverage()
    _mri_rule(clinic)
    auth = _approved(clinic, coverage)
    survivor = make_patient(clinic.front_desk, given_name="Maya", family_name="Lindqvist-Berg")
    merge_patients(
        actor=_admin(clinic), source_id=clinic.patient.pk, target_id=survivor.pk, reason="Same person"
    )
    assert PriorAuthorization.objects.get(pk=auth.pk).patient_id == survivor.pk


def _admin(clinic):
    from caredesk.accounts.permissions import Role
    from tests.patients.factories import staff_actor

    return staff_actor(clinic.org, Role.ADMINISTRATOR)


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.mark.usefixtures("_flushable_audit_table")
def test_concurrent_uses_never_exceed_the_authorized_units(transactional_db, clinic):
    coverage = clinic.coverage()
    _mri_rule(clinic)
    auth = _approved(clinic, coverage, units=5)
    threads_count, tries = 6, 3
    used: list[int] = []
    refused: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads_count)

    def clerk() -> None:
        try:
            barrier.wait()
            for _ in range(tries):
                try:
                    use = services.record_authorization_use(
                        actor=clinic.front_desk, authorization_id=auth.pk, used_on=DAY
                    )
                except AuthorizationNotUsable as exc:
                    with lock:
                        refused.append(exc.message)
                except BaseException as exc:
                    with lock:
                        unexpected.append(exc)
                else:
                    with lock:
                        used.append(use.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert len(used) == 5
    assert len(refused) == threads_count * tries - 5
    assert all("used up" in message for message in refused)
    auth.refresh_from_db()
    assert auth.units_used == 5
    assert AuthorizationUse.objects.filter(authorization=auth).count() == 5
