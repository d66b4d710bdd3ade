"""Coded errors of the billing app."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class ClaimNotFound(NotFound):
    code = "claim_not_found"


class ProcedureCodeNotFound(NotFound):
    code = "procedure_code_not_found"


class InvalidCharges(ValidationFailed):
    code = "invalid_charges"


class InvalidCodeList(ValidationFailed):
    code = "invalid_code_list"


class ClaimBlocked(Conflict):
    """The scrubber found problems, or the lifecycle does not allow the step."""

    code = "claim_blocked"
