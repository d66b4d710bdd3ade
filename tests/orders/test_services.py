"""Placing orders through the services: the credential and prior-authorization checks, what a refusal
says and who would pass, the administrator's override, the status lifecycle, and bad input that changes
nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.coverage import services as coverage_services
from caredesk.coverage.models import Coverage
from caredesk.coverage.schemas import CoverageInput
from caredesk.credentialing.models import CredentialOverride
from caredesk.orders import services
from caredesk.orders.errors import InvalidOrder, InvalidTransition, OrderCheckFailed
from caredesk.orders.models import Order, OrderEvent
from tests.patients.factories import staff_actor

from .conftest import INJECTION, MRI, Ordering

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return Order.objects.count(), OrderEvent.objects.count(), AuditEvent.objects.count()


def test_an_order_that_passes_the_checks_is_placed_with_its_history(ordering) -> None:
    order = ordering.order()
    assert order.status == "active"
    assert order.placed_at is not None
    assert order.diagnoses == [{"code": "M54.50", "description": order.diagnoses[0]["description"]}]
    assert "back pain" in order.diagnoses[0]["description"].lower()
    assert [(e.kind, e.from_status, e.to_status) for e in order.events.all()] == [
        ("created", "", "draft"),
        ("placed", "draft", "active"),
    ]
    actions = list(
        AuditEvent.objects.filter(patient_id=ordering.ny_patient.pk, action__in=[2202, 2203])
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [AuditAction.ORDER_CREATE, AuditAction.ORDER_STATUS_CHANGED]


def test_telehealth_checks_the_license_of_the_patients_state_and_names_who_would_pass(ordering) -> None:
    before = _counts()
    with pytest.raises(OrderCheckFailed) as refused:
        ordering.order(patient_id=ordering.nj_patient.pk, telehealth=True)
    error = refused.value
    assert error.http_status == 409
    assert "New Jersey license 25MA0001 expired on 2027-01-31" in error.message
    assert "Who could order it: Finn Family, MD." in error.message
    assert error.details["alternatives"] == [{"id": ordering.clinic.family.pk, "name": "Finn Family, MD"}]
    assert _counts() == before
    # In person at the New York clinic the same practitioner passes: the facility's state counts.
    assert ordering.order(patient_id=ordering.nj_patient.pk, telehealth=False).status == "active"


def test_an_expired_license_where_the_service_happens_blocks(ordering) -> None:
    ordering.creds.heart_ny.expires_on = dt.date(2027, 2, 1)
    ordering.creds.heart_ny.save()
    with pytest.raises(OrderCheckFailed) as refused:
        ordering.order()
    assert any("New York license" in r for r in refused.value.details["reasons"])
    assert refused.value.details["alternatives"] == [
        {"id": ordering.clinic.family.pk, "name": "Finn Family, MD"}
    ]
    assert not Order.objects.exists()


def test_a_controlled_substance_needs_a_dea_registration(ordering) -> None:
    values = {"kind": "procedure", "code": INJECTION, "code_display": "Epidural injection"}
    with pytest.raises(OrderCheckFailed) as refused:
        ordering.order(controlled_substance=True, **values)
    assert any("DEA" in r for r in refused.value.details["reasons"])
    assert [a["name"] for a in refused.value.details["alternatives"]] == ["Finn Family, MD"]
    assert ordering.order(controlled_substance=False, **values).status == "active"
    passed = ordering.order(controlled_substance=True, practitioner_id=ordering.clinic.family.pk, **values)
    assert passed.status == "active"


def test_no_privilege_for_the_service_blocks(ordering) -> None:
    with pytest.raises(OrderCheckFailed) as refused:
        ordering.order(code="70551", code_display="MRI brain")
    assert any("privilege" in r.lower() for r in refused.value.details["reasons"])
    assert refused.value.details["alternatives"] == []
    assert "No other practitioner here would pass." in refused.value.message


def _payer_requires_mri_authorization(ordering: Ordering) -> Coverage:
    admin = ordering.admin
    payer = coverage_services.create_payer(actor=admin, name="Empire Health", payer_id="EMP01")
    plan = coverage_services.create_plan(actor=admin, payer_id=payer.pk, name="Empire PPO")
    coverage = coverage_services.add_coverage(
        actor=admin,
        patient_id=ordering.ny_patient.pk,
        data=CoverageInput(plan_id=plan.pk, member_id="EMP123456", effective_from=dt.date(2026, 1, 1)),
    )
    coverage_services.add_authorization_rule(
        actor=admin, payer_id=payer.pk, service_code=MRI, description="MRI lumbar spine"
    )
    return coverage


def test_a_missing_prior_authorization_blocks_and_an_approved_one_is_recorded(ordering) -> None:
    coverage = _payer_requires_mri_authorization(ordering)
    before = _counts()
    with pytest.raises(OrderCheckFailed) as refused:
        ordering.order()
    assert refused.value.details["authorization_needed"] is True
    assert "Empire Health" in refused.value.message
    assert refused.value.details["alternatives"] == []  # the practitioner was not the problem
    assert _counts() == before

    auth = coverage_services.request_authorization(
        actor=ordering.admin, coverage_id=coverage.pk, service_code=MRI, units_requested=1
    )
    coverage_services.record_authorization_approval(
        actor=ordering.admin,
        authorization_id=auth.pk,
        auth_number="PA-778",
        units_authorized=1,
        valid_from=dt.date(2027, 2, 15),
        valid_to=dt.date(2027, 5, 15),
    )
    order = ordering.order()
    assert order.status == "active"
    assert order.authorization_id == auth.pk


def test_an_administrator_overrides_with_a_recorded_reason(ordering) -> None:
    with pytest.raises(OrderCheckFailed):
        ordering.order(patient_id=ordering.nj_patient.pk, telehealth=True)
    order = ordering.order(
        ordering.admin,
        patient_id=ordering.nj_patient.pk,
        telehealth=True,
        override_reason="Renewal filed with the NJ board; confirmed by phone",
    )
    assert order.status == "active"
    assert order.override_reason == "Renewal filed with the NJ board; confirmed by phone"
    assert any("25MA0001" in r for r in order.override_reasons)
    assert order.events.filter(kind="overridden").count() == 1
    audit = AuditEvent.objects.get(action=AuditAction.ORDER_OVERRIDE_CREATE)
    assert audit.patient_id == ordering.nj_patient.pk
    assert audit.detail["reason"].startswith("Renewal filed")
    # The credential override is also kept where credentialing reports it.
    kept = CredentialOverride.objects.get()
    assert (kept.practitioner_id, kept.patient_id, kept.service_state) == (
        ordering.clinic.heart.pk,
        ordering.nj_patient.pk,
        "NJ",
    )


def test_a_non_administrator_cannot_override(ordering) -> None:
    before = _counts()
    with pytest.raises(OrderCheckFailed) as refused:
        ordering.order(patient_id=ordering.nj_patient.pk, telehealth=True, override_reason="Urgent")
    assert "Only an administrator" in refused.value.message
    assert _counts() == before
    draft = ordering.order(patient_id=ordering.nj_patient.pk, telehealth=True, place=False)
    with pytest.raises(PermissionDenied):
        services.override_order(actor=ordering.physician, order_id=draft.pk, reason="Urgent")
    draft.refresh_from_db()
    assert draft.status == "draft"
    placed = services.override_order(actor=ordering.admin, order_id=draft.pk, reason="Covering physician")
    assert placed.status == "active"
    assert placed.override_by_name == ordering.admin.username


def test_a_draft_is_placed_later_through_the_checks(ordering) -> None:
    draft = ordering.order(place=False)
    assert draft.status == "draft"
    assert draft.placed_at is None
    placed = services.place_order(actor=ordering.nurse, order_id=draft.pk, version=draft.version)
    assert placed.status == "active"
    with pytest.raises(InvalidTransition):
        services.place_order(actor=ordering.nurse, order_id=draft.pk)


def test_the_status_lifecycle_records_results_and_reasons(ordering) -> None:
    order = ordering.order()
    services.change_status(actor=ordering.nurse, order_id=order.pk, status="in_progress")
    with pytest.raises(InvalidOrder, match="result"):
        services.change_status(actor=ordering.nurse, order_id=order.pk, status="completed")
    done = services.change_status(
        actor=ordering.nurse, order_id=order.pk, status="completed", note="Mild L4-L5 disc bulge."
    )
    assert (done.status, done.result) == ("completed", "Mild L4-L5 disc bulge.")
    assert done.completed_at is not None
    with pytest.raises(InvalidTransition):
        services.change_status(actor=ordering.nurse, order_id=order.pk, status="revoked", note="x")
    assert [e.to_status for e in done.events.all()] == ["draft", "active", "in_progress", "completed"]

    other = ordering.order()
    with pytest.raises(InvalidOrder, match="why"):
        services.change_status(actor=ordering.nurse, order_id=other.pk, status="revoked")
    revoked = services.change_status(
        actor=ordering.nurse, order_id=other.pk, status="revoked", note="Patient declined the MRI"
    )
    assert revoked.status_reason == "Patient declined the MRI"
    draft = ordering.order(place=False)
    assert (
        services.change_status(
            actor=ordering.nurse, order_id=draft.pk, status="cancelled", note="Entered twice"
        ).status
        == "cancelled"
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"kind": "xray"}, "kind", "kind must be one of"),
        ({"patient_id": 999_999}, "patient_id", "No patient"),
        ({"practitioner_id": 999_999}, "practitioner_id", "No practitioner"),
        ({"location_id": 999_999}, "location_id", "No location"),
        ({"location_id": None}, "location_id", "required"),
        ({"code": ""}, "code", "required"),
        ({"code": "72 148!"}, "code", "letters, digits"),
        ({"diagnoses": ["M54.50", "Q99.99x"]}, "diagnoses", "Q99.99x"),
        ({"diagnoses": [], "reason": ""}, "reason", "reason"),
        ({"priority": "whenever"}, "priority", "priority"),
        ({"service_date": "2027-02-30"}, "service_date", "date"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(ordering, fields, field, words) -> None:
    before = _counts()
    with pytest.raises(InvalidOrder) as refused:
        ordering.order(**fields)
    assert refused.value.http_status == 400
    assert refused.value.field == field
    assert words.lower() in refused.value.message.lower()
    assert _counts() == before


def test_another_organizations_patient_is_unknown(ordering, other_org) -> None:
    stranger = staff_actor(other_org, Role.PHYSICIAN)
    with pytest.raises(InvalidOrder, match="No patient"):
        ordering.order(stranger, location_id=None)
    with pytest.raises(PermissionDenied):
        ordering.order(staff_actor(ordering.clinic.org, Role.COORDINATOR))
