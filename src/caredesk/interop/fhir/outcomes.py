"""OperationOutcome: how FHIR says no. `FhirError` carries the HTTP status and the issue; `outcome()` builds
the validated R4B resource. Domain errors map here (one place) to status and issue code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

from caredesk.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue. `code` is from http://hl7.org/fhir/issue-type (invalid, structure,
    required, value, not-found, forbidden, login, duplicate, conflict, business-rule, not-supported,
    processing, exception, too-costly)."""

    code: str
    diagnostics: str
    severity: str = "error"
    expression: tuple[str, ...] = ()
    details_code: str = ""  # our stable error code (e.g. duplicate_suspected), as details.coding
    details_text: str = ""


class FhirError(Exception):
    """Answer `status` with an OperationOutcome of `issues`."""

    def __init__(self, status: int, issues: list[Issue]) -> None:
        super().__init__(status, issues)
        self.status = status
        self.issues = issues

    @classmethod
    def single(
        cls,
        status: int,
        code: str,
        diagnostics: str,
        *,
        expression: Sequence[str] = (),
        details_code: str = "",
    ) -> FhirError:
        return cls(
            status, [Issue(code, diagnostics, expression=tuple(expression), details_code=details_code)]
        )

    def __str__(self) -> str:
        return "; ".join(issue.diagnostics for issue in self.issues)


ERROR_CODE_SYSTEM = "urn:caredesk:error-code"


def outcome(issues: Iterable[Issue]) -> OperationOutcome:
    rows: list[dict[str, Any]] = []
    for issue in issues:
        row: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code,
            "diagnostics": issue.diagnostics,
        }
        if issue.expression:
            row["expression"] = list(issue.expression)
        details: dict[str, Any] = {}
        if issue.details_code:
            details["coding"] = [{"system": ERROR_CODE_SYSTEM, "code": issue.details_code}]
        if issue.details_text:
            details["text"] = issue.details_text
        if details:
            row["details"] = details
        rows.append(row)
    return OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": rows})


def information(message: str) -> OperationOutcome:
    return outcome([Issue("informational", message, severity="information")])


def from_domain_error(exc: DomainError, *, validation_status: int = 400, expression: str = "") -> FhirError:
    """A coded domain error as status and issue. `validation_status` is 422 where a valid resource broke a
    business rule (create), 400 where the request itself was malformed (search parameters); `expression`
    is the FHIRPath of the element at fault, when known."""
    expressions = (expression,) if expression else ()
    if isinstance(exc, NotFound):
        return FhirError.single(404, "not-found", exc.message, details_code=exc.code)
    if isinstance(exc, Forbidden):
        return FhirError.single(403, "forbidden", exc.message, details_code=exc.code)
    if isinstance(exc, Conflict):
        code = "duplicate" if exc.code == "duplicate_suspected" else "conflict"
        return FhirError.single(409, code, exc.message, details_code=exc.code)
    if isinstance(exc, ValidationFailed):
        code = "business-rule" if validation_status == 422 else "invalid"
        return FhirError.single(
            validation_status, code, exc.message, expression=expressions, details_code=exc.code
        )
    status = exc.http_status if 400 <= exc.http_status < 500 else 400
    return FhirError.single(status, "business-rule" if status == 422 else "processing", exc.message)


def write_error(exc: DomainError, *, expression: str = "") -> FhirError:
    """A refused create or update of a valid resource: 403 stays 403, a conflict 409 (a stale version
    is the caller's to map to 412), and anything the resource names that is missing or breaks a rule
    (an unknown patient, assignee or receiver; an invalid code) 422 at `expression`."""
    if isinstance(exc, NotFound):
        expressions = (expression,) if expression else ()
        return FhirError.single(
            422, "business-rule", exc.message, expression=expressions, details_code=exc.code
        )
    return from_domain_error(exc, validation_status=422, expression=expression)
