"""Test data builders for the patients app. They go through the services, like a registrar would, so
every patient in a test has a real MRN, search keys, telecom digits and its audit rows."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Role, permissions_for
from caredesk.core.context import Actor, system_actor
from caredesk.patients import services
from caredesk.patients.models import Patient
from caredesk.patients.schemas import IdentifierInput, PatientInput, RelatedPersonInput, TelecomInput

GIVEN_NAMES = ["Ava", "Liam", "Maya", "Noah", "Iris", "Omar", "Lena", "Theo", "Ruth", "Ezra"]

# Smallest valid files of each accepted type (signatures only; the services sniff the first bytes).
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(16) + b"\xff\xd9"


def _letters(n: int) -> str:
    """0 -> "a", 25 -> "z", 26 -> "ba": distinct letter-only suffixes for family names."""
    out = ""
    while True:
        out = chr(ord("a") + n % 26) + out
        n //= 26
        if n == 0:
            return out


class PatientInputFactory(factory.Factory):
    """A valid PatientInput; every one has its own family name and birth date, so they never look like
    duplicates of each other unless a test says so."""

    class Meta:
        model = PatientInput

    given_name = factory.Iterator(GIVEN_NAMES)
    family_name = factory.Sequence(lambda n: f"Fixture{_letters(n)}")
    birth_date = factory.Sequence(
        lambda n: dt.date(1940, 1, 1) + dt.timedelta(days=113 * (n % 250) + n // 250)
    )
    sex = "female"
    state = "NY"
    postal_code = "10001"


def make_patient(actor: Actor, *, confirm: bool = True, **fields: Any) -> Patient:
    """Register a patient through the service (duplicates confirmed unless `confirm=False`)."""
    if "phones" in fields:
        fields["telecoms"] = [TelecomInput(value=p) for p in fields.pop("phones")]
    return services.register_patient(
        actor=actor, data=PatientInputFactory.build(**fields), confirm_not_duplicate=confirm
    )


def full_patient_input(**fields: Any) -> PatientInput:
    """A PatientInput with a phone, an identifier and an emergency contact."""
    defaults: dict[str, Any] = {
        "telecoms": [TelecomInput(value="(555) 010-2345", use="home")],
        "identifiers": [
            IdentifierInput(
                system="urn:oid:2.16.840.1.113883.4.3.36", value="D1234567", type_label="Driver's licence"
            )
        ],
        "related_persons": [
            RelatedPersonInput(name="Sam Rivera", relationship="spouse", phone="555-010-9999")
        ],
    }
    defaults.update(fields)
    return PatientInputFactory.build(**defaults)


def staff_actor(organization: Organization, role: str = Role.COORDINATOR) -> Actor:
    """An actor with a role's permissions, not tied to a user row (for threads and quick checks)."""
    return system_actor(
        organization_id=organization.pk, permissions=permissions_for(role), username=f"{role}-bot"
    )


def portal_user_for(patient: Patient, username: str = "portal") -> User:
    return User.objects.create_user(
        username=username,
        password="correct-horse-battery-staple",
        organization_id=patient.organization_id,
        role=Role.PATIENT,
        patient=patient,
    )


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


_TRIGGERS = importlib.import_module("caredesk.audit.migrations.0002_append_only_triggers")


@contextmanager
def audit_triggers_lifted(django_db_blocker: Any) -> Iterator[None]:
    """For tests with real transactions only: drop the audit table's append-only triggers so the flush
    that ends a transactional test can empty it, and create them again afterwards (the SQL is the
    migration's own, so the triggers come back exactly as migrated)."""
    down = {"sqlite": _TRIGGERS.SQLITE_DOWN, "postgresql": _TRIGGERS.POSTGRES_DOWN}
    up = {"sqlite": _TRIGGERS.SQLITE_UP, "postgresql": _TRIGGERS.POSTGRES_UP}
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for statement in down.get(connection.vendor, []):
            cursor.execute(statement)
    try:
        yield
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for statement in up.get(connection.vendor, []):
                cursor.execute(statement)
