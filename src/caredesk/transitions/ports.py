"""What the transfer summary needs from an app above this one: the patient's care plans.

Care plans sit above transitions in the layers (careplans may import transitions, not the other way), so
the printable transfer summary names what it needs here and `settings.CAREDESK_TRANSFER_CARE_PLANS` names
the function that provides it (`caredesk.careplans.transfer.plan_summaries`): dependencies still point one
way. The FHIR document Bundle (interop) reads care plans directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from caredesk.core.context import Actor


@dataclass(frozen=True)
class PlanSummary:
    """One active care plan in plain words: its goals (with where they stand) and its activities."""

    title: str
    condition: str
    goals: tuple[str, ...]
    activities: tuple[str, ...]


class CarePlanSummaries(Protocol):
    def __call__(self, *, actor: Actor, patient_id: int) -> list[PlanSummary]:
        """The patient's active plans (empty when the actor may not see plans). Audited by the provider."""
        ...


@cache
def _provider(path: str) -> CarePlanSummaries:
    found: CarePlanSummaries = import_string(path)
    return found


def care_plan_summaries(*, actor: Actor, patient_id: int) -> list[PlanSummary]:
    return _provider(settings.CAREDESK_TRANSFER_CARE_PLANS)(actor=actor, patient_id=patient_id)
