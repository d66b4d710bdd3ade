"""The X12 import page (interop's, linked from the remittances page): a biller uploads an 835 and the
page says what it posted; a file that is not X12 answers 400 and posts nothing; readers may not import."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caredesk.accounts.permissions import Role
from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Remittance

from .conftest import BillingClinic
from .remittance_files import Paid, build_835

pytestmark = pytest.mark.django_db


def test_a_biller_uploads_an_835_and_sees_what_it_posted(clinic: BillingClinic, make_user, client_as) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="b.837")
    charge = sum((line.charge for line in claim.lines.all()), Decimal("0"))
    text = build_835([Paid(claim.claim_number, charge, charge)])
    web = client_as(make_user(Role.BILLING, clinic.org))
    assert 'type="file"' in web.get("/interop/x12/import/").content.decode()

    bad = web.post("/interop/x12/import/", {"file": SimpleUploadedFile("x.835", b"hello")})
    assert bad.status_code == 400
    assert "does not start with an ISA segment" in bad.content.decode()
    assert not Remittance.objects.exists()
    assert web.post("/interop/x12/import/", {}).status_code == 400

    done = web.post("/interop/x12/import/", {"file": SimpleUploadedFile("era.835", text.encode())})
    assert done.status_code == 200
    assert "1 paid" in done.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert services.claim_balance(actor=clinic.billing, claim_id=claim.pk).balance == Decimal("0.00")
    again = web.post("/interop/x12/import/", {"file": SimpleUploadedFile("era.835", text.encode())})
    assert "nothing changed" in again.content.decode()
    assert Remittance.objects.count() == 1

    reader = client_as(make_user(Role.COORDINATOR, clinic.org))
    assert reader.get("/interop/x12/import/").status_code == 403
