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


class InvalidPayment(ValidationFailed):
    """A patient payment that cannot be taken: amount, method or reference."""

    code = "invalid_payment"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class StatementNotFound(NotFound):
    code = "statement_not_found"


class InvalidReport(ValidationFailed):
    """A billing report asked for with dates or a period it cannot use."""

    code = "invalid_report"


class RemittanceClaimNotFound(NotFound):
    code = "remittance_claim_not_found"


class VisitChargeNotFound(NotFound):
    code = "visit_charge_not_found"
