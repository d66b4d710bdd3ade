"""The audit trail pages: administrators only, their own organization only, filters, CSV, self-audit."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.audit.selectors import CSV_COLUMNS
from caredesk.patients.models import Patient

NEW_YORK = ZoneInfo("America/New_York")
HTMX = {"HTTP_HX_REQUEST": "true"}


def _patient(org, mrn: str) -> Patient:
    # Created directly: only the audit trail's join through `patient__mrn` is under test here.
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


def _rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def trail(org, other_org, make_user, actor_of, add_event):
    """Events of both organizations, at known times (New York wall clock)."""
    nurse = actor_of(make_user(Role.NURSE, org, username="nina"))
    coordinator = actor_of(make_user(Role.COORDINATOR, org, username="carl"))
    stranger = actor_of(make_user(Role.COORDINATOR, other_org, username="stranger"))
    patient = _patient(org, "RSH000042")
    return {
        "patient": patient,
        "early": add_event(
            nurse,
            AuditAction.PATIENT_VIEW,
            patient_id=patient.pk,
            at=dt.datetime(2025, 3, 1, 0, 30, tzinfo=NEW_YORK),
        ),
        "late": add_event(
            nurse,
            AuditAction.PATIENT_SEARCH,
            detail={"q": "lee"},
            at=dt.datetime(2025, 3, 1, 23, 30, tzinfo=NEW_YORK),
        ),
        "next_day": add_event(
            coordinator,
            AuditAction.PATIENT_UPDATE,
            patient_id=patient.pk,
            object_type="patients.patient",
            object_id=str(patient.pk),
            detail={"changed": {"city": {"from": "A", "to": "B"}}},
            at=dt.datetime(2025, 3, 2, 9, 0, tzinfo=NEW_YORK),
        ),
        "foreign": add_event(
            stranger, AuditAction.PATIENT_VIEW, at=dt.datetime(2025, 3, 1, 12, 0, tzinfo=NEW_YORK)
        ),
    }


def _shown(response) -> str:
    """The events table of the page (the filter form's action list would match every label)."""
    body = response.content.decode()
    return body[body.index('id="audit-events"') :]


def test_administrator_sees_own_organizations_events_newest_first(admin_client, trail):
    response = admin_client.get(reverse("audit:list"))
    assert response.status_code == 200
    body = _shown(response)
    assert "stranger" not in body
    assert body.index("Patient update") < body.index("Patient search") < body.index("Patient view")
    assert "2025-03-01 23:30:00" in body  # shown in the organization's time zone


def test_viewing_the_trail_is_itself_audited_with_the_filters(admin_client, admin_user, trail):
    admin_client.get(reverse("audit:list"), {"user": "nina", "action": AuditAction.PATIENT_VIEW})
    event = AuditEvent.objects.get(action=AuditAction.AUDIT_VIEW)
    assert event.actor_username == admin_user.username
    assert event.organization_id == admin_user.organization_id
    assert event.detail["filters"] == {"username": "nina", "action": int(AuditAction.PATIENT_VIEW)}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"user": "NINA"}, {"early", "late"}),
        ({"action": int(AuditAction.PATIENT_UPDATE)}, {"next_day"}),
        ({"patient": "RSH000042"}, {"early", "next_day"}),
        ({"patient": "rsh000042"}, {"early", "next_day"}),
        ({"date_from": "2025-03-01", "date_to": "2025-03-01"}, {"early", "late"}),
        ({"date_from": "2025-03-02"}, {"next_day"}),
        ({"date_to": "2025-02-28"}, set()),
        ({"user": "nina", "action": int(AuditAction.PATIENT_VIEW)}, {"early"}),
    ],
)
def test_filters(admin_client, trail, params, expected):
    response = admin_client.get(reverse("audit:export"), params)
    assert response.status_code == 200
    exported = {(row["request_id"], row["action_code"]) for row in _rows(response)}
    found = {
        name
        for name, event in trail.items()
        if name != "patient" and (event.request_id, str(event.action)) in exported
    }
    assert found == expected


def test_patient_filter_by_id(admin_client, trail):
    patient = trail["patient"]
    response = admin_client.get(reverse("audit:list"), {"patient": str(patient.pk)})
    body = _shown(response)
    assert "Patient view" in body
    assert "Patient update" in body
    assert "Patient search" not in body


def test_htmx_filtering_returns_the_fragment(admin_client, trail):
    response = admin_client.get(reverse("audit:list"), {"user": "carl"}, **HTMX)
    body = _shown(response)
    assert "<html" not in body
    assert 'id="audit-events"' in body
    assert "Patient update" in body
    assert "Patient view" not in body


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2025-02-30"},
        {"date_to": "yesterday"},
        {"date_from": "2025-03-05", "date_to": "2025-03-01"},
        {"action": "12345"},
        {"action": "abc"},
        {"page": "0"},
        {"page": "x"},
    ],
)
def test_invalid_filters_are_a_400_with_the_reason_and_read_nothing(admin_client, trail, params):
    for name in ("audit:list", "audit:export"):
        response = admin_client.get(reverse(name), params)
        assert response.status_code == 400
        assert 'data-testid="filter-errors"' in _shown(response)
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.AUDIT_VIEW, AuditAction.AUDIT_EXPORT]
    ).exists()


