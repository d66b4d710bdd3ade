"""The CapabilityStatement served at /fhir/metadata, built from what the handlers support. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from .common import compact

FHIR_VERSION = "4.0.1"
SOFTWARE_NAME = "Caredesk"
OPERATION_SYSTEM = "urn:caredesk:operation"  # OperationDefinition.url of our own operations


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # string, token, date, reference, number
    documentation: str = ""


@dataclass(frozen=True)
class ResourceSupport:
    type: str
    interactions: tuple[str, ...]  # read, search-type, create
    search_params: tuple[SearchParam, ...] = ()
    documentation: str = ""
    operations: tuple[tuple[str, str], ...] = ()  # (name without "$", documentation)


def capability_statement(
    resources: Sequence[ResourceSupport], *, base_url: str, software_version: str, released: dt.date
) -> CapabilityStatement:
    rest_resources: list[dict[str, Any]] = []
    for support in resources:
        rest_resources.append(
            {
                "type": support.type,
                "documentation": support.documentation,
                "interaction": [{"code": code} for code in support.interactions],
                "searchParam": [
                    {"name": p.name, "type": p.type, "documentation": p.documentation}
                    for p in support.search_params
                ],
                "operation": [
                    {
                        "name": name,
                        "definition": f"{OPERATION_SYSTEM}:{support.type}-{name}",
                        "documentation": doc,
                    }
                    for name, doc in support.operations
                ],
                "readHistory": False,
                "updateCreate": False,
                "conditionalCreate": False,
            }
        )
    data = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": released.isoformat(),
        "publisher": "Caredesk",
        "kind": "instance",
        "software": {"name": SOFTWARE_NAME, "version": software_version},
        "implementation": {"description": "Caredesk FHIR R4 facade", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Search parameters are ANDed; each may appear once; OR lists and modifiers are refused "
                    "(400). Unknown parameters are ignored unless 'Prefer: handling=strict'. Page with "
                    "_count (max 200) and _page. Patient create answers 409 with the likely duplicates "
                    "unless the request carries 'Caredesk-Confirm-Not-Duplicate: true'."
                ),
                "security": {
                    "cors": False,
                    "description": (
                        "Send 'Authorization: Bearer <token>' (from 'caredesk create_api_token'). "
                        "What a token may see follows its user's role and organization; a patient's own "
                        "token sees only their own record."
                    ),
                },
                "resource": rest_resources,
            }
        ],
    }
    return CapabilityStatement.model_validate(compact(data))
