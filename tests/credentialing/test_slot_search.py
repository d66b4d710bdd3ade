"""The slot search offers only practitioners who pass the booking path's credential check: a searcher is
never offered a slot that booking would then refuse. The check runs once per practitioner per search."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from caredesk.credentialing import services
from caredesk.scheduling import selectors
from caredesk.scheduling import services as scheduling
from caredesk.scheduling.selectors import SlotQuery
from tests.scheduling.conftest import MONDAY, build_clinic

from .conftest import grant

TUESDAY = MONDAY + dt.timedelta(days=1)


def _who(slots) -> set[int]:
    return {s.practitioner.practitioner_id for s in slots}


def _offered(clinic, query: SlotQuery) -> set[int]:
    """The practitioners with at least one slot for the query, searched one by one."""
    return {
        p.pk
        for p in (clinic.heart, clinic.family)
        if selectors.find_slots(
            actor=clinic.desk, query=SlotQuery(**{**query.__dict__, "practitioner_id": p.pk})
        )
    }


def test_telehealth_slots_for_a_new_jersey_patient_skip_the_lapsed_license(credentialed) -> None:
    clinic = credentialed.clinic
    patient = clinic.patient(state="NJ")
    query = SlotQuery(
        visit_type_id=clinic.video.pk,
        location_id=clinic.location.pk,
        first_day=TUESDAY,
        modality="telehealth",
        patient_id=patient.pk,
        limit=20,
    )
    slots = selectors.find_slots(actor=clinic.desk, query=query)
    assert slots
    # Dr. Heart's New Jersey license expired: only Dr. Family, who passes, is offered.
    assert _who(slots) == {clinic.family.pk}
    assert _offered(clinic, query) == {clinic.family.pk}
    assert (
        selectors.find_slots(
            actor=clinic.desk, query=SlotQuery(**{**query.__dict__, "practitioner_id": clinic.heart.pk})
        )
        == []
    )
    # The offered slot books.
    first = slots[0]
    booked = scheduling.book_appointment(
        actor=clinic.desk,
        request=scheduling.BookingRequest(
            patient_id=patient.pk,
            visit_type_id=clinic.video.pk,
            location_id=clinic.location.pk,
            start=first.start,
            resource_ids=list(first.resource_ids),
            modality="telehealth",
        ),
    )
    assert booked.starts_at == first.start
    # In person (New York), both doctors pass and both are offered.
    in_person = SlotQuery(**{**query.__dict__, "modality": "in_person"})
    assert _offered(clinic, in_person) == {clinic.heart.pk, clinic.family.pk}


def test_a_privilege_ending_mid_search_stops_the_offers_after_its_last_day(credentialed) -> None:
    clinic = credentialed.clinic
    query = SlotQuery(
        visit_type_id=clinic.echo.pk, location_id=clinic.location.pk, first_day=TUESDAY, limit=50
    )
    # No one holds the echo privilege: booking would refuse everyone, so nothing is offered.
    assert selectors.find_slots(actor=clinic.desk, query=query) == []
    wednesday = TUESDAY + dt.timedelta(days=1)
    services.request_privilege(
        actor=credentialed.coordinator,
        practitioner_id=clinic.heart.pk,
        data=services.PrivilegeInput(
            location_id=clinic.location.pk, service_code="echo", status="granted", expires_on=wednesday
        ),
    )
    slots = selectors.find_slots(actor=clinic.desk, query=query)
    assert slots
    assert {s.start.date() for s in slots} == {TUESDAY, wednesday}
    assert _who(slots) == {clinic.heart.pk}
    later = SlotQuery(**{**query.__dict__, "first_day": wednesday + dt.timedelta(days=1)})
    assert selectors.find_slots(actor=clinic.desk, query=later) == []


def test_the_check_reads_credentials_once_per_search_not_per_slot_or_day(credentialed) -> None:
    clinic = credentialed.clinic
    patient = clinic.patient(state="NJ")
    grant(credentialed.coordinator, clinic.heart.pk, clinic.location.pk, "echo")

    def license_reads(limit: int) -> tuple[int, int]:
        query = SlotQuery(
            visit_type_id=clinic.video.pk,
            location_id=clinic.location.pk,
            first_day=TUESDAY,
            modality="telehealth",
            patient_id=patient.pk,
            limit=limit,
        )
        with CaptureQueriesContext(connection) as queries:
            found = selectors.find_slots(actor=clinic.desk, query=query)
        reads = sum('"credentialing_statelicense"' in q["sql"] for q in queries.captured_queries)
        return reads, len(found)

    few = license_reads(2)
    many = license_reads(50)  # several days and booking chunks
    assert few[1] == 2
    assert many[1] == 50
    # The licenses are set-up read once per process (scheduling.setup_cache) with the rest of the
    # credential facts, whatever the number of slots or days: none once kept.
    assert few[0] <= 1
    assert many[0] == 0


def test_without_credential_data_everyone_is_offered_as_before(org, cred_now) -> None:
    clinic = build_clinic(org)
    patient = clinic.patient(state="NJ")
    query = SlotQuery(
        visit_type_id=clinic.video.pk,
        location_id=clinic.location.pk,
        first_day=TUESDAY,
        modality="telehealth",
        patient_id=patient.pk,
        limit=20,
    )
    assert _offered(clinic, query) == {clinic.heart.pk, clinic.family.pk}
