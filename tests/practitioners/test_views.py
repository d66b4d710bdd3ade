"""Practitioner pages as people use them: search (full page and htmx fragment), detail, add, edit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.practitioners.models import Practitioner

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(client_as, admin_user):
    return client_as(admin_user)


def _form(**overrides):
    data = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "credentials": "MD",
        "npi": "1558598797",
        "specialty": "neurology",
        "phone": "555-0100",
        "email": "",
    }
    data.update(overrides)
    return data


def test_list_shows_the_organizations_practitioners_only(
    client_as, make_user, org, admin_actor, other_admin_actor, add_practitioner
):
    add_practitioner(admin_actor, "Jane", "Smith")
    add_practitioner(other_admin_actor, "Hidden", "Elsewhere")
    response = client_as(make_user(Role.FRONT_DESK, org)).get(reverse("practitioners:list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Smith, Jane" in body
    assert "Elsewhere" not in body
    assert "Add practitioner" not in body  # front desk may look, not edit


def test_live_search_returns_the_results_fragment(admin_client, admin_actor, add_practitioner):
    add_practitioner(admin_actor, "Jane", "Smith")
    add_practitioner(admin_actor, "Bob", "Jones")
    response = admin_client.get(reverse("practitioners:list"), {"q": "smi"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="practitioner-results"' in body
    assert "Smith, Jane" in body
    assert "Jones" not in body


def test_search_by_npi_and_pagination(admin_client, admin_actor, add_practitioner, settings):
    settings.CAREDESK_PAGE_SIZE = 2
    for family in ["Able", "Baker", "Cole"]:
        add_practitioner(admin_actor, "Pat", family)
    add_practitioner(admin_actor, "Jo", "Npi", npi="1234567893")
    first = admin_client.get(reverse("practitioners:list")).content.decode()
    assert "Able" in first
    assert "Baker" in first
    assert "Cole" not in first
    assert "page=2" in first
    second = admin_client.get(reverse("practitioners:list"), {"page": 2}).content.decode()
    assert "Cole" in second
    assert "Able" not in second
    by_npi = admin_client.get(reverse("practitioners:list"), {"q": "1234567893"}).content.decode()
    assert "Npi, Jo" in by_npi
    assert "Able" not in by_npi


def test_bad_search_input_is_a_400_not_a_500(admin_client):
    response = admin_client.get(reverse("practitioners:list"), {"page": "abc", "location": "999999"})
    assert response.status_code == 400
    assert "The search could not run" in response.content.decode()


def test_detail_shows_the_practitioner(admin_client, admin_actor, add_practitioner, org):
    clinic = Location.objects.get(organization=org)
    practitioner = add_practitioner(admin_actor, "Jane", "Smith", location_ids=[clinic.pk])
    response = admin_client.get(reverse("practitioners:detail", args=[practitioner.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert practitioner.npi in body
    assert "Riverside Main Clinic" in body
    assert "Edit" in body


def test_another_organizations_practitioner_is_404_on_every_page(
    client_as, make_user, other_org, admin_actor, add_practitioner
):
    practitioner = add_practitioner(admin_actor, "Jane", "Smith")
    stranger = client_as(make_user(Role.ADMINISTRATOR, other_org))
    assert stranger.get(reverse("practitioners:detail", args=[practitioner.pk])).status_code == 404
    assert stranger.get(reverse("practitioners:edit", args=[practitioner.pk])).status_code == 404
    response = stranger.post(reverse("practitioners:edit", args=[practitioner.pk]), _form())
    assert response.status_code == 404
    practitioner.refresh_from_db()
    assert practitioner.family_name == "Smith"


def test_create_page_adds_a_practitioner(admin_client, org):
    clinic = Location.objects.get(organization=org)
    assert admin_client.get(reverse("practitioners:create")).status_code == 200
    response = admin_client.post(reverse("practitioners:create"), _form(locations=[clinic.pk]))
    practitioner = Practitioner.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("practitioners:detail", args=[practitioner.pk])
    assert practitioner.organization == org
    assert list(practitioner.locations.all()) == [clinic]
    assert AuditEvent.objects.filter(action=AuditAction.PRACTITIONER_CREATE).count() == 1


def test_bad_npi_is_shown_on_the_field_and_nothing_is_saved(admin_client):
    response = admin_client.post(reverse("practitioners:create"), _form(npi="1234567890"))
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-testid="error-npi"' in body
    assert "NPI 1234567890 fails its check digit." in body
    assert 'value="Lovelace"' in body  # what was typed is kept
    assert not Practitioner.objects.exists()
    assert not AuditEvent.objects.exists()


def test_duplicate_npi_is_a_409_on_the_field(admin_client, admin_actor, add_practitioner):
    add_practitioner(admin_actor, "Jane", "Smith", npi="1558598797")
    response = admin_client.post(reverse("practitioners:create"), _form())
    assert response.status_code == 409
    assert "already belongs to another practitioner" in response.content.decode()
    assert Practitioner.objects.count() == 1


def test_missing_fields_are_a_400(admin_client):
    response = admin_client.post(reverse("practitioners:create"), _form(given_name="", specialty="astrology"))
    assert response.status_code == 400
    assert not Practitioner.objects.exists()


def test_location_of_another_organization_cannot_be_chosen(admin_client, other_org):
    foreign = Location.objects.get(organization=other_org)
    response = admin_client.post(reverse("practitioners:create"), _form(locations=[foreign.pk]))
    assert response.status_code == 400
    assert not Practitioner.objects.exists()


def test_edit_page_saves_changes(admin_client, admin_actor, add_practitioner):
    practitioner = add_practitioner(admin_actor, "Jane", "Smith")
    page = admin_client.get(reverse("practitioners:edit", args=[practitioner.pk]))
    assert page.status_code == 200
    assert 'value="Smith"' in page.content.decode()
    response = admin_client.post(
        reverse("practitioners:edit", args=[practitioner.pk]),
        _form(
            given_name="Jane", family_name="Smith-Jones", npi=practitioner.npi, specialty="family_medicine"
        ),
    )
    assert response.status_code == 302
    practitioner.refresh_from_db()
    assert practitioner.family_name == "Smith-Jones"
    assert practitioner.active is False  # the box was not ticked
    event = AuditEvent.objects.get(action=AuditAction.PRACTITIONER_UPDATE)
    assert event.detail["changed"]["family_name"] == {"from": "Smith", "to": "Smith-Jones"}


def test_edit_with_bad_npi_is_400_and_changes_nothing(admin_client, admin_actor, add_practitioner):
    practitioner = add_practitioner(admin_actor, "Jane", "Smith")
    response = admin_client.post(
        reverse("practitioners:edit", args=[practitioner.pk]), _form(npi="0123456789", active="on")
    )
    assert response.status_code == 400
    assert "An NPI is 10 digits and starts with 1 or 2." in response.content.decode()
    practitioner.refresh_from_db()
    assert practitioner.family_name == "Smith"


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.FRONT_DESK, Role.BILLING, Role.NURSE])
def test_non_editors_get_403_on_create_and_edit(
    role, client_as, make_user, org, admin_actor, add_practitioner
):
    practitioner = add_practitioner(admin_actor, "Jane", "Smith")
    client = client_as(make_user(role, org))
    assert client.get(reverse("practitioners:list")).status_code == 200
    assert client.get(reverse("practitioners:create")).status_code == 403
    assert client.post(reverse("practitioners:create"), _form()).status_code == 403
    assert client.post(reverse("practitioners:edit", args=[practitioner.pk]), _form()).status_code == 403
    assert Practitioner.objects.count() == 1


def test_anonymous_is_sent_to_sign_in_and_a_user_without_organization_is_refused(
    client, client_as, make_user
):
    response = client.get(reverse("practitioners:list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    nobody = make_user(Role.COORDINATOR, None)  # no organization: no permissions at all
    assert client_as(nobody).get(reverse("practitioners:list")).status_code == 403
