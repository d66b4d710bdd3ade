"""Coded errors of care plans and CCM."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class PlanNotFound(NotFound):
    code = "careplan_not_found"


class GoalNotFound(NotFound):
    code = "careplan_goal_not_found"


class ActivityNotFound(NotFound):
    code = "careplan_activity_not_found"


class UnknownTemplate(ValidationFailed):
    code = "careplan_unknown_template"


class PlanExists(Conflict):
    """The patient already has an active plan from this template."""

    code = "careplan_exists"


class PlanClosed(Conflict):
    code = "careplan_closed"


class ConsentMissing(Conflict):
    """CCM time needs documented consent first."""

    code = "ccm_consent_missing"


class OtherBillingPractitioner(Conflict):
    """Another practitioner already bills CCM for this patient in this month."""

    code = "ccm_other_billing_practitioner"


__all__ = [
    "ActivityNotFound",
    "ConsentMissing",
    "GoalNotFound",
    "OtherBillingPractitioner",
    "PlanClosed",
    "PlanExists",
    "PlanNotFound",
    "UnknownTemplate",
]