def test_pagination_by_fifty(admin_client, admin_user, actor_of, add_event):
    actor = actor_of(admin_user)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for minute in range(60):
        add_event(actor, AuditAction.PRACTITIONER_SEARCH, at=start + dt.timedelta(minutes=minute))
    params = {"action": int(AuditAction.PRACTITIONER_SEARCH)}
    first = admin_client.get(reverse("audit:list"), params)
    assert first.content.decode().count('data-testid="audit-row"') == 50
    assert "page=2" in first.content.decode()
    second = admin_client.get(reverse("audit:list"), {**params, "page": 2})
    assert second.content.decode().count('data-testid="audit-row"') == 10
    assert "2024-12-31 19:00:00" not in _shown(first)  # the oldest (midnight UTC) is on page 2
    assert "2024-12-31 19:00:00" in _shown(second)


def test_csv_export_has_the_columns_the_rows_and_is_itself_audited(admin_client, admin_user, trail):
    response = admin_client.get(reverse("audit:export"), {"patient": "RSH000042"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == CSV_COLUMNS
    records = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    assert [r["action_code"] for r in records] == [
        str(int(AuditAction.PATIENT_UPDATE)),
        str(int(AuditAction.PATIENT_VIEW)),
    ]
    update = records[0]
    assert update["occurred_at"] == "2025-03-02T14:00:00Z"
    assert update["username"] == "carl"
    assert update["role"] == "coordinator"
    assert update["action_label"] == "Patient update"
    assert update["patient_id"] == str(trail["patient"].pk)
    assert update["patient_mrn"] == "RSH000042"
    assert update["object_type"] == "patients.patient"
    assert update["channel"] == "web"
    assert update["ip"] == "127.0.0.1"
    assert json.loads(update["detail"]) == {"changed": {"city": {"from": "A", "to": "B"}}}
    export = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORT)
    assert export.actor_username == admin_user.username
    assert export.detail["filters"] == {"patient": "RSH000042"}


def test_csv_export_contains_only_own_organization(admin_client, trail):
    rows = _rows(admin_client.get(reverse("audit:export")))
    assert {row["username"] for row in rows} == {"nina", "carl", "auditor"}  # the export's own row too
    assert len(rows) == 4


def test_csv_cells_cannot_become_spreadsheet_formulas(admin_client, admin_user, actor_of, add_event):
    add_event(actor_of(admin_user), AuditAction.PRACTITIONER_CREATE, object_id="=HYPERLINK(1)")
    rows = _rows(admin_client.get(reverse("audit:export"), {"action": int(AuditAction.PRACTITIONER_CREATE)}))
    assert rows[0]["object_id"] == "'=HYPERLINK(1)"


def test_other_organizations_administrator_sees_none_of_it(client_as, other_admin, trail):
    response = client_as(other_admin).get(reverse("audit:list"), {"patient": str(trail["patient"].pk)})
    assert response.status_code == 200
    assert 'data-testid="no-events"' in response.content.decode()
    rows = _rows(client_as(other_admin).get(reverse("audit:export"), {"patient": "RSH000042"}))
    assert rows == []


@pytest.mark.parametrize(
    "role", [Role.COORDINATOR, Role.FRONT_DESK, Role.BILLING, Role.NURSE, Role.PHYSICIAN]
)
def test_other_roles_get_403(client_as, make_user, org, role, trail):
    client = client_as(make_user(role, org))
    assert client.get(reverse("audit:list")).status_code == 403
    assert client.get(reverse("audit:export")).status_code == 403
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.AUDIT_VIEW, AuditAction.AUDIT_EXPORT]
    ).exists()


def test_portal_user_gets_403(client_as, make_user, org, trail):
    portal = make_user(Role.PATIENT, org, patient=trail["patient"])
    assert client_as(portal).get(reverse("audit:list")).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("audit:export"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_dates_are_days_in_the_organizations_time_zone(admin_client, org, trail):
    Location.objects.filter(organization=org).update(timezone="Asia/Tokyo")
    # 2025-03-01 23:30 in New York is 2025-03-02 13:30 in Tokyo.
    rows = _rows(
        admin_client.get(reverse("audit:export"), {"date_from": "2025-03-02", "date_to": "2025-03-02"})
    )
    assert {row["request_id"] for row in rows} == {trail["late"].request_id, trail["next_day"].request_id}
    page = admin_client.get(reverse("audit:list"))
    assert "Asia/Tokyo" in page.content.decode()
    assert "2025-03-02 13:30:00" in _shown(page)


def test_a_mistyped_location_time_zone_falls_back_to_the_installations(admin_client, org, trail, settings):
    Location.objects.filter(organization=org).update(timezone="Mars/Olympus")
    response = admin_client.get(reverse("audit:list"), {"date_from": "2025-03-01"})
    assert response.status_code == 200
    assert settings.TIME_ZONE in response.content.decode()
