"""Credentialing in the JSON API (/api/v1/...): a practitioner's credentials and privileges, adding a
license or a privilege, the credential check (may this practitioner do this service here, and who else
would), and the credentials expiring soon.

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Bad input (unknown state, expiry before issue) answers
400 with the field at fault and changes nothing; a second active privilege for the same service 409.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.credentialing import clock, selectors, services
from caredesk.credentialing.models import Privilege, StateLicense

from .api import API_PREFIX, ERRORS, MAX_ID, PractitionerId, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

TAGS = ["credentialing"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


class LicenseOut(Schema):
    id: int
    state: str
    number: str
    license_type: str
    status: str
    issued_on: dt.date | None
    expires_on: dt.date
    expired: bool

    @staticmethod
    def resolve_expired(obj: StateLicense) -> bool:
        return obj.expires_on < clock.today()


class DeaOut(Schema):
    id: int
    state: str
    number: str
    schedules: list[str]
    status: str
    expires_on: dt.date

    @staticmethod
    def resolve_schedules(obj: Any) -> list[str]:
        return list(obj.schedule_list)


class BoardOut(Schema):
    id: int
    board: str
    specialty: str
    status: str
    issued_on: dt.date | None
    expires_on: dt.date


class MalpracticeOut(Schema):
    id: int
    carrier: str
    policy_number: str
    status: str
    issued_on: dt.date | None
    expires_on: dt.date


class PrivilegeOut(Schema):
    id: int
    practitioner_id: int
    location_id: int
    service_code: str
    service_label: str
    status: str
    starts_on: dt.date | None
    expires_on: dt.date | None
    active: bool

    @staticmethod
    def resolve_active(obj: Privilege) -> bool:
        return selectors.privilege_is_active(obj)


class CredentialsOut(Schema):
    practitioner_id: int
    npi: str
    npi_valid: bool
    licenses: list[LicenseOut]
    dea_registrations: list[DeaOut]
    board_certifications: list[BoardOut]
    malpractice: list[MalpracticeOut]
    privileges: list[PrivilegeOut]


class LicenseIn(InputSchema):
    state: str = Field(max_length=20, examples=["NJ"])
    number: str = Field(max_length=40)
    license_type: str = "medical"
    issued_on: dt.date | None = None
    expires_on: dt.date


class PrivilegeIn(InputSchema):
    location_id: int = Field(ge=1, le=MAX_ID)
    service_code: str = Field(max_length=40, description="A visit-type code or a procedure code")
    service_label: str = Field("", max_length=200)
    status: str = Field("requested", description="requested, granted or provisional")
    starts_on: dt.date | None = None
    expires_on: dt.date | None = None


class CheckQuery(Schema):
    service_code: str = Field(max_length=40)
    location_id: int = Field(ge=1, le=MAX_ID)
    state: str = Field(
        max_length=2, description="Where the service happens (telehealth: the patient's state)"
    )
    date: dt.date | None = Field(None, description="Default: today")
    controlled_substance: bool = False


class AlternativeOut(Schema):
    id: int
    name: str


class CheckOut(Schema):
    ok: bool
    reasons: list[str]
    alternatives: list[AlternativeOut]


class ExpiringOut(Schema):
    kind: str
    credential_id: int
    practitioner_id: int
    practitioner: str
    description: str
    expires_on: dt.date
    days_left: int


class ExpiringListOut(Schema):
    today: dt.date
    days: int
    results: list[ExpiringOut]


class ExpiringQuery(Schema):
    days: int = Field(90, ge=1, le=365)


@endpoint(
    "GET",
    "/practitioners/{practitioner_id}/credentials",
    Permission.CREDENTIAL_VIEW,
    response={200: CredentialsOut, **ERRORS},
    summary="A practitioner's credentials and privileges",
    tags=TAGS,
)
def read_credentials(request: HttpRequest, practitioner_id: PractitionerId) -> Any:
    """Licenses, DEA registrations, board certifications, malpractice coverage and privileges."""
    file = selectors.credential_file(actor=actor_of(request), practitioner_id=practitioner_id)
    return {
        "practitioner_id": file.practitioner.pk,
        "npi": file.practitioner.npi,
        "npi_valid": file.npi_ok,
        "licenses": file.licenses,
        "dea_registrations": file.deas,
        "board_certifications": file.boards,
        "malpractice": file.malpractice,
        "privileges": file.privileges,
    }


@endpoint(
    "POST",
    "/practitioners/{practitioner_id}/licenses",
    Permission.CREDENTIAL_MANAGE,
    response={201: LicenseOut, **WRITE_ERRORS},
    summary="Add a state license",
    tags=TAGS,
)
def add_license(
    request: HttpRequest, practitioner_id: PractitionerId, payload: LicenseIn, response: HttpResponse
) -> Any:
    """400 for an unknown state or an expiry not after the issue date (nothing is written)."""
    license_ = services.add_license(
        actor=actor_of(request),
        practitioner_id=practitioner_id,
        data=services.LicenseInput(
            state=payload.state,
            number=payload.number,
            license_type=payload.license_type,
            issued_on=payload.issued_on,
            expires_on=payload.expires_on,
        ),
    )
    response["Location"] = request.build_absolute_uri(
        f"{API_PREFIX}/practitioners/{practitioner_id}/credentials"
    )
    return Status(201, license_)


@endpoint(
    "POST",
    "/practitioners/{practitioner_id}/privileges",
    Permission.CREDENTIAL_MANAGE,
    response={201: PrivilegeOut, **WRITE_ERRORS},
    summary="Request or grant a privilege",
    tags=TAGS,
)
def add_privilege(
    request: HttpRequest, practitioner_id: PractitionerId, payload: PrivilegeIn, response: HttpResponse
) -> Any:
    """409 when the practitioner already holds an active privilege for that service at that location."""
    privilege = services.request_privilege(
        actor=actor_of(request),
        practitioner_id=practitioner_id,
        data=services.PrivilegeInput(**payload.model_dump()),
    )
    response["Location"] = request.build_absolute_uri(f"/fhir/PractitionerRole/{privilege.pk}")
    return Status(201, privilege)


@endpoint(
    "GET",
    "/practitioners/{practitioner_id}/credential-check",
    Permission.CREDENTIAL_VIEW,
    response={200: CheckOut, **ERRORS},
    summary="Check a practitioner for a service",
    tags=TAGS,
)
def check(request: HttpRequest, practitioner_id: PractitionerId, query: Query[CheckQuery]) -> Any:
    """Active license in `state`, a granted or provisional privilege for the service at the location, a DEA
    registration for controlled substances. When not: the reasons in plain words and who would pass."""
    result = services.check_practitioner(
        actor=actor_of(request),
        practitioner_id=practitioner_id,
        service_code=query.service_code,
        location_id=query.location_id,
        service_state=query.state,
        on_date=query.date or clock.today(),
        controlled_substance=query.controlled_substance,
    )
    return {"ok": result.ok, "reasons": result.reasons, "alternatives": result.alternatives}


@endpoint(
    "GET",
    "/credentials/expiring",
    Permission.CREDENTIAL_VIEW,
    response={200: ExpiringListOut, **ERRORS},
    summary="Credentials expiring soon",
    tags=TAGS,
)
def expiring(request: HttpRequest, query: Query[ExpiringQuery]) -> Any:
    """Licenses, DEA registrations, board certifications and malpractice coverage lapsing within `days`."""
    report = selectors.expiring_report(actor=actor_of(request), days=query.days)
    return {"today": report.today, "days": report.days, "results": report.rows}
