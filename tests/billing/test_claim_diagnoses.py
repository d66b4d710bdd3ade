"""Changing a draft claim's diagnoses: the charge-captured claim (which has none, so the scrubber blocks
it) gets its codes from the biller, on the claim page; bad codes or a claim past ready change nothing."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.errors import ClaimBlocked, InvalidCharges
from caredesk.billing.models import Claim
from caredesk.core.errors import Forbidden
from tests.patients.factories import staff_actor

from .conftest import BillingClinic
from .test_charge_capture import complete
from .test_charge_capture import frozen_clock as frozen_clock  # the fixtures, for this module
from .test_charge_capture import visits as visits

pytestmark = pytest.mark.django_db


def _codes(claim: Claim) -> list[str]:
    return list(claim.diagnoses.order_by("position").values_list("code", flat=True))


def test_a_captured_claim_is_blocked_until_the_biller_adds_its_diagnosis(visits, frozen_clock, org) -> None:
    appointment = complete(visits, frozen_clock)
    claim = Claim.objects.get(appointment_id=appointment.pk)
    assert _codes(claim) == []
    assert claim.scrub_problems  # no diagnosis: the scrubber blocks it
    billing = staff_actor(org, Role.BILLING)

    changed = services.set_claim_diagnoses(actor=billing, claim_id=claim.pk, codes=["e11.9", "I10"])

    assert _codes(changed) == ["E11.9", "I10"]
    assert not any("diagnos" in p.lower() for p in changed.scrub_problems)
    event = AuditEvent.objects.filter(action=AuditAction.CLAIM_UPDATE, object_id=str(claim.pk)).get()
    assert event.detail["diagnoses"] == ["E11.9", "I10"]


def test_bad_codes_change_nothing(clinic: BillingClinic) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    for codes, field_text in ((["E11.9", "NOPE"], ""), ([], "at least one"), (["I10", "I10"], "twice")):
        with pytest.raises(InvalidCharges) as refused:
            services.set_claim_diagnoses(actor=clinic.billing, claim_id=claim.pk, codes=codes)
        assert field_text in refused.value.message
        assert refused.value.http_status == 400
    # Line 1 points at diagnoses 1 and 2: one code is not enough.
    with pytest.raises(InvalidCharges, match="Line 1 points at diagnosis 2"):
        services.set_claim_diagnoses(actor=clinic.billing, claim_id=claim.pk, codes=["I10"])
    assert _codes(claim) == ["E11.9", "I10"]
    assert not AuditEvent.objects.filter(action=AuditAction.CLAIM_UPDATE).exists()


def test_only_draft_or_ready_claims_and_only_billers(clinic: BillingClinic) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    services.set_claim_diagnoses(actor=clinic.billing, claim_id=claim.pk, codes=["I10", "E11.9"])
    claim.refresh_from_db()
    assert (claim.status, _codes(claim)) == (ClaimStatus.READY, ["I10", "E11.9"])
    services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="batch.837")
    with pytest.raises(ClaimBlocked):
        services.set_claim_diagnoses(actor=clinic.billing, claim_id=claim.pk, codes=["E11.9", "I10"])
    assert _codes(claim) == ["I10", "E11.9"]
    with pytest.raises(Forbidden):
        services.set_claim_diagnoses(actor=clinic.coordinator, claim_id=claim.pk, codes=["E11.9", "I10"])


def test_the_claim_page_form(clinic: BillingClinic, make_user, client_as) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    web = client_as(make_user(Role.BILLING, clinic.org))
    page = web.get(f"/billing/claims/{claim.pk}/").content.decode()
    assert 'value="E11.9, I10"' in page
    saved = web.post(f"/billing/claims/{claim.pk}/diagnoses/", {"diagnoses": "j45.909; E11.9"})
    assert saved.status_code == 302
    assert _codes(claim) == ["J45.909", "E11.9"]
    refused = web.post(f"/billing/claims/{claim.pk}/diagnoses/", {"diagnoses": "E11.9, XYZ"})
    assert refused.status_code == 400
    assert "alert-danger" in refused.content.decode()
    assert _codes(claim) == ["J45.909", "E11.9"]
    reader = client_as(make_user(Role.COORDINATOR, clinic.org))
    assert "Save diagnoses" not in reader.get(f"/billing/claims/{claim.pk}/").content.decode()
    assert reader.post(f"/billing/claims/{claim.pk}/diagnoses/", {"diagnoses": "I10"}).status_code == 403
