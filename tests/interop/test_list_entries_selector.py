"""`patients.selectors.list_entries`, the chart-list selector the JSON API and FHIR read through (added
for interop; tested here because interop is its caller)."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.patients import selectors, services
from caredesk.patients.errors import PatientNotFound
from tests.patients.factories import portal_user_for

from .conftest import audit_rows

pytestmark = pytest.mark.django_db


def test_current_entries_newest_first_paged_and_audited(coordinator_actor, patient):
    for code in ("I10", "E11.9", "J45.909"):
        services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code=code)
    retracted = services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="R51.9")
    services.retract_entry(
        actor=coordinator_actor, entry_type="problem", entry_id=retracted.pk, reason="wrong chart"
    )
    page = selectors.list_entries(
        actor=coordinator_actor, patient_id=patient.pk, entry_type="problem", page_size=2
    )
    assert [p.icd10_code for p in page.results] == ["J45.909", "E11.9"]
    assert page.has_next
    rest = selectors.list_entries(
        actor=coordinator_actor, patient_id=patient.pk, entry_type="problem", page=2, page_size=2
    )
    assert [p.icd10_code for p in rest.results] == ["I10"]
    assert not rest.has_next
    rows = audit_rows(AuditAction.CLINICAL_VIEW, patient_id=patient.pk)
    assert [r.detail["entry_ids"] for r in rows] == [
        [p.pk for p in page.results],
        [p.pk for p in rest.results],
    ]


def test_scope_and_permission(make_user, org, actor_of, other_patient, patient, coordinator_actor):
    with pytest.raises(PatientNotFound):
        selectors.list_entries(actor=coordinator_actor, patient_id=other_patient.pk, entry_type="allergy")
    with pytest.raises(Forbidden):
        selectors.list_entries(
            actor=actor_of(make_user(Role.FRONT_DESK, org)), patient_id=patient.pk, entry_type="allergy"
        )
    with pytest.raises(ValidationFailed):
        selectors.list_entries(actor=coordinator_actor, patient_id=patient.pk, entry_type="note")
    portal = actor_of(portal_user_for(patient))
    assert selectors.list_entries(actor=portal, patient_id=patient.pk, entry_type="allergy").results == []
    with pytest.raises(PatientNotFound):
        selectors.list_entries(actor=portal, patient_id=other_patient.pk, entry_type="allergy")
