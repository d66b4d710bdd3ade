"""The answers that are not the matrix's defaults, each with its reason.

Defaults: a user allowed to open a page gets 200 (a POST-only page: 405 to a GET, with `Allow` naming
the methods it takes); a writing API/FHIR call gets its body sample's status; a user without the
permission gets 403; another organization's user with the permission gets 404 for anything of the
first organization; an anonymous visitor is sent to sign in (pages) or gets 401 (API/FHIR).
Keys are URL names ("core:home") or "METHOD /path/{keyword}".
"""

from __future__ import annotations

from typing import TypeVar

from .endpoints import Endpoint

#: Status a user allowed to open the endpoint gets, when it is not 200.
ALLOWED_STATUS: dict[str, tuple[int, str]] = {
    "core:home": (302, "the home page sends each role to its own page (worklist, schedule, claims, portal)"),
    "accounts:otp_verify": (
        302,
        "nothing to verify: the matrix's users either verified their authenticator or have none, and go on",
    ),
    "scheduling:offer": (
        400,
        "public by signed link: the matrix has no waitlist offer to link to; without a link it is refused",
    ),
}

#: Roles that hold an endpoint's permission but whom its use case refuses all the same (403), with why.
ROLE_REFUSED: dict[str, dict[str, str]] = {
    "POST /api/v1/patients/{patient_id}/ccm-time": {
        "administrator": "only clinical staff minutes count toward CCM (rules.CCM_CLINICAL_STAFF_ROLES)",
    },
}

#: Pages that may show a patient's MRN or name without an audit row naming that patient.
AUDIT_EXEMPT: dict[str, str] = {
    "audit:list": "the audit trail itself lists the MRNs of audited events; reading it writes AUDIT_VIEW",
    "audit:export": "the audit trail's CSV lists MRNs of audited events; exporting it writes AUDIT_EXPORT",
}

T = TypeVar("T")


def lookup(table: dict[str, T], endpoint: Endpoint) -> T | None:
    return next((table[name] for name in endpoint.names() if name in table), None)
