"""The set-up each process keeps for the slot search and booking (scheduling.setup_cache): every write to
the set-up, by a service, the admin or a bulk update, changes the organization's version in its own
transaction, so a search or booking never works from a stale copy; and once kept, the set-up costs one
query per search or booking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from caredesk.accounts.models import Location
from caredesk.credentialing.models import CredentialingConfig, DeaRegistration, Privilege, StateLicense
from caredesk.practitioners.models import Practitioner
from caredesk.scheduling import selectors, services, setup_cache
from caredesk.scheduling.errors import ResourcesUnavailable
from caredesk.scheduling.models import (
    AvailabilityException,
    AvailabilityTemplate,
    AvailabilityWindow,
    Resource,
    VisitType,
    VisitTypeRequirement,
)
from caredesk.scheduling.selectors import SlotQuery

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)


def first_start(clinic, **kwargs) -> str | None:
    slots = selectors.find_slots(
        actor=clinic.desk, query=SlotQuery(visit_type_id=clinic.follow_up.pk, limit=1, **kwargs)
    )
    return slots[0].start.strftime("%a %H:%M") if slots else None


def version(clinic) -> int | None:
    return setup_cache.current_version(clinic.org.pk)


def test_a_change_committed_elsewhere_is_seen_by_the_next_search(clinic):
    assert first_start(clinic, practitioner_id=clinic.heart.pk) == "Mon 08:00"
    # Another process closes the morning: a bulk update, no service, no Python hook in this process.
    AvailabilityWindow.objects.filter(template__resource=clinic.dr_heart, start_time=dt.time(8)).update(
        start_time=dt.time(10)
    )
    assert first_start(clinic, practitioner_id=clinic.heart.pk) == "Mon 10:00"
    Resource.objects.filter(pk=clinic.dr_heart.pk).update(active=False)
    assert first_start(clinic, practitioner_id=clinic.heart.pk) is None


def test_a_booking_uses_the_current_set_up(clinic):
    book(clinic, at(MONDAY, 8), practitioner_id=clinic.heart.pk)
    AvailabilityException.objects.create(
        organization=clinic.org,
        resource=clinic.dr_heart,
        kind="vacation",
        starts_at=at(MONDAY, 0),
        ends_at=at(TUESDAY, 0),
    )
    with pytest.raises(ResourcesUnavailable):
        book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])


def test_a_rolled_back_change_leaves_nothing_behind(clinic):
    before = version(clinic)
    with transaction.atomic():
        services.add_availability_exception(
            actor=clinic.admin, kind="holiday", starts_at=at(MONDAY, 0), ends_at=at(TUESDAY, 0)
        )
        assert first_start(clinic) == "Tue 08:00"  # the changing transaction sees its change
        transaction.set_rollback(True)
    assert version(clinic) == before
    assert first_start(clinic) == "Mon 08:00"


@pytest.mark.parametrize(
    "change",
    [
        "location",
        "practitioner",
        "resource",
        "visit type",
        "requirement",
        "who offers",
        "template",
        "window",
        "exception",
        "license",
        "dea",
        "privilege",
        "credentialing setting",
    ],
)
def test_every_kind_of_set_up_write_changes_the_version(clinic, change):
    """One write of each table the set-up is read from, as the admin or a bulk update would make it:
    each must draw a new version (a trigger missing after a SQLite table rebuild fails here)."""
    before = version(clinic)
    assert before is not None
    org, heart = clinic.org, clinic.heart
    if change == "location":
        Location.objects.filter(pk=clinic.location.pk).update(timezone="America/Chicago")
    elif change == "practitioner":
        Practitioner.objects.filter(pk=heart.pk).update(active=False)
    elif change == "resource":
        Resource.objects.filter(pk=clinic.exam2.pk).update(category="procedure")
    elif change == "visit type":
        VisitType.objects.filter(pk=clinic.follow_up.pk).update(duration_minutes=30)
    elif change == "requirement":
        VisitTypeRequirement.objects.create(visit_type=clinic.follow_up, kind="equipment")
    elif change == "who offers":
        clinic.follow_up.practitioners.remove(heart)
    elif change == "template":
        AvailabilityTemplate.objects.filter(resource=clinic.exam1).update(effective_until=MONDAY)
    elif change == "window":
        AvailabilityWindow.objects.filter(template__resource=clinic.exam1, weekday=0).delete()
    elif change == "exception":
        AvailabilityException.objects.create(
            organization=org, kind="holiday", starts_at=at(MONDAY, 0), ends_at=at(TUESDAY, 0)
        )
    elif change == "license":
        StateLicense.objects.create(
            organization=org, practitioner=heart, state="NY", number="1", expires_on=dt.date(2030, 1, 1)
        )
    elif change == "dea":
        DeaRegistration.objects.create(
            organization=org,
            practitioner=heart,
            state="NY",
            number="AB1234563",
            expires_on=dt.date(2030, 1, 1),
        )
    elif change == "privilege":
        Privilege.objects.create(
            organization=org,
            practitioner=heart,
            location=clinic.location,
            service_code="follow-up",
            requested_on=MONDAY,
        )
    else:
        CredentialingConfig.objects.create(organization=org, enforce_at_booking=False)
    assert version(clinic) not in (None, before)


def test_kept_set_up_costs_one_query_per_search(clinic):
    first_start(clinic)  # reads and keeps the set-up
    with CaptureQueriesContext(connection) as queries:
        assert first_start(clinic) == "Mon 08:00"
    tables = [q["sql"] for q in queries.captured_queries]
    assert sum("scheduling_setupversion" in sql for sql in tables) == 1
    for setup_table in ("scheduling_visittype", "scheduling_availabilitytemplate", "accounts_location"):
        assert not any(f'"{setup_table}"' in sql for sql in tables), setup_table


def test_kept_set_up_makes_a_booking_cheaper(clinic):
    book(clinic, at(MONDAY, 8))  # reads and keeps the set-up
    with CaptureQueriesContext(connection) as queries:
        book(clinic, at(MONDAY, 9))
    tables = [q["sql"] for q in queries.captured_queries]
    for setup_table in ("scheduling_visittype", "scheduling_availabilitytemplate", "accounts_location"):
        assert not any(f'FROM "{setup_table}"' in sql for sql in tables), setup_table
