"""Practitioner -> FHIR R4 Practitioner (validated with fhir.resources.R4B). Pure mapping.

The NPI is an identifier under `http://hl7.org/fhir/sid/us-npi`; credentials (MD, NP …) are name suffixes.
The specialty belongs on a PractitionerRole, which Caredesk does not serve yet, so it is left out here.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner

from caredesk.practitioners.models import Practitioner

from .common import compact, instant

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def practitioner_to_fhir(practitioner: Practitioner) -> FhirPractitioner:
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
    }
    return FhirPractitioner.model_validate(compact(data))
