"""Practitioner -> FHIR R4 Practitioner (validated with fhir.resources.R4B). Pure mapping.

The NPI is an identifier under `http://hl7.org/fhir/sid/us-npi`; credentials (MD, NP …) are name suffixes.
State licenses and board certifications (from credentialing) are `qualification`s: the license number
under a per-state identifier system, the type as text, the valid period, the issuing state or board. The
privileges per facility and service are PractitionerRoles (fhir/practitioner_role.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner

from caredesk.credentialing.models import BoardCertification, StateLicense
from caredesk.credentialing.rules import LICENSING_STATES
from caredesk.practitioners.models import Practitioner

from .common import compact, instant

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
LICENSE_SYSTEM = "urn:caredesk:state-license:"  # + the two-letter state code
QUALIFICATION_KIND_SYSTEM = "urn:caredesk:qualification-kind"


def _period(start: Any, end: Any) -> dict[str, str | None]:
    return {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None}


def license_qualification(license_: StateLicense) -> dict[str, Any]:
    state = LICENSING_STATES.get(license_.state, license_.state)
    kind, status = license_.get_license_type_display(), license_.get_status_display().lower()
    return {
        "identifier": [{"system": LICENSE_SYSTEM + license_.state, "value": license_.number}],
        "code": {
            "coding": [
                {"system": QUALIFICATION_KIND_SYSTEM, "code": "state-license", "display": "State license"}
            ],
            "text": f"{state} {kind} license ({status})",
        },
        "period": _period(license_.issued_on, license_.expires_on),
        "issuer": {"display": f"{state} licensing board"},
    }


def board_qualification(board: BoardCertification) -> dict[str, Any]:
    return {
        "code": {
            "coding": [
                {
                    "system": QUALIFICATION_KIND_SYSTEM,
                    "code": "board-certification",
                    "display": "Board certification",
                }
            ],
            "text": f"Board certified in {board.specialty}",
        },
        "period": _period(board.issued_on, board.expires_on),
        "issuer": {"display": board.board},
    }


def practitioner_to_fhir(
    practitioner: Practitioner,
    licenses: Sequence[StateLicense] = (),
    boards: Sequence[BoardCertification] = (),
) -> FhirPractitioner:
    data: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(practitioner.pk),
        "meta": {"lastUpdated": instant(practitioner.updated_at)},
        "identifier": [{"use": "official", "system": NPI_SYSTEM, "value": practitioner.npi}],
        "active": practitioner.active,
        "name": [
            {
                "use": "official",
                "text": str(practitioner),
                "family": practitioner.family_name,
                "given": [practitioner.given_name],
                "suffix": [practitioner.credentials],
            }
        ],
        "telecom": [
            {"system": "phone", "value": practitioner.phone, "use": "work"} if practitioner.phone else None,
            {"system": "email", "value": practitioner.email, "use": "work"} if practitioner.email else None,
        ],
        "qualification": [license_qualification(x) for x in licenses]
        + [board_qualification(b) for b in boards],
    }
    return FhirPractitioner.model_validate(compact(data))
