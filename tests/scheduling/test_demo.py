"""The demo's schedule (demo/schedule.py): loaded by seed_demo through the scheduling services."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from caredesk.accounts.models import User
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling import clock
from caredesk.scheduling.models import (
    Appointment,
    AppointmentResource,
    AvailabilityTemplate,
    Resource,
    SurgeryPlan,
    SurgicalCase,
    VisitType,
)

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_resources_visit_types_templates_and_bookings():
    out = io.StringIO()
    call_command("seed_demo", "--patients", "60", "--seed", "7", stdout=out, stderr=io.StringIO())
    assert re.search(r"\b\d+ appointments\b", out.getvalue())
    for code in ("RSH", "HMG"):
        assert Resource.objects.filter(organization__short_code=code, kind="practitioner").exists()
        assert Resource.objects.filter(organization__short_code=code, kind="room", category="exam").exists()
        codes = set(VisitType.objects.filter(organization__short_code=code).values_list("code", flat=True))
        assert {"new-patient", "follow-up", "video-follow-up", "annual-physical"} <= codes
    assert Resource.objects.filter(kind="practitioner").count() == 25
    assert AvailabilityTemplate.objects.count() >= 25
    appointments = Appointment.objects.all()
    assert 40 <= appointments.count() <= 120  # 2 attempts per patient
    assert appointments.filter(modality="telehealth").exclude(join_url="").exists()
    assert all(a.starts_at > clock.now() for a in appointments)
    assert (
        AuditEvent.objects.filter(action=int(AuditAction.APPOINTMENT_CREATE)).count() == appointments.count()
    )
    rows = defaultdict(list)
    for row in AppointmentResource.objects.filter(active=True).order_by("starts_at"):
        rows[row.resource_id].append(row)
    for resource_rows in rows.values():
        for earlier, later in itertools.pairwise(resource_rows):
            assert later.starts_at >= earlier.ends_at

    coordinator = User.objects.get(username="coordinator")
    client = Client()
    client.force_login(coordinator)
    first = appointments.filter(organization=coordinator.organization, status="booked").order_by("starts_at")[
        0
    ]
    response = client.get(
        reverse("scheduling:calendar"),
        {"location": first.location_id, "date": first.starts_at.astimezone(first.zone).date().isoformat()},
    )
    assert response.status_code == 200
    assert f"/scheduling/appointments/{first.pk}/" in response.content.decode()

    # Surgery planning: the coordinator opens the hospital's page, presses Plan, then Book all.
    hospital = Resource.objects.get(organization=coordinator.organization, name="OR 1").location
    assert Resource.objects.filter(location=hospital, kind="room", category="operating").count() == 3
    assert Resource.objects.filter(location=hospital, kind="equipment").count() == 2
    # OR 3's Tuesday is block time held for one surgeon.
    held = AvailabilityTemplate.objects.get(resource__name="OR 3", location=hospital).windows.get(weekday=1)
    assert held.reserved_for_surgeon is not None
    assert held.reserved_for_surgeon.kind == "practitioner"
    cases = SurgicalCase.objects.filter(location=hospital, status="requested")
    assert cases.count() == 8
    assert cases.filter(equipment__name="Laparoscopy tower").exists()
    page = client.get(reverse("scheduling:surgery"))  # the location with operating rooms by default
    assert page.status_code == 200
    assert "Laparoscopic cholecystectomy" in page.content.decode()
    monday = min(case.earliest_date for case in cases)
    planned = client.post(
        reverse("scheduling:surgery_plan_new"),
        {
            "location": hospital.pk,
            "date_from": monday.isoformat(),
            "date_to": (monday + dt.timedelta(days=4)).isoformat(),
            "turnover": 30,
            "overtime_cap": 120,
            "time_limit": 1,
        },
        HTTP_HX_REQUEST="true",
    )
    assert planned.status_code == 204
    plan = SurgeryPlan.objects.get(location=hospital)
    assert plan.items.count() == 8, plan.unplaced
    booked = client.post(reverse("scheduling:surgery_plan_book", kwargs={"surgery_plan_id": plan.pk}))
    assert booked.status_code == 302
    assert SurgicalCase.objects.filter(location=hospital, status="booked").count() == 8
    assert Appointment.objects.filter(notes__startswith=f"Surgery plan {plan.pk}:").count() == 8
