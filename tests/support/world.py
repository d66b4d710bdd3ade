"""The world the permission matrix and the audit-coverage test run in.

Two organizations. In each, a user of every role (the patient role is a portal user bound to a patient
of that organization). In the first: the sample patient with a full chart (problem, allergy, medication,
observation, note, document), a practitioner and a location; the portal user of the first organization is
that sample patient. Everything is built through the services, as a user would.

`World.call(endpoint, user)` answers an endpoint as `user` (None: anonymous): pages through a signed-in
session (with a verified second factor for the roles that need one), the JSON API and FHIR with the
user's bearer token.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseBase
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from caredesk.accounts.models import Location, Organization, User
from caredesk.accounts.permissions import Permission, Role
from caredesk.accounts.services import actor_for_user, create_api_token
from caredesk.core.context import Actor, system_actor
from caredesk.patients import services as patient_services
from caredesk.patients.models import Patient
from caredesk.patients.schemas import PatientInput, TelecomInput
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.rules import npi_check_digit
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from tests.patients.factories import PDF_BYTES, upload

from .endpoints import Endpoint
from .module_data import built_once
from .samples import body_for, missing_sample_message, query_for, sample_for

#: The sample patient's name: distinctive, so finding it in a page means the page shows the patient.
SAMPLE_GIVEN, SAMPLE_FAMILY = "Ottoline", "Quarrendon"
OTHER_GIVEN, OTHER_FAMILY = "Bartholomew", "Wrenfield"
CLIENT_IP = "127.0.0.1"


class MissingSample(LookupError):
    """A URL keyword, query or body the matrix has no sample for (the message says what to add)."""


def valid_npi(n: int) -> str:
    first_nine = f"1{n:08d}"
    return first_nine + str(npi_check_digit(first_nine))


def content(response: HttpResponseBase) -> str:
    """The body of any response (streamed ones too) as text."""
    streamed = getattr(response, "streaming", False)
    raw = b"".join(response.streaming_content) if streamed else response.content  # type: ignore[attr-defined]
    return raw.decode("utf-8", errors="replace")


@dataclass
class World:
    org: Organization
    other_org: Organization
    location: Location
    users: dict[str, User]  # role -> user of the first organization
    strangers: dict[str, User]  # role -> user of the other organization
    patient: Patient
    other_patient: Patient
    practitioner: Practitioner
    chart: dict[str, Any]
    _clients: dict[int | None, Client] = field(default_factory=dict)
    _tokens: dict[int, str] = field(default_factory=dict)

    def fresh(self) -> World:
        """Forget what the previous test added: its signed-in sessions and tokens, and what the samples
        built lazily and remembered on the world (`world.__dict__["_claim"]`, ...): all rows rolled back."""
        self._clients.clear()
        self._tokens.clear()
        for key in [k for k in vars(self) if k.startswith("_") and k not in ("_clients", "_tokens")]:
            del self.__dict__[key]
        return self

    # --- what may never leak ---------------------------------------------------------------------

    @property
    def leak_markers(self) -> tuple[str, ...]:
        """Text that appears only where the sample patient is shown."""
        return (self.patient.family_name, self.patient.mrn)

    def leaks(self, text: str) -> list[str]:
        return [marker for marker in self.leak_markers if marker in text]

    # --- URLs ------------------------------------------------------------------------------------

    def kwargs(self, endpoint: Endpoint) -> dict[str, object]:
        values = {}
        for keyword in endpoint.kwargs:
            found = sample_for(endpoint, keyword)
            if found is None:
                raise MissingSample(missing_sample_message(endpoint, keyword))
            values[keyword] = found.build(self)
        return values

    def is_scoped(self, endpoint: Endpoint) -> bool:
        """Whether the URL names something of the first organization (another organization: 404)."""
        return any(getattr(sample_for(endpoint, k), "scoped", False) for k in endpoint.kwargs)

    def names_patient_data(self, endpoint: Endpoint) -> bool:
        """Whether the URL is about patient data (a patient-data keyword) or the portal user's own
        record (PORTAL_OWN_RECORD): then every 200 must come with an audit row naming the patient."""
        by_keyword = any(getattr(sample_for(endpoint, k), "patient_data", False) for k in endpoint.kwargs)
        return by_keyword or Permission.PORTAL_OWN_RECORD in {endpoint.permission, *endpoint.also}

    def url(self, endpoint: Endpoint, method: str = "GET") -> str:
        url = endpoint.url(self.kwargs(endpoint))
        build_query = query_for(endpoint)
        if method == "GET" and build_query is not None:
            url += "?" + urlencode(build_query(self))
        return url

    # --- acting as someone -----------------------------------------------------------------------

    def everyone(self) -> list[tuple[str, User | None, bool]]:
        """(label, user, of the first organization) for every role in both organizations, then anonymous."""
        people: list[tuple[str, User | None, bool]] = [(role, self.users[role], True) for role in Role.values]
        people += [(f"{role} (other organization)", self.strangers[role], False) for role in Role.values]
        people.append(("anonymous", None, False))
        return people

    def client(self, user: User | None) -> Client:
        """A browser session signed in as `user` (None: not signed in)."""
        key = None if user is None else user.pk
        if key not in self._clients:
            client = Client(REMOTE_ADDR=CLIENT_IP)
            if user is not None:
                client.force_login(user)
                if user.role in settings.CAREDESK_2FA_REQUIRED_ROLES:
                    device = TOTPDevice.objects.create(user=user, name="matrix", confirmed=True)
                    session = client.session
                    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
                    session.save()
            self._clients[key] = client
        return self._clients[key]

    def token(self, user: User) -> str:
        if user.pk not in self._tokens:
            cli = system_actor(organization_id=None, permissions=frozenset(), username="matrix")
            self._tokens[user.pk] = create_api_token(actor=cli, username=user.username, name="matrix")[1]
        return self._tokens[user.pk]

    def call(self, endpoint: Endpoint, user: User | None, *, method: str | None = None) -> HttpResponseBase:
        """Answer `endpoint` as `user`. A page POSTed by the matrix gets an empty form: it only ever does
        that to check a refusal."""
        method = (method or endpoint.method).upper()
        url = self.url(endpoint, method)
        if not endpoint.uses_token:
            client = self.client(user)
            return client.get(url) if method == "GET" else client.generic(method, url)
        headers = {} if user is None else {"HTTP_AUTHORIZATION": f"Bearer {self.token(user)}"}
        client = Client(REMOTE_ADDR=CLIENT_IP)
        if method in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return client.generic(method, url, **headers)
        body = body_for(endpoint)
        if body is None:
            raise MissingSample(
                f"{endpoint} writes, and the matrix has no request body for it. Add one to "
                f"tests/support/samples.py:\n\n"
                f"    @body({endpoint.key!r}, status=201)\n"
                f"    def _body(world: World, user: User) -> object:\n"
                f"        return {{...}}  # valid for `user`, different per user (each allowed role writes)\n"
            )
        payload = body.build(self, user if user is not None else self.users[Role.COORDINATOR])
        data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        return client.generic(method, url, data, content_type=body.content_type, **headers)


# --- building it -----------------------------------------------------------------------------------


def _person(organization: Organization, role: str, suffix: str, patient: Patient | None = None) -> User:
    return User.objects.create_user(
        username=f"{role}-{suffix}",
        password=None,  # unusable: the matrix signs in with force_login and tokens
        organization=organization,
        role=role,
        patient=patient,
        first_name=role.replace("_", " ").title(),
        last_name=f"Matrix{suffix.upper()}",
    )


def _register(actor: Actor, given: str, family: str, birth_date: dt.date) -> Patient:
    data = PatientInput(
        given_name=given,
        family_name=family,
        birth_date=birth_date,
        sex="female",
        state="NY",
        postal_code="10001",
        telecoms=[TelecomInput(value="(555) 014-7788", use="mobile")],
    )
    return patient_services.register_patient(actor=actor, data=data, confirm_not_duplicate=True)


def _chart(actor: Actor, patient: Patient) -> dict[str, Any]:
    return {
        "problem": patient_services.add_problem(actor=actor, patient_id=patient.pk, icd10_code="E11.9"),
        "allergy": patient_services.add_allergy(
            actor=actor, patient_id=patient.pk, substance="Penicillin", reaction="Hives"
        ),
        "medication": patient_services.add_medication(
            actor=actor, patient_id=patient.pk, name="Metformin 500 mg tablet", dose="500 mg"
        ),
        "observation": patient_services.add_observation(
            actor=actor, patient_id=patient.pk, kind="heart_rate", value=72
        ),
        "note": patient_services.add_note(
            actor=actor, patient_id=patient.pk, title="Care plan", body="Call back in two weeks."
        ),
        "document": patient_services.upload_document(
            actor=actor,
            patient_id=patient.pk,
            title="Referral letter",
            uploaded_file=upload("referral.pdf", PDF_BYTES),
        ),
    }


@contextmanager
def shared_world(django_db_blocker: Any, media_root: Path) -> Iterator[World]:
    """One world for a whole test module, built once instead of once per test (the matrix has hundreds),
    inside the module's outer transaction (tests/support/module_data.py). Use `World.fresh()` at the
    start of each test."""
    with override_settings(MEDIA_ROOT=media_root), built_once(django_db_blocker, build_world) as world:
        yield world


def build_world() -> World:
    """Everything the matrix needs (call inside a test with the database; set MEDIA_ROOT first)."""
    org = Organization.objects.create(name="Matrix North Clinic", short_code="MXN")
    location = Location.objects.create(organization=org, name="North Main Clinic", state="NY")
    other_org = Organization.objects.create(name="Matrix South Clinic", short_code="MXS")
    Location.objects.create(organization=other_org, name="South Main Clinic", state="NJ")

    staff_roles = [role for role in Role.values if role != Role.PATIENT]
    users = {role: _person(org, role, "a") for role in staff_roles}
    strangers = {role: _person(other_org, role, "b") for role in staff_roles}

    patient = _register(
        actor_for_user(users[Role.COORDINATOR]), SAMPLE_GIVEN, SAMPLE_FAMILY, dt.date(1961, 3, 14)
    )
    other_patient = _register(
        actor_for_user(strangers[Role.COORDINATOR]), OTHER_GIVEN, OTHER_FAMILY, dt.date(1975, 8, 2)
    )
    users[Role.PATIENT] = _person(org, Role.PATIENT, "a", patient)
    strangers[Role.PATIENT] = _person(other_org, Role.PATIENT, "b", other_patient)

    chart = _chart(actor_for_user(users[Role.COORDINATOR]), patient)
    practitioner = create_practitioner(
        actor=actor_for_user(users[Role.ADMINISTRATOR]),
        data=PractitionerInput(
            given_name="Imogen",
            family_name="Hartsfield",
            npi=valid_npi(4242),
            specialty="family_medicine",
            location_ids=[location.pk],
        ),
    )
    return World(
        org=org,
        other_org=other_org,
        location=location,
        users=users,
        strangers=strangers,
        patient=patient,
        other_patient=other_patient,
        practitioner=practitioner,
        chart=chart,
    )
