"""Coverage use cases against a real database: what the front desk sees when they add, change and end
a coverage, and what the database refuses whatever the Python says."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Forbidden
from caredesk.coverage import selectors, services
from caredesk.coverage.errors import (
    CoverageEnded,
    CoverageNotFound,
    DuplicatePayer,
    InvalidCoverage,
    OrderTaken,
    PlanNotFound,
    StaleVersion,
)
from caredesk.coverage.models import Coverage, Payer
from caredesk.coverage.schemas import CoverageInput
from caredesk.patients.errors import PatientNotFound
from caredesk.patients.services import merge_patients
from tests.patients.factories import make_patient, staff_actor


def test_add_coverage_records_it_with_an_audit_row(clinic):
    coverage = clinic.coverage()
    assert coverage.status == "active"
    assert coverage.order == 1
    event = AuditEvent.objects.get(action=AuditAction.COVERAGE_CREATE)
    assert event.patient_id == clinic.patient.pk
    assert event.detail["after"]["member_id"] == "W123456789"


def test_second_primary_is_refused_and_nothing_saved(clinic):
    clinic.coverage()
    with pytest.raises(OrderTaken, match="already has an active primary"):
        clinic.coverage(member_id="OTHER1")
    assert Coverage.objects.count() == 1


def test_secondary_and_tertiary_sit_beside_the_primary(clinic):
    clinic.coverage()
    clinic.coverage(order=2, plan_id=clinic.drop_plan.pk, member_id="B2")
    clinic.coverage(order=3, member_id="C3")
    overview = selectors.coverage_overview(actor=clinic.coordinator, patient_id=clinic.patient.pk)
    assert [row.coverage.order for row in overview.active] == [1, 2, 3]


def test_database_refuses_two_active_primaries(clinic):
    first = clinic.coverage()
    with pytest.raises(IntegrityError), transaction.atomic():
        Coverage.objects.create(
            organization=clinic.org,
            patient_id=first.patient_id,
            plan=first.plan,
            member_id="RAW",
            effective_from=dt.date(2024, 1, 1),
        )


def test_ended_coverage_frees_its_order(clinic):
    first = clinic.coverage()
    ended = services.end_coverage(
        actor=clinic.front_desk, coverage_id=first.pk, end_date=dt.date(2025, 12, 31), reason="New job"
    )
    assert ended.status == "ended"
    assert ended.effective_to == dt.date(2025, 12, 31)
    replacement = clinic.coverage(member_id="NEW1", effective_from=dt.date(2026, 1, 1))
    assert replacement.order == 1
    with pytest.raises(CoverageEnded):
        services.end_coverage(actor=clinic.front_desk, coverage_id=first.pk, end_date=dt.date(2026, 1, 1))
    assert AuditEvent.objects.filter(action=AuditAction.COVERAGE_STATUS_CHANGED).count() == 1


def test_end_before_start_is_refused(clinic):
    coverage = clinic.coverage()
    with pytest.raises(InvalidCoverage, match="cannot end before"):
        services.end_coverage(actor=clinic.front_desk, coverage_id=coverage.pk, end_date=dt.date(2023, 1, 1))
    coverage.refresh_from_db()
    assert coverage.status == "active"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"member_id": ""}, "member_id", "Member ID is required"),
        ({"member_id": "AB*12~"}, "member_id", "letters, digits"),
        ({"relationship": "child"}, "subscriber_given_name", "given name is required"),
        ({"effective_to": dt.date(2023, 1, 1)}, "effective_to", "cannot end before it starts"),
        ({"order": 4}, "order", "primary, secondary or tertiary"),
    ],
)
def test_bad_coverage_input_names_the_field_and_saves_nothing(clinic, fields, field, message):
    with pytest.raises(InvalidCoverage, match=message) as caught:
        clinic.coverage(**fields)
    assert caught.value.field == field
    assert Coverage.objects.count() == 0
    assert not AuditEvent.objects.filter(action=AuditAction.COVERAGE_CREATE).exists()


def test_plan_of_another_organization_is_not_offered(clinic, other_org):
    billing = staff_actor(other_org, Role.BILLING)
    payer = services.create_payer(actor=billing, name="Elsewhere", payer_id="X1")
    plan = services.create_plan(actor=billing, payer_id=payer.pk, name="Elsewhere plan")
    with pytest.raises(PlanNotFound):
        clinic.coverage(plan_id=plan.pk)


def test_dependent_coverage_keeps_the_subscriber(clinic):
    coverage = clinic.coverage(
        relationship="child",
        subscriber_given_name="Ingrid",
        subscriber_family_name="Lindqvist",
        subscriber_birth_date=dt.date(1960, 2, 3),
    )
    assert coverage.subscriber_given_name == "Ingrid"


def test_update_with_a_stale_version_changes_nothing(clinic):
    coverage = clinic.coverage()
    data = CoverageInput(
        plan_id=clinic.instant_plan.pk,
        member_id="CHANGED",
        group_number="GRP-42",
        effective_from=dt.date(2024, 1, 1),
    )
    updated = services.update_coverage(
        actor=clinic.front_desk, coverage_id=coverage.pk, data=data, expected_version=1
    )
    assert updated.member_id == "CHANGED"
    assert updated.version == 2
    with pytest.raises(StaleVersion):
        services.update_coverage(
            actor=clinic.front_desk,
            coverage_id=coverage.pk,
            data=CoverageInput(
                plan_id=clinic.instant_plan.pk, member_id="LOST", effective_from=dt.date(2024, 1, 1)
            ),
            expected_version=1,
        )
    coverage.refresh_from_db()
    assert coverage.member_id == "CHANGED"
    event = AuditEvent.objects.get(action=AuditAction.COVERAGE_UPDATE)
    assert event.detail["changed"] == ["member_id"]


def test_coordinator_sees_but_cannot_change(clinic):
    clinic.coverage()
    overview = selectors.coverage_overview(actor=clinic.coordinator, patient_id=clinic.patient.pk)
    assert len(overview.active) == 1
    assert AuditEvent.objects.filter(action=AuditAction.COVERAGE_VIEW, patient_id=clinic.patient.pk).exists()
    with pytest.raises(Forbidden):
        services.add_coverage(
            actor=clinic.coordinator,
            patient_id=clinic.patient.pk,
            data=CoverageInput(
                plan_id=clinic.instant_plan.pk, member_id="X", effective_from=dt.date(2024, 1, 1)
            ),
        )


def test_another_organization_cannot_reach_the_coverage(clinic, other_org):
    coverage = clinic.coverage()
    stranger = staff_actor(other_org, Role.FRONT_DESK)
    with pytest.raises(CoverageNotFound):
        selectors.get_coverage(actor=stranger, coverage_id=coverage.pk)
    with pytest.raises(CoverageNotFound):
        services.end_coverage(actor=stranger, coverage_id=coverage.pk, end_date=dt.date(2026, 1, 1))
    with pytest.raises(PatientNotFound):
        services.add_coverage(
            actor=stranger,
            patient_id=clinic.patient.pk,
            data=CoverageInput(
                plan_id=clinic.instant_plan.pk, member_id="X", effective_from=dt.date(2024, 1, 1)
            ),
        )


def test_payer_ids_are_unique_per_organization(clinic, other_org):
    with pytest.raises(DuplicatePayer):
        services.create_payer(actor=clinic.billing, name="Acme again", payer_id="60054")
    assert Payer.objects.filter(organization=clinic.org, payer_id="60054").count() == 1
    elsewhere = services.create_payer(
        actor=staff_actor(other_org, Role.BILLING), name="Acme", payer_id="60054"
    )
    assert elsewhere.organization_id == other_org.pk


def test_plan_copay_is_decimal_and_validated(clinic):
    assert clinic.instant_plan.copay == Decimal("30.00")
    with pytest.raises(InvalidCoverage, match="two decimal places"):
        services.create_plan(
            actor=clinic.billing, payer_id=clinic.instant_payer.pk, name="Odd", copay="1.005"
        )
    with pytest.raises(InvalidCoverage):
        services.create_plan(actor=clinic.billing, payer_id=clinic.instant_payer.pk, name="Neg", copay="-5")


def test_front_desk_cannot_add_payers(clinic):
    with pytest.raises(Forbidden):
        services.create_payer(actor=clinic.front_desk, name="Nope", payer_id="N1")


def test_patient_of_other_family_keeps_their_own_coverages(clinic):
    sibling = make_patient(
        clinic.front_desk, given_name="Omar", family_name="Lindqvist", birth_date=dt.date(2001, 1, 1)
    )
    clinic.coverage()
    clinic.coverage(patient=sibling, member_id="S1")
    assert Coverage.objects.filter(patient=sibling).count() == 1


def test_merge_moves_coverages_to_the_surviving_record(clinic):
    duplicate = make_patient(
        clinic.front_desk, given_name="Maia", family_name="Lindqvist", birth_date=dt.date(1984, 6, 2)
    )
    clinic.coverage()  # the survivor's primary
    clinic.coverage(patient=duplicate, member_id="DUP1")  # primary too: moves to secondary
    clinic.coverage(patient=duplicate, member_id="DUP2", order=2)  # takes tertiary
    clinic.coverage(patient=duplicate, member_id="DUP3", order=3)  # no order left: ended, kept
    merge_patients(
        actor=clinic.coordinator, source_id=duplicate.pk, target_id=clinic.patient.pk, reason="same person"
    )
    rows = {c.member_id: (c.order, c.status) for c in Coverage.objects.filter(patient=clinic.patient)}
    assert rows == {
        "W123456789": (1, "active"),
        "DUP1": (2, "active"),
        "DUP2": (3, "active"),
        "DUP3": (3, "ended"),
    }


def test_bulk_import_checks_every_row_and_refuses_the_whole_file(clinic):
    second = make_patient(
        clinic.front_desk, given_name="Omar", family_name="Haddad", birth_date=dt.date(1990, 3, 4)
    )
    plan = clinic.instant_plan.pk
    good = CoverageInput(plan_id=plan, member_id="B1", effective_from=dt.date(2024, 1, 1))
    with pytest.raises(OrderTaken, match="Row 3"):
        services.import_coverages(
            actor=clinic.front_desk,
            rows=[(clinic.patient.pk, good), (second.pk, good), (second.pk, good)],
        )
    with pytest.raises(InvalidCoverage, match="Row 2: Member ID"):
        services.import_coverages(
            actor=clinic.front_desk,
            rows=[
                (clinic.patient.pk, good),
                (second.pk, CoverageInput(plan_id=plan, member_id="", effective_from=dt.date(2024, 1, 1))),
            ],
        )
    assert not Coverage.objects.exists()
    created = services.import_coverages(
        actor=clinic.front_desk, rows=[(clinic.patient.pk, good), (second.pk, good)]
    )
    assert len(created) == 2
    assert AuditEvent.objects.filter(action=AuditAction.COVERAGE_CREATE).count() == 2
