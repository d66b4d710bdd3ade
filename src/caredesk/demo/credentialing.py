"""The demo clinics' credential files, loaded through the credentialing services once the schedules exist
(the seed's own bookings happen before, so they are never checked).

Every practitioner gets a license in the organization's state, a DEA registration (prescribers), a board
certification (MD/DO), malpractice coverage, a short history, an approved application and granted
privileges for every visit type they offer at each of their locations. In the first organization:
the first practitioner's license lapses in 45 days (its 60-day notice is on the medical-staff queue),
the second's New Jersey license lapsed 20 days ago (so a video visit for a New Jersey patient is refused,
naming the colleagues with a current New Jersey license), and the first practitioner's re-credentialing
application is still collecting its verifications. Dates count from today; the rest comes from the seed.
Once an organization has licenses on file, bookings are checked (credentialing.services.enforcement_on).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.credentialing import clock, services
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.scheduling import selectors as scheduling_selectors

_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.CREDENTIAL_VIEW,
        Permission.CREDENTIAL_MANAGE,
        Permission.CREDENTIAL_APPROVE,
        Permission.PRACTITIONER_VIEW,
        Permission.SCHEDULE_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)
LICENSE_TYPES = {
    "MD": "medical",
    "DO": "osteopathic",
    "NP": "nurse_practitioner",
    "PA": "physician_assistant",
}
BOARDS = {
    "family_medicine": "American Board of Family Medicine",
    "pediatrics": "American Board of Pediatrics",
    "obstetrics_gynecology": "American Board of Obstetrics and Gynecology",
    "psychiatry": "American Board of Psychiatry and Neurology",
    "neurology": "American Board of Psychiatry and Neurology",
    "dermatology": "American Board of Dermatology",
    "orthopedic_surgery": "American Board of Orthopaedic Surgery",
    "general_surgery": "American Board of Surgery",
    "anesthesiology": "American Board of Anesthesiology",
    "radiology": "American Board of Radiology",
}
VERIFICATIONS = ("license_board", "dea", "board_certification", "sanctions", "references")
EXPIRING_DAYS = 45  # the first practitioner's license, in the first organization
LAPSED_DAYS = 20  # the second practitioner's New Jersey license, in the first organization


@dataclass
class CredentialReport:
    licenses: int = 0
    privileges: int = 0
    tasks: int = 0


def _actor(organization: Organization) -> Actor:
    return system_actor(
        organization_id=organization.pk,
        permissions=_PERMISSIONS,
        channel="cli",
        username="demo-credentialing",
    )


def _number(rng: random.Random, state: str) -> str:
    return f"{state}-{rng.randrange(100000, 999999)}"


def _dea_number(rng: random.Random, family_name: str) -> str:
    """A DEA-shaped number: two letters and seven digits whose last is the check digit."""
    digits = [rng.randrange(10) for _ in range(6)]
    check = (digits[0] + digits[2] + digits[4] + 2 * (digits[1] + digits[3] + digits[5])) % 10
    return "A" + (family_name[:1].upper() or "X") + "".join(map(str, digits)) + str(check)


def load_credentials(organizations: list[Organization], seed: int) -> CredentialReport:
    report = CredentialReport()
    today = clock.today()
    for index, organization in enumerate(organizations):
        rng = random.Random(f"caredesk-demo:{seed}:credentials:{organization.short_code}")  # noqa: S311
        _load_organization(organization, index == 0, rng, today, report)
        report.tasks += services.create_expiry_tasks(actor=_actor(organization)).created
    return report


def _load_organization(
    organization: Organization, featured: bool, rng: random.Random, today: dt.date, report: CredentialReport
) -> None:
    actor = _actor(organization)
    locations = list(Location.objects.filter(organization=organization).order_by("pk"))
    state = (locations[0].state if locations else "") or "NY"
    offered: dict[int, list[tuple[str, str]]] = {}
    for visit_type in scheduling_selectors.visit_type_queryset(actor).order_by("code"):
        for practitioner_id in scheduling_selectors.offered_by(visit_type):
            offered.setdefault(practitioner_id, []).append((visit_type.code, visit_type.name))
    practitioners = list(
        practitioner_selectors.practitioner_queryset(actor).prefetch_related("locations").order_by("pk")
    )
    for position, practitioner in enumerate(practitioners):
        expires = today + dt.timedelta(days=rng.randrange(400, 1100))
        if featured and position == 0:
            expires = today + dt.timedelta(days=EXPIRING_DAYS)
        license_type = LICENSE_TYPES.get(practitioner.credentials, "other")
        if practitioner.specialty == "physical_therapy":
            license_type = "physical_therapist"
        services.add_license(
            actor=actor,
            practitioner_id=practitioner.pk,
            data=services.LicenseInput(
                state=state,
                number=_number(rng, state),
                license_type=license_type,
                issued_on=today - dt.timedelta(days=rng.randrange(700, 4000)),
                expires_on=expires,
            ),
        )
        report.licenses += 1
        if featured and state != "NJ" and position < 4:
            # Across the river: video visits for New Jersey patients need a New Jersey license.
            lapsed = position == 1
            services.add_license(
                actor=actor,
                practitioner_id=practitioner.pk,
                data=services.LicenseInput(
                    state="NJ",
                    number=f"25MA{rng.randrange(10000000, 99999999)}",
                    license_type=license_type,
                    issued_on=today - dt.timedelta(days=rng.randrange(800, 3000)),
                    expires_on=today - dt.timedelta(days=LAPSED_DAYS)
                    if lapsed
                    else today + dt.timedelta(days=rng.randrange(400, 900)),
                ),
            )
            report.licenses += 1
        prescriber = practitioner.specialty != "physical_therapy"
        if prescriber:
            services.add_dea(
                actor=actor,
                practitioner_id=practitioner.pk,
                data=services.DeaInput(
                    state=state,
                    number=_dea_number(rng, practitioner.family_name),
                    schedules="2,2N,3,3N,4,5",
                    issued_on=today - dt.timedelta(days=rng.randrange(200, 900)),
                    expires_on=today + dt.timedelta(days=rng.randrange(300, 1000)),
                ),
            )
        if practitioner.credentials in ("MD", "DO"):
            services.add_board_certification(
                actor=actor,
                practitioner_id=practitioner.pk,
                data=services.BoardInput(
                    board=BOARDS.get(practitioner.specialty, "American Board of Internal Medicine"),
                    specialty=practitioner.get_specialty_display(),
                    issued_on=today - dt.timedelta(days=rng.randrange(1000, 5000)),
                    expires_on=today + dt.timedelta(days=rng.randrange(400, 3000)),
                ),
            )
        services.add_malpractice(
            actor=actor,
            practitioner_id=practitioner.pk,
            data=services.MalpracticeInput(
                carrier=rng.choice(("Empire Medical Mutual", "Garden State Physicians Insurance")),
                policy_number=f"PL-{rng.randrange(1000000, 9999999)}",
                issued_on=today - dt.timedelta(days=rng.randrange(30, 300)),
                expires_on=today + dt.timedelta(days=rng.randrange(120, 365)),
                per_claim_amount="1000000",
                aggregate_amount="3000000",
            ),
        )
        services.add_history(
            actor=actor,
            practitioner_id=practitioner.pk,
            kind="training",
            institution=rng.choice(("Montefiore Medical Center", "Rutgers NJ Medical School", "NYU Langone")),
            title="Residency",
            started_on=today - dt.timedelta(days=rng.randrange(4000, 7000)),
            ended_on=today - dt.timedelta(days=rng.randrange(1500, 3900)),
        )
        sites = [loc.pk for loc in practitioner.locations.all()] or [locations[0].pk]
        for location_id in sites:
            for code, name in offered.get(practitioner.pk, []):
                services.request_privilege(
                    actor=actor,
                    practitioner_id=practitioner.pk,
                    data=services.PrivilegeInput(
                        location_id=location_id, service_code=code, service_label=name, status="granted"
                    ),
                )
                report.privileges += 1
        application = services.open_application(
            actor=actor, practitioner_id=practitioner.pk, kind="recredential" if position else "initial"
        )
        done = VERIFICATIONS[:3] if featured and position == 0 else VERIFICATIONS
        for kind in done:
            outcome = "verified" if kind != "dea" or prescriber else "not_applicable"
            services.record_verification(
                actor=actor, application_id=application.pk, kind=kind, outcome=outcome, note="Primary source"
            )
        if len(done) == len(VERIFICATIONS):
            services.approve_application(
                actor=actor, application_id=application.pk, note="Medical staff committee"
            )
