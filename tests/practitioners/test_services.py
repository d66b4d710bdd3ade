"""Practitioner use cases against the real database: validation, duplicates, scope, audit rows."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.practitioners.errors import (
    DuplicateNpi,
    InvalidLocation,
    InvalidNpi,
    InvalidSpecialty,
    InvalidUserLink,
    PractitionerNotFound,
    UserAlreadyLinked,
)
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.selectors import (
    PractitionerQuery,
    get_practitioner,
    practitioner_queryset,
    search_practitioners,
)
from caredesk.practitioners.services import PractitionerInput, create_practitioner, update_practitioner

from .conftest import valid_npi


def _input(**overrides) -> PractitionerInput:
    values = {"given_name": "Zoë", "family_name": "O'Brien", "npi": "1234567893", "specialty": "cardiology"}
    values.update(overrides)
    return PractitionerInput(**values)


def test_create_saves_keys_locations_and_an_audit_row(admin_actor, org):
    clinic = Location.objects.get(organization=org)
    practitioner = create_practitioner(
        actor=admin_actor, data=_input(location_ids=[clinic.pk], credentials=" MD ", email="zoe@example.org")
    )
    practitioner.refresh_from_db()
    assert practitioner.organization_id == org.pk
    assert practitioner.family_key == "obrien"
    assert practitioner.given_key == "zoe"
    assert practitioner.credentials == "MD"
    assert list(practitioner.locations.all()) == [clinic]
    event = AuditEvent.objects.get(action=AuditAction.PRACTITIONER_CREATE)
    assert event.object_id == str(practitioner.pk)
    assert event.organization_id == org.pk
    assert event.actor_username == "boss"
    assert event.patient_id is None
    assert event.detail["npi"] == "1234567893"


def test_invalid_npi_is_refused_with_its_reason_and_nothing_is_saved(admin_actor):
    with pytest.raises(InvalidNpi) as caught:
        create_practitioner(actor=admin_actor, data=_input(npi="1234567890"))
    assert caught.value.message == "NPI 1234567890 fails its check digit."
    assert caught.value.http_status == 400
    assert caught.value.field == "npi"
    assert not Practitioner.objects.exists()
    assert not AuditEvent.objects.exists()


def test_duplicate_npi_in_the_same_organization_is_a_conflict(admin_actor):
    create_practitioner(actor=admin_actor, data=_input())
    with pytest.raises(DuplicateNpi) as caught:
        create_practitioner(actor=admin_actor, data=_input(given_name="Other"))
    assert caught.value.http_status == 409
    assert Practitioner.objects.count() == 1


def test_the_same_npi_may_exist_in_another_organization(admin_actor, other_admin_actor):
    create_practitioner(actor=admin_actor, data=_input())
    create_practitioner(actor=other_admin_actor, data=_input())
    assert Practitioner.objects.filter(npi="1234567893").count() == 2


def test_unknown_specialty_is_refused(admin_actor):
    with pytest.raises(InvalidSpecialty):
        create_practitioner(actor=admin_actor, data=_input(specialty="astrology"))
    assert not Practitioner.objects.exists()


def test_location_of_another_organization_is_refused(admin_actor, other_org):
    foreign = Location.objects.get(organization=other_org)
    with pytest.raises(InvalidLocation):
        create_practitioner(actor=admin_actor, data=_input(location_ids=[foreign.pk]))
    assert not Practitioner.objects.exists()


def test_user_link_must_be_a_staff_user_of_the_organization_and_not_taken(
    admin_actor, make_user, org, other_org
):
    physician = make_user(Role.PHYSICIAN, org)
    stranger = make_user(Role.PHYSICIAN, other_org)
    with pytest.raises(InvalidUserLink):
        create_practitioner(actor=admin_actor, data=_input(user_id=stranger.pk))
    first = create_practitioner(actor=admin_actor, data=_input(user_id=physician.pk))
    assert first.user == physician
    with pytest.raises(UserAlreadyLinked):
        create_practitioner(actor=admin_actor, data=_input(npi="1558598797", user_id=physician.pk))


@pytest.mark.parametrize("field", ["given_name", "family_name"])
def test_names_are_required(admin_actor, field):
    with pytest.raises(Exception, match="required") as caught:
        create_practitioner(actor=admin_actor, data=_input(**{field: "  "}))
    assert getattr(caught.value, "field", None) == field


def test_bad_email_is_refused(admin_actor):
    with pytest.raises(Exception, match="not a valid e-mail"):
        create_practitioner(actor=admin_actor, data=_input(email="not-an-address"))


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.FRONT_DESK, Role.PHYSICIAN, Role.BILLING])
def test_only_editors_may_create_or_update(role, make_user, org, actor_of, admin_actor):
    actor = actor_of(make_user(role, org))
    with pytest.raises(PermissionDenied):
        create_practitioner(actor=actor, data=_input())
    existing = create_practitioner(actor=admin_actor, data=_input())
    with pytest.raises(PermissionDenied):
        update_practitioner(actor=actor, practitioner_id=existing.pk, changes={"phone": "555"})
    existing.refresh_from_db()
    assert existing.phone == ""


def test_update_records_before_and_after_of_changed_fields(admin_actor, org):
    clinic = Location.objects.get(organization=org)
    practitioner = create_practitioner(actor=admin_actor, data=_input())
    updated = update_practitioner(
        actor=admin_actor,
        practitioner_id=practitioner.pk,
        changes={
            "family_name": "Ó Briain",
            "location_ids": [clinic.pk],
            "active": False,
            "npi": "1558598797",
        },
    )
    updated.refresh_from_db()
    assert updated.family_key == "o briain"
    assert not updated.active
    assert updated.npi == "1558598797"
    assert list(updated.locations.all()) == [clinic]
    event = AuditEvent.objects.get(action=AuditAction.PRACTITIONER_UPDATE)
    changed = event.detail["changed"]
    assert changed["family_name"] == {"from": "O'Brien", "to": "Ó Briain"}
    assert changed["location_ids"] == {"from": [], "to": [clinic.pk]}
    assert changed["active"] == {"from": True, "to": False}
    assert changed["npi"] == {"from": "1234567893", "to": "1558598797"}
    assert "given_name" not in changed


def test_update_without_changes_writes_nothing(admin_actor):
    practitioner = create_practitioner(actor=admin_actor, data=_input())
    update_practitioner(
        actor=admin_actor, practitioner_id=practitioner.pk, changes={"family_name": "O'Brien"}
    )
    assert not AuditEvent.objects.filter(action=AuditAction.PRACTITIONER_UPDATE).exists()


def test_update_with_invalid_npi_changes_nothing(admin_actor):
    practitioner = create_practitioner(actor=admin_actor, data=_input())
    with pytest.raises(InvalidNpi):
        update_practitioner(
            actor=admin_actor, practitioner_id=practitioner.pk, changes={"npi": "1234567890", "phone": "1"}
        )
    practitioner.refresh_from_db()
    assert (practitioner.npi, practitioner.phone) == ("1234567893", "")


def test_update_to_an_npi_taken_in_the_organization_is_a_conflict(admin_actor):
    create_practitioner(actor=admin_actor, data=_input())
    second = create_practitioner(actor=admin_actor, data=_input(npi="1558598797"))
    with pytest.raises(DuplicateNpi):
        update_practitioner(actor=admin_actor, practitioner_id=second.pk, changes={"npi": "1234567893"})


def test_update_refuses_unknown_fields(admin_actor):
    practitioner = create_practitioner(actor=admin_actor, data=_input())
    with pytest.raises(Exception, match="Unknown field"):
        update_practitioner(
            actor=admin_actor, practitioner_id=practitioner.pk, changes={"organization_id": 9}
        )


def test_another_organization_cannot_see_or_update(admin_actor, other_admin_actor):
    practitioner = create_practitioner(actor=admin_actor, data=_input())
    with pytest.raises(PractitionerNotFound):
        get_practitioner(actor=other_admin_actor, practitioner_id=practitioner.pk)
    with pytest.raises(PractitionerNotFound):
        update_practitioner(actor=other_admin_actor, practitioner_id=practitioner.pk, changes={"phone": "1"})
    assert not practitioner_queryset(other_admin_actor).exists()
    page = search_practitioners(actor=other_admin_actor, query=PractitionerQuery(text="o'brien"))
    assert page.results == []
    missing = Practitioner.objects.order_by("-pk").first().pk + 1000
    with pytest.raises(PractitionerNotFound):
        get_practitioner(actor=admin_actor, practitioner_id=missing)


class TestSearch:
    @pytest.fixture
    def directory(self, admin_actor, add_practitioner, org):
        clinic = Location.objects.get(organization=org)
        north = Location.objects.create(organization=org, name="North Annex")
        return {
            "smith": add_practitioner(
                admin_actor, "Jane", "Smith", specialty="cardiology", location_ids=[clinic.pk]
            ),
            "smithers": add_practitioner(admin_actor, "Waylon", "Smithers", location_ids=[north.pk]),
            "garcia": add_practitioner(
                admin_actor, "José", "García-López", specialty="pediatrics", npi="1234567893"
            ),
            "janet": add_practitioner(admin_actor, "Janet", "Adams", location_ids=[clinic.pk, north.pk]),
            "clinic": clinic,
            "north": north,
        }

    def names(self, actor, **criteria):
        page = search_practitioners(actor=actor, query=PractitionerQuery(**criteria))
        return [p.family_name for p in page.results]

    def test_name_fragment_prefix_on_family_or_given(self, admin_actor, directory):
        assert self.names(admin_actor, text="smi") == ["Smith", "Smithers"]
        assert self.names(admin_actor, text="jan") == ["Adams", "Smith"]
        assert self.names(admin_actor, text="GARC") == ["García-López"]
        assert self.names(admin_actor, text="jose") == ["García-López"]
        assert self.names(admin_actor, text="mith") == []

    def test_given_and_family_together(self, admin_actor, directory):
        assert self.names(admin_actor, text="jane smi") == ["Smith"]
        assert self.names(admin_actor, text="smith, ja") == ["Smith"]
        assert self.names(admin_actor, family="smith", given="w") == ["Smithers"]
        assert self.names(admin_actor, name="garcia lo") == ["García-López"]

    def test_npi_exact(self, admin_actor, directory):
        assert self.names(admin_actor, text="1234567893") == ["García-López"]
        assert self.names(admin_actor, npi="1234567893") == ["García-López"]
        assert self.names(admin_actor, npi="123456789") == []

    def test_specialty_location_and_active(self, admin_actor, directory):
        assert self.names(admin_actor, specialty="pediatrics") == ["García-López"]
        assert self.names(admin_actor, location_id=directory["north"].pk) == ["Adams", "Smithers"]
        update_practitioner(
            actor=admin_actor, practitioner_id=directory["smithers"].pk, changes={"active": False}
        )
        assert self.names(admin_actor, text="smi", active_only=True) == ["Smith"]

    def test_pagination(self, admin_actor, directory):
        first = search_practitioners(actor=admin_actor, query=PractitionerQuery(), page=1, page_size=3)
        second = search_practitioners(actor=admin_actor, query=PractitionerQuery(), page=2, page_size=3)
        assert first.has_next
        assert not second.has_next
        assert [p.family_name for p in first.results + second.results] == [
            "Adams",
            "García-López",
            "Smith",
            "Smithers",
        ]


def test_valid_npi_helper_makes_distinct_valid_numbers():
    from caredesk.practitioners.rules import is_valid_npi

    assert len({valid_npi(n) for n in range(50)}) == 50
    assert all(is_valid_npi(valid_npi(n)) for n in range(50))
