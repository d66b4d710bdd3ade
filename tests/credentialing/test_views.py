"""Credentialing pages as a medical-staff coordinator sees them."""

from __future__ import annotations

import csv
import io

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.credentialing import services
from caredesk.credentialing.models import Privilege, StateLicense

from .conftest import license_for


def test_the_credential_file_shows_a_lapsed_license_and_the_privileges(
    credentialed, make_user, client_as
) -> None:
    clinic = credentialed.clinic
    client = client_as(make_user(Role.COORDINATOR, clinic.org))
    page = client.get(f"/credentialing/practitioners/{clinic.heart.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Expired 2027-01-31" in html
    assert "Not bookable where these lapsed, until renewed: NJ license 25MA0001." in html
    assert "Follow-up (video or in person)" in html
    index = client.get("/credentialing/")
    assert "Credentialing" in index.content.decode()
    assert "checked against licenses" in index.content.decode()


def test_adding_a_license_with_bad_input_says_why_and_changes_nothing(
    credentialed, make_user, client_as
) -> None:
    clinic = credentialed.clinic
    client = client_as(make_user(Role.COORDINATOR, clinic.org))
    url = f"/credentialing/practitioners/{clinic.family.pk}/licenses/new/"
    assert client.get(url).status_code == 200
    before = StateLicense.objects.count()
    unknown = client.post(
        url,
        {
            "state": "ZZ",
            "number": "1",
            "license_type": "medical",
            "issued_on": "2020-01-01",
            "expires_on": "2030-01-01",
        },
    )
    assert unknown.status_code == 400
    assert "&#x27;ZZ&#x27; is not a US state or territory code" in unknown.content.decode()
    backwards = client.post(
        url,
        {
            "state": "PA",
            "number": "1",
            "license_type": "medical",
            "issued_on": "2030-01-01",
            "expires_on": "2029-01-01",
        },
    )
    assert backwards.status_code == 400
    assert "must be after the issue date" in backwards.content.decode()
    assert StateLicense.objects.count() == before
    ok = client.post(
        url,
        {
            "state": "pa",
            "number": "PA-77",
            "license_type": "medical",
            "issued_on": "2020-01-01",
            "expires_on": "2030-01-01",
        },
    )
    assert ok.status_code == 302
    assert StateLicense.objects.filter(practitioner=clinic.family, state="PA").exists()


def test_renewing_from_the_form(credentialed, make_user, client_as) -> None:
    clinic = credentialed.clinic
    client = client_as(make_user(Role.COORDINATOR, clinic.org))
    url = f"/credentialing/credentials/license/{credentialed.heart_nj.pk}/renew/"
    assert client.post(url, {"expires_on": "2026-01-01"}).status_code == 400
    assert client.post(url, {"expires_on": "2029-01-31", "number": "25MA0001"}).status_code == 302
    credentialed.heart_nj.refresh_from_db()
    assert str(credentialed.heart_nj.expires_on) == "2029-01-31"


def test_expiring_report_chart_and_csv(credentialed, make_user, client_as) -> None:
    clinic = credentialed.clinic
    license_for(
        credentialed.coordinator, clinic.family.pk, "CT", "CT-45", "2020-01-01", "2027-04-15"
    )  # 45 days
    client = client_as(make_user(Role.COORDINATOR, clinic.org))
    page = client.get("/credentialing/reports/expiring/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="chart-months"' in html
    assert "CT license CT-45" in html
    assert "<td>45</td>" in html
    assert 'data-value="1"' in html
    exported = client.get("/credentialing/reports/expiring.csv?days=90")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][0] == "practitioner_id"
    assert rows[1][1:] == ["Finn Family, MD", "State license", "CT license CT-45", "2027-04-15", "45"]
    assert client.get("/credentialing/reports/expiring/?days=0").status_code == 400
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REPORT_EXPORT).exists()


def test_blocked_services_report_names_the_reasons(credentialed, make_user, client_as) -> None:
    clinic = credentialed.clinic
    privilege = Privilege.objects.get(practitioner=clinic.family, service_code=clinic.follow_up.code)
    services.suspend_privilege(
        actor=credentialed.coordinator, privilege_id=privilege.pk, reason="Chart review"
    )
    client = client_as(make_user(Role.COORDINATOR, clinic.org))
    html = client.get("/credentialing/reports/blocked/").content.decode()
    assert (
        "Finn Family, MD&#x27;s privilege for Follow-up visit at Riverside Main Clinic is suspended." in html
    )
    exported = client.get("/credentialing/reports/blocked.csv").content.decode()
    assert "is suspended" in exported


def test_other_roles_and_organizations(credentialed, make_user, client_as, other_org) -> None:
    clinic = credentialed.clinic
    nurse = client_as(make_user(Role.NURSE, clinic.org))
    assert nurse.get("/credentialing/").status_code == 403
    stranger = client_as(make_user(Role.COORDINATOR, other_org))
    assert stranger.get(f"/credentialing/practitioners/{clinic.heart.pk}/").status_code == 404
    coordinator = client_as(make_user(Role.COORDINATOR, clinic.org))
    application = services.open_application(actor=credentialed.coordinator, practitioner_id=clinic.heart.pk)
    # The coordinator records verifications but the committee (administrators) approves.
    assert coordinator.post(f"/credentialing/applications/{application.pk}/approve/", {}).status_code == 403
    admin = client_as(make_user(Role.ADMINISTRATOR, clinic.org))
    refused = admin.post(f"/credentialing/applications/{application.pk}/approve/", {})
    assert refused.status_code == 409
    assert "Not every primary-source verification is done" in refused.content.decode()
