"""The demo network's credential files: the coordinator's organization has a license lapsing in 45 days
with its notice on the medical-staff queue, and a practitioner whose New Jersey license lapsed cannot be
booked for a New Jersey patient's video visit (the colleagues with a current one are named)."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission, Role, permissions_for
from caredesk.core.context import system_actor
from caredesk.credentialing import clock
from caredesk.credentialing.errors import CredentialCheckFailed
from caredesk.credentialing.models import StateLicense
from caredesk.demo.services import seed_demo
from caredesk.scheduling import selectors as scheduling_selectors
from caredesk.scheduling import services as scheduling
from caredesk.scheduling.models import VisitType
from caredesk.worklist.choices import TaskQueue, TaskType
from caredesk.worklist.models import Task
from tests.patients.factories import make_patient


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_demo(patients=12, seed=7)
    return Organization.objects.get(short_code="RSH")


def test_demo_credentials(demo) -> None:
    today = clock.today()
    expiring = StateLicense.objects.get(organization=demo, expires_on=today + dt.timedelta(days=45))
    task = Task.objects.get(source_type="credentialing.license", source_id=str(expiring.pk))
    assert task.queue == TaskQueue.MEDICAL_STAFF
    assert task.task_type == TaskType.CREDENTIAL_EXPIRING
    assert "(in 45 days)" in task.title

    lapsed = StateLicense.objects.get(organization=demo, state="NJ", expires_on__lt=today)
    desk = system_actor(organization_id=demo.pk, permissions=permissions_for(Role.FRONT_DESK))
    admin = system_actor(organization_id=demo.pk, permissions=permissions_for(Role.ADMINISTRATOR))
    patient = make_patient(admin, state="NJ", given_name="Nadia", family_name="Jerseyan")
    video = VisitType.objects.get(organization=demo, code="video-follow-up")
    search = system_actor(
        organization_id=demo.pk,
        permissions=frozenset({str(Permission.SCHEDULE_VIEW), str(Permission.APPOINTMENT_BOOK)}),
    )
    slot = scheduling_selectors.find_slots(
        actor=search,
        query=scheduling_selectors.SlotQuery(
            visit_type_id=video.pk,
            practitioner_id=lapsed.practitioner_id,
            first_day=today + dt.timedelta(days=3),
            limit=1,
        ),
    )[0]
    request = scheduling.BookingRequest(
        patient_id=patient.pk,
        visit_type_id=video.pk,
        location_id=slot.location_id,
        start=slot.start,
        practitioner_id=lapsed.practitioner_id,
    )
    with pytest.raises(CredentialCheckFailed) as refused:
        scheduling.book_appointment(actor=desk, request=request)
    assert f"New Jersey license {lapsed.number} expired on" in refused.value.message
    assert len(refused.value.details["alternatives"]) >= 1
