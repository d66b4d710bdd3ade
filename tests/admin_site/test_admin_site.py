"""The Django admin: administrators with a verified second factor only; their own organization only;
patient data, practitioners, API tokens and the audit trail read-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from caredesk.accounts.models import ApiToken, Location, User
from caredesk.accounts.permissions import Permission, Role
from caredesk.accounts.services import create_api_token
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.audit.services import record
from caredesk.patients.models import Patient
from caredesk.practitioners.services import PractitionerInput, create_practitioner


@pytest.fixture
def admin_user(make_user, org) -> User:
    return make_user(Role.ADMINISTRATOR, org, username="boss")


@pytest.fixture
def admin_client(client_as, admin_user):
    return client_as(admin_user)


def _patient(org, mrn: str) -> Patient:
    # Created directly: the admin only lists patients; registration is the patients app's use case.
    return Patient.objects.create(
        organization=org,
        mrn=mrn,
        given_name="Ann",
        family_name="Lee",
        birth_date=dt.date(1980, 1, 2),
        sex="female",
        family_key="lee",
        given_key="ann",
    )


def test_verified_administrator_reaches_the_index(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    body = response.content.decode()
    for section in ["Users", "Locations", "Practitioners", "Patients", "Audit events", "Api tokens"]:
        assert section in body


@pytest.mark.parametrize(
    "role", [Role.COORDINATOR, Role.FRONT_DESK, Role.BILLING, Role.NURSE, Role.PHYSICIAN]
)
def test_every_other_role_gets_403(client_as, make_user, org, role):
    client = client_as(make_user(role, org))
    assert client.get(reverse("admin:index")).status_code == 403
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:login")).status_code == 403


def test_portal_user_gets_403(client_as, make_user, org):
    portal = make_user(Role.PATIENT, org, patient=_patient(org, "RSH1"))
    assert client_as(portal).get(reverse("admin:index")).status_code == 403


def test_django_staff_flags_do_not_open_the_admin(client_as, make_user, org):
    coordinator = make_user(Role.COORDINATOR, org)
    coordinator.is_staff = coordinator.is_superuser = True
    coordinator.save()
    assert client_as(coordinator).get(reverse("admin:index")).status_code == 403


def test_administrator_without_a_verified_second_factor_is_kept_out(client, make_user, org, settings):
    administrator = make_user(Role.ADMINISTRATOR, org)
    client.force_login(administrator)  # password only, no second factor in this session
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/")
    TOTPDevice.objects.create(user=administrator, name="phone", confirmed=True)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:otp_verify"))
    # Even if the middleware let it through, the site itself asks for the verified factor.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("TwoFactorRequiredMiddleware")]
    fresh = Client()  # a client loads its middleware once
    fresh.force_login(administrator)
    assert fresh.get(reverse("admin:index")).status_code == 403


def test_administrator_without_organization_is_kept_out(client_as, make_user):
    assert client_as(make_user(Role.ADMINISTRATOR, None)).get(reverse("admin:index")).status_code == 403


def test_anonymous_is_sent_to_caredesk_sign_in(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "next=/admin/" in response["Location"]


def test_users_of_other_organizations_are_invisible(admin_client, make_user, org, other_org):
    make_user(Role.NURSE, org, username="ournurse")
    stranger = make_user(Role.NURSE, other_org, username="theirnurse")
    body = admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "ournurse" in body
    assert "theirnurse" not in body
    response = admin_client.get(reverse("admin:accounts_user_change", args=[stranger.pk]))
    assert response.status_code == 302  # Django's "no such object" answer: back to the index
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[stranger.pk]), {"username": "hijacked", "role": "nurse"}
    )
    stranger.refresh_from_db()
    assert stranger.username == "theirnurse"


def test_administrator_adds_a_user_to_their_own_organization(admin_client, org, other_org):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newnurse",
            "usable_password": "true",
            "password1": "a-long-enough-passphrase-42",
            "password2": "a-long-enough-passphrase-42",
            "organization": other_org.pk,  # the field is fixed to the administrator's organization
            "role": Role.NURSE,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = User.objects.get(username="newnurse")
    assert created.organization == org
    assert created.role == Role.NURSE
    event = AuditEvent.objects.get(action=AuditAction.USER_ROLE_CHANGED)
    assert event.detail == {"username": "newnurse", "from": None, "to": "nurse", "via": "admin"}


def test_role_change_is_audited(admin_client, make_user, org):
    nurse = make_user(Role.NURSE, org, username="nurse1")
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[nurse.pk]),
        {
            "username": "nurse1",
            "first_name": "N",
            "last_name": "T",
            "email": "",
            "role": Role.COORDINATOR,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    nurse.refresh_from_db()
    assert nurse.role == Role.COORDINATOR
    event = AuditEvent.objects.get(action=AuditAction.USER_ROLE_CHANGED)
    assert (event.detail["from"], event.detail["to"]) == ("nurse", "coordinator")
    assert event.actor_username == "boss"


def test_portal_role_needs_a_patient_link(admin_client, make_user, org):
    nurse = make_user(Role.NURSE, org, username="nurse2")
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[nurse.pk]),
        {"username": "nurse2", "role": Role.PATIENT, "is_active": "on"},
    )
    assert response.status_code == 200
    assert "must be linked to their patient record" in response.content.decode()
    nurse.refresh_from_db()
    assert nurse.role == Role.NURSE


def test_patient_link_cannot_point_into_another_organization(admin_client, make_user, org, other_org):
    foreign_patient = _patient(other_org, "HMG1")
    nurse = make_user(Role.NURSE, org, username="nurse3")
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[nurse.pk]),
        {"username": "nurse3", "role": Role.PATIENT, "patient": foreign_patient.pk, "is_active": "on"},
    )
    assert response.status_code == 200
    nurse.refresh_from_db()
    assert nurse.patient_id is None


def test_locations_are_added_to_the_own_organization_and_duplicates_are_a_form_error(admin_client, org):
    data = {"name": "East Clinic", "kind": "clinic", "timezone": "America/Chicago"}
    assert admin_client.post(reverse("admin:accounts_location_add"), data).status_code == 302
    assert Location.objects.get(name="East Clinic").organization == org
    response = admin_client.post(reverse("admin:accounts_location_add"), data)
    assert response.status_code == 200
    assert Location.objects.filter(name="East Clinic").count() == 1
    bad_zone = admin_client.post(
        reverse("admin:accounts_location_add"), {**data, "name": "W", "timezone": "Mars/Base"}
    )
    assert bad_zone.status_code == 200
    assert not Location.objects.filter(name="W").exists()


def test_organization_page_shows_only_own_organization(admin_client, org, other_org):
    body = admin_client.get(reverse("admin:accounts_organization_changelist")).content.decode()
    assert org.name in body
    assert other_org.name not in body
    assert admin_client.get(reverse("admin:accounts_organization_add")).status_code == 403


def test_audit_events_are_read_only_and_scoped(admin_client, admin_user, make_user, other_org, actor_of):
    ours = record(actor=actor_of(admin_user), action=AuditAction.PATIENT_SEARCH, detail={"q": "x"})
    theirs = record(
        actor=actor_of(make_user(Role.NURSE, other_org, username="far")), action=AuditAction.LOGIN
    )
    listing = admin_client.get(reverse("admin:audit_auditevent_changelist"))
    assert listing.status_code == 200
    assert "far" not in listing.content.decode()
    assert admin_client.get(reverse("admin:audit_auditevent_change", args=[ours.pk])).status_code == 200
    assert admin_client.get(reverse("admin:audit_auditevent_change", args=[theirs.pk])).status_code == 302
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert admin_client.post(reverse("admin:audit_auditevent_change", args=[ours.pk]), {}).status_code == 403
    assert admin_client.get(reverse("admin:audit_auditevent_delete", args=[ours.pk])).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:audit_auditevent_delete", args=[ours.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=ours.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.AUDIT_VIEW, actor_username="boss").count() == 2


def test_patients_are_read_only_searchable_by_mrn_and_reads_are_audited(admin_client, org, other_org):
    ours = _patient(org, "RSH000777")
    _patient(other_org, "HMG000777")
    listing = admin_client.get(reverse("admin:patients_patient_changelist"), {"q": "RSH000777"})
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "RSH000777" in body
    assert "HMG000777" not in body
    search = AuditEvent.objects.get(action=AuditAction.PATIENT_SEARCH)
    assert search.detail["ids"] == [ours.pk]
    assert search.detail["q"] == "RSH000777"
    assert admin_client.get(reverse("admin:patients_patient_change", args=[ours.pk])).status_code == 200
    assert AuditEvent.objects.get(action=AuditAction.PATIENT_VIEW).patient_id == ours.pk
    response = admin_client.post(
        reverse("admin:patients_patient_change", args=[ours.pk]), {"given_name": "Eve"}
    )
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:patients_patient_add")).status_code == 403
    ours.refresh_from_db()
    assert ours.given_name == "Ann"


def test_practitioners_are_read_only_in_the_admin(admin_client, admin_user, actor_of):
    practitioner = create_practitioner(
        actor=actor_of(admin_user),
        data=PractitionerInput(
            given_name="Jane", family_name="Smith", npi="1234567893", specialty="cardiology"
        ),
    )
    assert (
        "Smith" in admin_client.get(reverse("admin:practitioners_practitioner_changelist")).content.decode()
    )
    assert admin_client.get(reverse("admin:practitioners_practitioner_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:practitioners_practitioner_change", args=[practitioner.pk]), {"npi": "1234567890"}
    )
    assert response.status_code == 403
    practitioner.refresh_from_db()
    assert practitioner.npi == "1234567893"


def test_api_tokens_are_listed_without_their_hash(admin_client, admin_user, actor_of):
    token, secret = create_api_token(actor=actor_of(admin_user), username=admin_user.username, name="feed")
    listing = admin_client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert token.prefix in listing
    detail = admin_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk])).content.decode()
    assert token.token_hash not in detail
    assert secret not in detail
    assert (
        admin_client.post(reverse("admin:accounts_apitoken_change", args=[token.pk]), {}).status_code == 403
    )
    assert ApiToken.objects.get().token_hash == token.token_hash


def test_every_admin_url_declares_a_permission():
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            else:
                yield pattern

    admin_resolver = next(p for p in get_resolver().url_patterns if str(p.pattern) == "admin/")
    views = list(walk(admin_resolver.url_patterns))
    assert views
    for pattern in views:
        declared = pattern.callback.required_permission
        if pattern.name == "login":
            assert declared is None
            assert pattern.callback.is_public
        else:
            assert declared == Permission.ADMIN_SITE, pattern
