"""The matrix world's patient education, built on first use through the services: a material of the first
organization with its text and a PDF (the sample of `material_id`), assigned to the sample patient and
shared with them in the portal (the sample of `assignment_id`: the portal user is that patient)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.files.uploadedfile import SimpleUploadedFile

from caredesk.accounts.permissions import Permission, Role
from caredesk.accounts.services import actor_for_user
from caredesk.core.context import system_actor
from caredesk.education import services
from caredesk.education.models import Assignment, Material

if TYPE_CHECKING:
    from .world import World


@dataclass
class Education:
    material: Material
    assignment: Assignment


def education_of(world: World) -> Education:
    found = world.__dict__.get("_education")
    if found is None:
        coordinator = actor_for_user(world.users[Role.COORDINATOR])
        material = services.add_material(
            actor=coordinator,
            title="Matrix handout",
            language="en",
            reading_level="easy",
            source="Caredesk test authors",
            condition_codes="E11",
            body="Check your feet every day.",
            uploaded_file=SimpleUploadedFile("handout.pdf", b"%PDF-1.4 matrix handout"),
        )
        assignment = services.assign_material(
            actor=coordinator, patient_id=world.patient.pk, material_id=material.pk
        )
        services.record_delivery(actor=coordinator, assignment_id=assignment.pk, method="portal")
        found = Education(material, assignment)
        world.__dict__["_education"] = found
    return found


_COUNTER = itertools.count(1)


def fresh_material(organization_id: int) -> Material:
    """A new material in an organization's library (assigning one works once per patient)."""
    keeper = system_actor(
        organization_id=organization_id,
        permissions=frozenset({str(Permission.EDUCATION_MANAGE), str(Permission.EDUCATION_VIEW)}),
    )
    return services.add_material(
        actor=keeper,
        title=f"Matrix handout {next(_COUNTER)}",
        language="en",
        reading_level="easy",
        source="Caredesk test authors",
        condition_codes="I10",
        body="Take your pills.",
    )
