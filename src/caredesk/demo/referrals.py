"""The demo clinics' referrals and communication log, loaded through the referrals and messaging services
once the patients exist.

Each organization gets a small receiver directory (outside practices and hospitals) and a few dozen
referrals of its first patients at every step of the loop (sent, accepted, scheduled, seen, closed,
declined and re-routed, declined and waiting, cancelled), each with a logged call. Everything comes from
the seed; each step is entered as having happened some days after the one before (the services'
`occurred_at`), the last shortly before now, so the loop-closure report shows realistic days per step
and the worklist the declined referral waiting for a decision. Small and bounded: it keeps seed_demo fast
whatever the number of patients.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.messaging import services as messaging
from caredesk.patients import selectors as patient_selectors
from caredesk.referrals import clock, services
from caredesk.referrals.choices import ReceiverKind

MAX_REFERRALS = 20  # per organization (about 0.1 s each through the services)
_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.REFERRAL_VIEW,
        Permission.REFERRAL_CREATE,
        Permission.REFERRAL_SCHEDULE,
        Permission.REFERRAL_MANAGE,
        Permission.COMMUNICATION_LOG,
        Permission.COMMUNICATION_VIEW,
        Permission.PATIENT_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)
RECEIVERS = (
    ("Lakeside Cardiology Associates", "cardiology", ReceiverKind.ORGANIZATION, ("I10", "I20.9", "R00.2")),
    ("Dr. Priya Raman", "endocrinology", ReceiverKind.PRACTITIONER, ("E11.9", "E03.9")),
    ("Northgate Orthopedic Group", "orthopedics", ReceiverKind.ORGANIZATION, ("M17.11", "M54.50")),
    ("Dr. Samuel Okafor", "neurology", ReceiverKind.PRACTITIONER, ("R51.9", "G43.909")),
    ("Riverbend Behavioral Health", "behavioral_health", ReceiverKind.ORGANIZATION, ("F32.9", "F41.1")),
    ("Dr. Helen Marsh", "cardiology", ReceiverKind.PRACTITIONER, ("I48.91", "I10")),
)
REASONS = {
    "cardiology": "Evaluate chest discomfort on exertion",
    "endocrinology": "Diabetes not at goal on two agents",
    "orthopedics": "Knee pain limiting walking",
    "neurology": "Recurrent headaches, new pattern",
    "behavioral_health": "Depression screening positive",
}
#: How far along the loop each demo referral goes (the steps after creation and sending).
PATHS: tuple[tuple[str, ...], ...] = (
    (),
    ("receive",),
    ("accept",),
    ("accept", "schedule"),
    ("accept", "schedule", "seen"),
    ("accept", "schedule", "seen", "close"),
    ("accept", "schedule", "seen", "close"),
    ("decline",),
    ("decline", "reroute", "accept"),
    ("cancel",),
)

#: Days between a step and the one before it (uniform between the bounds).
STEP_DAYS: dict[str, tuple[float, float]] = {
    "receive": (0.2, 2),
    "accept": (1, 6),
    "decline": (1, 6),
    "reroute": (0.1, 2),
    "schedule": (1, 8),
    "seen": (5, 25),
    "close": (2, 14),
    "cancel": (1, 10),
}


@dataclass
class ReferralReport:
    referrals: int = 0
    communications: int = 0


def _actor(organization: Organization) -> Actor:
    return system_actor(organization_id=organization.pk, permissions=_PERMISSIONS, username="seed_demo")


def load_referrals(organizations: list[Organization], seed: int, patients: int) -> ReferralReport:
    report = ReferralReport()
    count = min(MAX_REFERRALS, max(1, patients // (2 * max(1, len(organizations)))))
    for organization in organizations:
        rng = random.Random(f"caredesk-demo:{seed}:referrals:{organization.short_code}")  # noqa: S311
        _load_organization(organization, rng, count, report)
    return report


def _load_organization(
    organization: Organization, rng: random.Random, count: int, report: ReferralReport
) -> None:
    actor = _actor(organization)
    receivers = [
        services.add_receiver(
            actor=actor, data=services.ReceiverInput(name=name, specialty=specialty, kind=kind)
        )
        for name, specialty, kind, _codes in RECEIVERS
    ]
    patient_ids = list(
        patient_selectors.patient_queryset(actor).order_by("pk").values_list("pk", flat=True)[:count]
    )
    now = clock.now()
    for index, patient_id in enumerate(patient_ids):
        receiver = receivers[index % len(receivers)]
        codes = RECEIVERS[index % len(receivers)][3]
        path = rng.choice(PATHS)
        alternates = [r for r in receivers if r.specialty == receiver.specialty and r.pk != receiver.pk]
        if "reroute" in path and not alternates:
            path = path[: path.index("reroute")]  # stays declined: its task waits on the worklist
        # Each step some days after the one before, the last a little before now, so the report's
        # median days per step and the overdue clocks read like a working clinic's.
        gaps = [dt.timedelta(days=rng.uniform(*STEP_DAYS[action])) for action in path]
        moment = now - sum(gaps, dt.timedelta(days=rng.uniform(0.5, 4)))
        referral = services.create_referral(
            actor=actor,
            data=services.NewReferral(
                patient_id=patient_id,
                specialty=receiver.specialty,
                receiver_id=receiver.pk,
                reason=REASONS.get(receiver.specialty, "Specialist opinion"),
                urgency=rng.choice(("routine", "routine", "routine", "urgent")),
                diagnoses=[rng.choice(codes)],
            ),
            send=True,
            occurred_at=moment,
        )
        report.referrals += 1
        for position, (action, gap) in enumerate(zip(path, gaps, strict=True)):
            moment += gap
            appointment_at = None
            if action == "schedule":  # the visit: when it is seen, or a few weeks ahead
                seen = path[position + 1 :][:1] == ("seen",)
                appointment_at = (
                    moment + gaps[position + 1] if seen else now + dt.timedelta(days=rng.randrange(3, 30))
                )
            services.act(
                actor=actor,
                referral_id=referral.pk,
                action=action,
                note="No availability for new patients" if action in ("decline", "cancel") else "",
                receiver_id=alternates[0].pk if action == "reroute" else None,
                appointment_at=appointment_at,
                occurred_at=moment,
            )
        messaging.log_communication(
            actor=actor,
            data=messaging.NewCommunication(
                patient_id=patient_id,
                direction="out",
                channel="phone",
                subject=f"Referral to {receiver.name}",
                # No voicemail: the log refuses one to a patient who has not agreed to voicemail.
                outcome=rng.choice(("reached", "reached", "busy", "no_answer")),
                body="Explained the referral and what to bring.",
                duration_seconds=rng.randrange(60, 600),
                referral_id=referral.pk,
            ),
        )
        report.communications += 1
