"""Booking checks credentials through scheduling.book_appointment: refused with reasons and alternatives,
booked once someone who passes is chosen, overridden only by an administrator with a reason."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.credentialing.errors import CredentialCheckFailed
from caredesk.credentialing.models import CredentialOverride
from caredesk.scheduling import services as scheduling
from caredesk.scheduling.errors import SeriesConflict
from caredesk.scheduling.models import Appointment
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import MONDAY, at, build_clinic

TUESDAY = MONDAY + dt.timedelta(days=1)


def _video(creds, patient, practitioner, **kwargs):
    clinic = creds.clinic
    return scheduling.BookingRequest(
        patient_id=patient.pk,
        visit_type_id=clinic.video.pk,
        location_id=clinic.location.pk,
        start=at(TUESDAY, 10),
        practitioner_id=practitioner.pk,
        modality="telehealth",
        **kwargs,
    )


def test_telehealth_for_a_new_jersey_patient_is_refused_where_the_license_lapsed(credentialed) -> None:
    clinic = credentialed.clinic
    patient = clinic.patient(state="NJ", given_name="Nora", family_name="Jersey")
    with pytest.raises(CredentialCheckFailed) as refused:
        scheduling.book_appointment(actor=clinic.desk, request=_video(credentialed, patient, clinic.heart))
    error = refused.value
    assert error.http_status == 409
    assert "Cora Heart, MD cannot be booked for Follow-up (video or in person)" in error.message
    assert "New Jersey license 25MA0001 expired on 2027-01-31" in error.message
    assert "Who could: Finn Family, MD." in error.message
    assert error.details["alternatives"] == [{"id": clinic.family.pk, "name": "Finn Family, MD"}]
    assert not Appointment.objects.filter(patient=patient).exists()
    # The alternative books; the same doctor in person (New York) books too.
    scheduling.book_appointment(actor=clinic.desk, request=_video(credentialed, patient, clinic.family))
    in_person = scheduling.BookingRequest(
        patient_id=patient.pk,
        visit_type_id=clinic.follow_up.pk,
        location_id=clinic.location.pk,
        start=at(TUESDAY, 11),
        practitioner_id=clinic.heart.pk,
    )
    scheduling.book_appointment(actor=clinic.desk, request=in_person)
    assert Appointment.objects.filter(patient=patient).count() == 2


def test_only_an_administrator_books_past_the_check_and_the_reason_is_kept(credentialed) -> None:
    clinic = credentialed.clinic
    patient = clinic.patient(state="NJ")
    with pytest.raises(CredentialCheckFailed) as refused:
        scheduling.book_appointment(
            actor=clinic.desk,
            request=_video(credentialed, patient, clinic.heart, override_reason="Renewal in the mail"),
        )
    assert "Only an administrator" in refused.value.message
    admin = staff_actor(clinic.org, Role.ADMINISTRATOR)
    appointment = scheduling.book_appointment(
        actor=admin,
        request=_video(
            credentialed, patient, clinic.heart, override_reason="Board confirmed renewal by phone"
        ),
    )
    override = CredentialOverride.objects.get()
    assert override.reason == "Board confirmed renewal by phone"
    assert override.patient_id == patient.pk
    assert any("expired on 2027-01-31" in r for r in override.reasons)
    assert AuditEvent.objects.filter(
        action=AuditAction.CREDENTIAL_OVERRIDE_CREATE, patient_id=patient.pk
    ).exists()
    assert appointment.pk


def test_a_practitioner_without_the_privilege_is_refused(credentialed) -> None:
    clinic = credentialed.clinic
    patient = clinic.patient()
    request = scheduling.BookingRequest(
        patient_id=patient.pk,
        visit_type_id=clinic.echo.pk,
        location_id=clinic.location.pk,
        start=at(TUESDAY, 9),
    )
    with pytest.raises(CredentialCheckFailed) as refused:
        scheduling.book_appointment(actor=clinic.desk, request=request)
    assert "has no privilege for Echocardiogram at Riverside Main Clinic" in refused.value.message
    assert "No other practitioner here would pass." in refused.value.message


def test_an_organization_without_credential_data_books_as_before(org, cred_now) -> None:
    clinic = build_clinic(org)
    patient = clinic.patient(state="NJ")
    request = scheduling.BookingRequest(
        patient_id=patient.pk,
        visit_type_id=clinic.video.pk,
        location_id=clinic.location.pk,
        start=at(TUESDAY, 10),
        practitioner_id=clinic.heart.pk,
        modality="telehealth",
    )
    assert scheduling.book_appointment(actor=clinic.desk, request=request).pk


def test_a_series_with_a_practitioner_who_fails_the_check_books_nothing(credentialed) -> None:
    clinic = credentialed.clinic
    patient = clinic.patient(state="NJ")
    with pytest.raises(SeriesConflict) as refused:
        scheduling.book_series(
            actor=clinic.desk,
            request=_video(credentialed, patient, clinic.heart),
            every_weeks=1,
            occurrences=2,
        )
    failures = refused.value.occurrences
    assert [f["code"] for f in failures] == ["credential_check_failed", "credential_check_failed"]
    assert "expired on 2027-01-31" in failures[0]["message"]
    assert not Appointment.objects.filter(patient=patient).exists()
