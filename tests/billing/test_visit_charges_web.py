"""Charge-capture setup at /billing/visit-charges/: billing staff list their organization's mappings of visit
types to procedure codes, add one (a visit type of the organization, a code of the code list, units), change
it, deactivate and reactivate it; each change is audited, and a deactivated mapping bills nothing when a visit
is completed. Other roles get 403; another organization's mapping answers 404."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import services
from caredesk.billing.models import Claim, VisitTypeCharge
from caredesk.scheduling import services as scheduling
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import MONDAY, Clinic, at, book, build_clinic
from tests.scheduling.conftest import frozen_clock as frozen_clock  # the fixture, for this module

from .conftest import DEMO_CODES

pytestmark = pytest.mark.django_db
URL = "/billing/visit-charges/"


@pytest.fixture
def visits(org, frozen_clock) -> Clinic:
    clinic = build_clinic(org)
    services.load_procedure_codes(
        actor=staff_actor(org, Role.BILLING), text=DEMO_CODES.read_text(), source="demo"
    )
    return clinic


@pytest.fixture
def biller(visits, org, make_user, client_as):
    return client_as(make_user(Role.BILLING, org))


def _add(web, **fields: str):
    data = {"visit_type_code": "follow-up", "procedure_code": "G0439", "units": "1"} | fields
    return web.post(URL, data)


def _rows() -> list[tuple[str, str, Decimal, bool]]:
    return list(
        VisitTypeCharge.objects.order_by("id").values_list(
            "visit_type_code", "procedure__code", "units", "active"
        )
    )


def _complete(clinic: Clinic, frozen_clock, hour: int) -> Claim | None:
    appointment = book(clinic, at(MONDAY, hour), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    frozen_clock(at(MONDAY, hour))
    scheduling.check_in(actor=clinic.desk, appointment_id=appointment.pk)
    scheduling.change_status(actor=clinic.desk, appointment_id=appointment.pk, status="fulfilled")
    return Claim.objects.filter(appointment_id=appointment.pk).first()


def test_a_biller_adds_mappings_and_completed_visits_bill_them(visits, biller, frozen_clock) -> None:
    page = html.unescape(biller.get(URL).content.decode())
    assert "No visit type captures charges yet." in page
    assert visits.follow_up.name in page  # the organization's visit types to choose from

    assert _add(biller, procedure_code="g0439").status_code == 302
    assert _add(biller, procedure_code=" G0444 ", units="2").status_code == 302

    assert _rows() == [
        ("follow-up", "G0439", Decimal("1.00"), True),
        ("follow-up", "G0444", Decimal("2.00"), True),
    ]
    page = biller.get(URL).content.decode()
    assert "G0444" in page
    assert "Deactivate" in page
    created = AuditEvent.objects.filter(action=AuditAction.VISIT_CHARGE_CREATE).order_by("id")
    assert [e.detail["code"] for e in created] == ["G0439", "G0444"]
    assert created[1].detail["units"] == "2.00"
    claim = _complete(visits, frozen_clock, 9)
    assert claim is not None
    assert [(line.procedure.code, line.units) for line in claim.lines.all()] == [
        ("G0439", Decimal("1.00")),
        ("G0444", Decimal("2.00")),
    ]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"visit_type_code": "no-such-visit"}, "Choose one of the organization's visit types."),
        ({"visit_type_code": ""}, "Choose one of the organization's visit types."),
        ({"procedure_code": "G04"}, "G04 is not a 5-character procedure code."),
        ({"procedure_code": "99999"}, "99999 is not in the code list."),
        ({"units": "0"}, "Units must be more than zero"),
        ({"units": "1.005"}, "Units must be more than zero"),
        ({"units": "two"}, "Units must be a number"),
    ],
)
def test_what_cannot_be_mapped_is_refused_in_words(visits, biller, fields, words) -> None:
    answer = _add(biller, **fields)
    assert answer.status_code == 400
    assert words in html.unescape(answer.content.decode())
    assert _rows() == []
    assert not AuditEvent.objects.filter(action=AuditAction.VISIT_CHARGE_CREATE).exists()


def test_the_same_code_twice_on_a_visit_type_is_refused(visits, biller) -> None:
    _add(biller)
    answer = _add(biller, units="3")
    assert answer.status_code == 400
    assert "already bills G0439" in answer.content.decode()
    assert _rows() == [("follow-up", "G0439", Decimal("1.00"), True)]


def test_a_biller_edits_deactivates_and_reactivates_a_mapping(visits, biller, frozen_clock) -> None:
    _add(biller)
    _add(biller, procedure_code="G0444")
    first, second = VisitTypeCharge.objects.order_by("id")
    edit = f"{URL}{first.pk}/"
    assert 'value="G0439"' in biller.get(edit).content.decode()

    assert biller.post(edit, {"procedure_code": "G0438", "units": "1.5", "active": "on"}).status_code == 302
    # Moving it onto a code the visit type already bills is refused.
    refused = biller.post(edit, {"procedure_code": "G0444", "units": "1", "active": "on"})
    assert refused.status_code == 400
    assert "already has a mapping to G0444" in refused.content.decode()
    assert biller.post(f"{URL}{second.pk}/active/", {"active": "0"}).status_code == 302

    assert _rows() == [
        ("follow-up", "G0438", Decimal("1.50"), True),
        ("follow-up", "G0444", Decimal("1.00"), False),
    ]
    updates = AuditEvent.objects.filter(action=AuditAction.VISIT_CHARGE_UPDATE).order_by("id")
    assert [(u.detail["before"], u.detail["after"]) for u in updates] == [
        (
            {"visit_type_code": "follow-up", "code": "G0439", "units": "1.00", "active": True},
            {"visit_type_code": "follow-up", "code": "G0438", "units": "1.50", "active": True},
        ),
        (
            {"visit_type_code": "follow-up", "code": "G0444", "units": "1.00", "active": True},
            {"visit_type_code": "follow-up", "code": "G0444", "units": "1.00", "active": False},
        ),
    ]
    assert "Reactivate" in biller.get(URL).content.decode()
    claim = _complete(visits, frozen_clock, 9)
    assert claim is not None
    assert [line.procedure.code for line in claim.lines.all()] == ["G0438"]  # the inactive one bills nothing

    # Adding the deactivated code again (or pressing Reactivate) brings it back.
    assert _add(biller, procedure_code="G0444", units="2").status_code == 302
    assert _rows()[1] == ("follow-up", "G0444", Decimal("2.00"), True)
    biller.post(f"{URL}{second.pk}/active/", {"active": "0"})
    biller.post(f"{URL}{second.pk}/active/", {"active": "1"})
    assert _rows()[1][3] is True
    assert VisitTypeCharge.objects.count() == 2


def test_other_roles_and_organizations_cannot_touch_the_mappings(
    visits, biller, org, other_org, make_user, client_as
) -> None:
    _add(biller)
    mapping = VisitTypeCharge.objects.get()
    coordinator = client_as(make_user(Role.COORDINATOR, org))  # sees claims, does not set up billing
    assert coordinator.get(URL).status_code == 403
    assert (
        coordinator.post(URL, {"visit_type_code": "follow-up", "procedure_code": "G0444"}).status_code == 403
    )
    assert coordinator.post(f"{URL}{mapping.pk}/active/", {"active": "0"}).status_code == 403
    stranger = client_as(make_user(Role.BILLING, other_org))
    assert "G0439" not in stranger.get(URL).content.decode()
    assert stranger.get(f"{URL}{mapping.pk}/").status_code == 404
    assert stranger.post(f"{URL}{mapping.pk}/", {"procedure_code": "G0444", "units": "1"}).status_code == 404
    assert stranger.post(f"{URL}{mapping.pk}/active/", {"active": "0"}).status_code == 404
    # Another organization's visit type code is not one of theirs.
    assert stranger.post(URL, {"visit_type_code": "follow-up", "procedure_code": "G0439"}).status_code == 400
    assert _rows() == [("follow-up", "G0439", Decimal("1.00"), True)]
    admin = client_as(make_user(Role.ADMINISTRATOR, org))
    assert admin.get(URL).status_code == 200
