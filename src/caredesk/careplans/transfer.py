"""The care plans a transfer-of-care summary shows (transitions.ports.CarePlanSummaries): each active plan
in plain words, its goals with where they stand and its activities with their next due dates."""

from __future__ import annotations

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import NotFound
from caredesk.transitions.ports import PlanSummary

from . import selectors
from .choices import GoalStatus


def plan_summaries(*, actor: Actor, patient_id: int) -> list[PlanSummary]:
    """The patient's active plans (CAREPLAN_VIEW audit row by `patient_plans`); empty when the actor may
    not see care plans."""
    if not actor.has(Permission.CAREPLAN_VIEW):
        return []
    try:
        found = selectors.patient_plans(actor=actor, patient_id=patient_id)
    except NotFound:
        return []
    summaries = []
    for view in found.plans:
        goals = []
        for g in view.goals:
            status = GoalStatus(g.status).label if g.status in GoalStatus.values else g.status
            latest = (
                f"; latest {g.latest_value:g} on {g.latest_on:%Y-%m-%d}"
                if g.latest_value is not None and g.latest_on
                else ""
            )
            goals.append(f"{g.goal.description} ({status}{latest})")
        activities = []
        for a in view.activities:
            activity = a.activity
            repeats = f"every {activity.every_months} month(s)" if activity.every_months else "once"
            due = f", next due {activity.due_on:%Y-%m-%d}" if activity.due_on else ", done"
            activities.append(f"{activity.description} ({repeats}{due}{', overdue' if a.overdue else ''})")
        summaries.append(PlanSummary(view.plan.title, view.plan.condition, tuple(goals), tuple(activities)))
    return summaries
