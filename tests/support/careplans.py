"""The matrix world's care plan, built on first use through the services: a diabetes plan of the sample
patient (its goals and activities are the samples of `plan_id`, `goal_id` and `activity_id`)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.careplans import services
from caredesk.careplans.choices import CareTeamRole
from caredesk.careplans.models import Activity, CarePlan, CareTeamMember, CcmConsent, Goal
from caredesk.patients.models import Patient
from caredesk.patients.schemas import PatientInput
from caredesk.patients.services import add_problem, register_patient

if TYPE_CHECKING:
    from .world import World


@dataclass
class Plans:
    plan: CarePlan
    goal: Goal
    activity: Activity


def plans_of(world: World) -> Plans:
    found = world.__dict__.get("_careplans")
    if found is None:
        plan = services.create_plan(
            actor=actor_for_user(world.users[Role.COORDINATOR]),
            patient_id=world.patient.pk,
            template_code="diabetes",
        )
        goal = plan.goals.order_by("position").first()
        activity = plan.activities.order_by("position").first()
        assert goal is not None
        assert activity is not None
        found = Plans(plan=plan, goal=goal, activity=activity)
        world.__dict__["_careplans"] = found
    return found


_COUNTER = itertools.count(1)


def unplanned_patient(world: World) -> Patient:
    """A patient of the first organization without plans (a plan per template can be created once)."""
    letters = "".join(chr(ord("a") + int(d)) for d in f"{next(_COUNTER):04d}")
    return register_patient(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        data=PatientInput(
            given_name="Planned",
            family_name=f"Careful{letters}",
            birth_date=dt.date(1961, 3, 4),
            sex="female",
        ),
        confirm_not_duplicate=True,
    )


def ccm_ready(world: World) -> str:
    """The sample patient's consent to CCM, documented once (time can then be logged); today's date. The
    sample patient is diabetic; hypertension is added first (CCM needs two chronic conditions)."""
    if not CcmConsent.objects.filter(patient=world.patient).exists():
        add_problem(
            actor=actor_for_user(world.users[Role.COORDINATOR]), patient_id=world.patient.pk, icd10_code="I10"
        )
        services.record_consent(
            actor=actor_for_user(world.users[Role.COORDINATOR]),
            patient_id=world.patient.pk,
            consented_on=timezone.localdate() - dt.timedelta(days=60),
            method="verbal",
        )
    return timezone.localdate().isoformat()


def _next(world: World, key: str) -> int:
    number = int(world.__dict__.get(key, 0)) + 1
    world.__dict__[key] = number
    return number


def fresh_goal(world: World) -> Goal:
    """Another goal on the sample plan, for a call that changes what the next role's call would find (a
    cancellation)."""
    plan = plans_of(world).plan
    return services.add_goal(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        plan_id=plan.pk,
        description=f"Matrix goal {_next(world, '_fresh_goal_counter')}",
        code=plans_of(world).goal.code,
        comparator="lt",
        target="7",
    )


def fresh_activity(world: World) -> Activity:
    """Another activity on the sample plan (each cancellation gets one of its own)."""
    return services.add_activity(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        plan_id=plans_of(world).plan.pk,
        kind="outreach_call",
        description=f"Matrix call {_next(world, '_fresh_activity_counter')}",
        every_months=None,
        due_on=timezone.localdate() + dt.timedelta(days=30),
    )


def fresh_team_member(world: World) -> CareTeamMember:
    """Another named place on the sample plan's care team (each removal gets one of its own)."""
    roles = list(CareTeamRole.values)
    staff = [user for role, user in world.users.items() if role != Role.PATIENT]
    number = _next(world, "_fresh_member_counter") - 1
    return services.add_team_member(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        plan_id=plans_of(world).plan.pk,
        role=roles[number % len(roles)],
        user_id=staff[number // len(roles)].pk,
    )


def days_ahead(days: int) -> str:
    """A date `days` from today, as the API takes it."""
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()
