"""Referral fixtures: staff of every role, a patient with a document, receivers, a movable clock, and a
referral builder that goes through the services like every other caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.patients import services as patient_services
from caredesk.patients.models import Patient
from caredesk.referrals import clock, services
from caredesk.referrals.models import Referral, ReferralReceiver
from caredesk.worklist import clock as worklist_clock
from tests.patients.factories import make_patient
from tests.worklist.conftest import staff_user

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Clock:
    """Now, movable: `clock.advance(days=3)` moves referrals' and the worklist's time together."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = NOW
        monkeypatch.setattr(clock, "now", lambda: self.now)
        monkeypatch.setattr(worklist_clock, "now", lambda: self.now)

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def frozen(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def staff(org) -> dict[str, User]:
    return {role: staff_user(org, role, f"r-{role}") for role in Role.values if role != Role.PATIENT}


@pytest.fixture
def actors(staff, actor_of) -> dict[str, Actor]:
    return {role: actor_of(user) for role, user in staff.items()}


@pytest.fixture
def coord(actors) -> Actor:
    return actors[Role.COORDINATOR]


@pytest.fixture
def patient(coord) -> Patient:
    return make_patient(coord, family_name="Referson", given_name="Rita")


@pytest.fixture
def document(coord, patient, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return patient_services.upload_document(
        actor=coord,
        patient_id=patient.pk,
        title="Echo report",
        uploaded_file=SimpleUploadedFile("echo.pdf", PDF, content_type="application/pdf"),
    )


@pytest.fixture
def stranger(other_org, actor_of) -> Actor:
    return actor_of(staff_user(other_org, Role.COORDINATOR, "r-stranger"))


@pytest.fixture
def other_patient(stranger) -> Patient:
    return make_patient(stranger, family_name="Elsewhere")


@pytest.fixture
def heart(coord) -> ReferralReceiver:
    return services.add_receiver(
        actor=coord,
        data=services.ReceiverInput(name="Heart Partners", specialty="cardiology", kind="organization"),
    )


@pytest.fixture
def valve(coord) -> ReferralReceiver:
    return services.add_receiver(
        actor=coord, data=services.ReceiverInput(name="Dr Valve", specialty="cardiology", npi="1234567893")
    )


@pytest.fixture
def make_referral(coord, patient, heart) -> Callable[..., Referral]:
    """`make_referral(send=True, urgency="urgent", actor=..., **NewReferral fields)`."""

    def make(*, send: bool = True, actor: Actor | None = None, **fields: Any) -> Referral:
        fields.setdefault("patient_id", patient.pk)
        fields.setdefault("specialty", "cardiology")
        fields.setdefault("reason", "Exertional chest pain")
        fields.setdefault("receiver_id", heart.pk)
        fields.setdefault("diagnoses", ["I20.9"])
        return services.create_referral(actor=actor or coord, data=services.NewReferral(**fields), send=send)

    return make


def walk(actor: Actor, referral: Referral, *actions: str, **extra: Any) -> Referral:
    """Take these steps in order (schedule gets an appointment a week ahead unless given)."""
    for action in actions:
        kwargs = dict(extra)
        if action == "schedule":
            kwargs.setdefault("appointment_at", clock.now() + dt.timedelta(days=7))
        if action in ("decline", "cancel"):
            kwargs.setdefault("note", "No capacity")
        referral = services.act(actor=actor, referral_id=referral.pk, action=action, **kwargs)
    return referral


__all__ = ["NOW", "Clock", "walk"]
