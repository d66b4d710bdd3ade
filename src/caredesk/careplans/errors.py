"""Coded errors of care plans and CCM."""

from __future__ import annotations

from caredesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed


class PlanNotFound(NotFound):
    code = "careplan_not_found"


class GoalNotFound(NotFound):
    code = "careplan_goal_not_found"


class ActivityNotFound(NotFound):
    code = "careplan_activity_not_found"


class TeamMemberNotFound(NotFound):
    code = "careplan_team_member_not_found"


class ItemCancelled(Conflict):
    """The goal or activity was cancelled; it is kept as history and no longer changes."""

    code = "careplan_item_cancelled"


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


class NotEnoughChronicConditions(ValidationFailed):
    """CCM enrolment needs two or more chronic conditions among the patient's active problems
    (rules.CCM_MIN_CHRONIC_CONDITIONS)."""

    code = "ccm_not_eligible"


class NotClinicalStaff(Forbidden):
    """Only clinical staff time counts toward CCM (rules.CCM_CLINICAL_STAFF_ROLES)."""

    code = "ccm_not_clinical_staff"


class OtherBillingPractitioner(Conflict):
    """Another practitioner already bills CCM for this patient in this month."""

    code = "ccm_other_billing_practitioner"


__all__ = [
    "ActivityNotFound",
    "ConsentMissing",
    "GoalNotFound",
    "ItemCancelled",
    "NotClinicalStaff",
    "NotEnoughChronicConditions",
    "OtherBillingPractitioner",
    "PlanClosed",
    "PlanExists",
    "PlanNotFound",
    "TeamMemberNotFound",
    "UnknownTemplate",
]
