"""The demo's schedule (demo/schedule.py): loaded by seed_demo through the scheduling services."""

from __future__ import annotations

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
