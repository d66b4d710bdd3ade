"""Coded errors of the coverage app."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class PayerNotFound(NotFound):
    code = "payer_not_found"


class PlanNotFound(NotFound):
    code = "plan_not_found"


class CoverageNotFound(NotFound):
    code = "coverage_not_found"


class EligibilityCheckNotFound(NotFound):
    code = "eligibility_check_not_found"


class BatchNotFound(NotFound):
    code = "eligibility_batch_not_found"


class InvalidCoverage(ValidationFailed):
    code = "invalid_coverage"


class OrderTaken(Conflict):
    """Another active coverage of the patient already has this order (primary, secondary, tertiary)."""

    code = "coverage_order_taken"


class CoverageEnded(Conflict):
    code = "coverage_ended"


class DuplicatePayer(Conflict):
    code = "duplicate_payer"


class StaleVersion(Conflict):
    code = "stale_version"


class EligibilityNotPossible(ValidationFailed):
    """The coverage lacks what a 270 needs, or its payer cannot be reached."""

    code = "eligibility_not_possible"


class InvalidEligibilityResponse(ValidationFailed):
    """A 271 that cannot be read, or that answers no request of ours."""

    code = "invalid_eligibility_response"


class AuthorizationNotFound(NotFound):
    code = "authorization_not_found"


class AuthorizationRuleNotFound(NotFound):
    code = "authorization_rule_not_found"


class InvalidAuthorization(ValidationFailed):
    code = "invalid_authorization"


class DuplicateAuthorizationRule(Conflict):
    code = "duplicate_authorization_rule"


class AuthorizationClosed(Conflict):
    """The authorization's status does not allow this step (e.g. approving a cancelled one)."""

    code = "authorization_closed"


class AuthorizationNotUsable(Conflict):
    """No unit can be used: not approved, out of its dates, or used up (the message says which)."""

    code = "authorization_not_usable"
