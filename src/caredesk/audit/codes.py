"""The audit event-code registry. Codes are stable numbers (they are stored); each app owns a range.

1xx accounts and sessions   2xx patients (demographics)   3xx clinical entries
4xx documents and notes     5xx practitioners              6xx interoperability (API/FHIR)
9xx the audit trail itself
"""

from __future__ import annotations

from enum import IntEnum


class AuditAction(IntEnum):
    LOGIN = 100
    LOGIN_FAILED = 101
    LOGOUT = 102
    SESSION_IDLE_TIMEOUT = 103
    TWO_FACTOR_ENROLLED = 104
    TWO_FACTOR_VERIFIED = 105
    TWO_FACTOR_FAILED = 106
    API_TOKEN_CREATED = 110
    USER_ROLE_CHANGED = 111

    PATIENT_SEARCH = 200
    PATIENT_VIEW = 201
    PATIENT_CREATE = 202
    PATIENT_UPDATE = 203
    PATIENT_MERGE = 204
    PATIENT_EXPORT = 205
    PATIENT_DUPLICATE_CHECK = 206

    CLINICAL_VIEW = 300
    CLINICAL_ADD = 301
    CLINICAL_CORRECT = 302
    CLINICAL_RETRACT = 303

    DOCUMENT_UPLOAD = 400
    DOCUMENT_DOWNLOAD = 401
    NOTE_ADD = 402

    PRACTITIONER_VIEW = 500
    PRACTITIONER_SEARCH = 501
    PRACTITIONER_CREATE = 502
    PRACTITIONER_UPDATE = 503

    AUDIT_VIEW = 900
    AUDIT_EXPORT = 901
    DEMO_SEEDED = 990

    @property
    def kind(self) -> str:
        """ASTM E2147 type of action: C(reate) R(ead) U(pdate) D(elete) E(xecute)."""
        name = self.name
        if name.endswith(("_CREATE", "_ADD", "_UPLOAD", "_ENROLLED", "_CREATED", "SEEDED")):
            return "C"
        if name.endswith(("_UPDATE", "_CORRECT", "_MERGE", "_CHANGED")):
            return "U"
        if name.endswith("_RETRACT"):
            return "D"
        if name.startswith(("LOGIN", "LOGOUT", "SESSION", "TWO_FACTOR")):
            return "E"
        return "R"

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()
