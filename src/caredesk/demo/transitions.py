"""The demo's hospital feed: a few admissions and discharges of demo patients sent through the real HL7 v2
path (`interop.hl7.inbound`: parsed, matched by our MRN, applied, acknowledged), dated over the past days,
so the transitions pages, the TCM report and the worklist show a working week.

Per organization: two patients still in hospital, three discharged home (community: TCM starts) 1, 5 and
9 days ago whose interactive contact was made by a phone call logged the day after (messaging completes
the TCM contact; their visit and medication reconciliation stay open), and one admission of a person
Caredesk does not know (the human matching queue). No TCM contact is left open: a discharge arriving now
is the only call on top of the coordinator's worklist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.interop.hl7.inbound import Inbound
from caredesk.messaging import services as messaging
from caredesk.patients import selectors as patient_selectors
from caredesk.worklist import selectors as worklist
from caredesk.worklist.choices import TaskType

SENDER = "ADT1"
HOSPITAL = "GENHOSP"
FIRST_PATIENT = 30  # past the patients the referrals demo uses
_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.PATIENT_VIEW,
        Permission.COMMUNICATION_LOG,
        Permission.COMMUNICATION_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)
#: (days ago admitted, days ago discharged or None: still in hospital)
STAYS: tuple[tuple[float, float | None], ...] = (
    (2.2, None),
    (0.6, None),
    (4.3, 1.1),
    (8.4, 5.2),
    (12.5, 9.1),
)


@dataclass(frozen=True)
class Person:
    family: str
    given: str
    birth: dt.date | None
    sex: str  # HL7 v2 administrative sex: F, M, U, ...


@dataclass
class TransitionsReport:
    messages: int = 0
    discharges: int = 0


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def adt_message(
    *,
    trigger: str,
    control_id: str,
    short_code: str,
    mrn: str,
    person: Person,
    visit: str,
    admitted: dt.datetime,
    discharged: dt.datetime | None = None,
) -> str:
    """An ADT^A01 (admission) or ADT^A03 (discharge home, PV1-36 "01") as a hospital sends it; times in
    the organization's zone, as HL7 v2 timestamps without an offset are read."""
    at = discharged if discharged is not None else admitted
    pv1 = ["PV1", "1", "I", f"4W^401^1^{HOSPITAL}"] + [""] * 43  # PV1-0 .. PV1-46
    pv1[19] = visit
    pv1[44] = _stamp(admitted)
    if discharged is not None:
        pv1[36] = "01"
        pv1[45] = _stamp(discharged)
    pid_id = f"{mrn}^^^{short_code}^MR" if mrn else f"H{visit}^^^{HOSPITAL}^MR"
    birth = person.birth.strftime("%Y%m%d") if person.birth else ""
    segments = [
        f"MSH|^~\\&|{SENDER}|{HOSPITAL}|CAREDESK|{short_code}|{_stamp(at)}||ADT^{trigger}^ADT_{trigger}|"
        f"{control_id}|P|2.5.1",
        f"EVN|{trigger}|{_stamp(at)}",
        f"PID|1||{pid_id}||{person.family}^{person.given}||{birth}|{person.sex}",
        "|".join(pv1),
    ]
    return "\r".join(segments) + "\r"


def load_transitions(organizations: list[Organization]) -> TransitionsReport:
    report = TransitionsReport()
    for organization in organizations:
        _load_organization(organization, report)
    return report


def _load_organization(organization: Organization, report: TransitionsReport) -> None:
    actor = system_actor(organization_id=organization.pk, permissions=_PERMISSIONS, username="seed_demo")
    inbound = Inbound(organization)
    zone = ZoneInfo(inbound.zone.key)
    now = timezone.now().astimezone(zone).replace(second=0, microsecond=0)
    first = list(
        patient_selectors.patient_queryset(actor)
        .filter(status="active")
        .order_by("pk")
        .values_list("pk", "mrn", "family_name", "given_name", "birth_date", "sex")[
            : FIRST_PATIENT + len(STAYS) + 1
        ]
    )
    # A small demo has fewer patients: its last ones, but never the newest (left without a hospital stay).
    patients = first[:-1][-len(STAYS) :]
    code = organization.short_code
    for number, ((admit_days, discharge_days), row) in enumerate(zip(STAYS, patients, strict=False), 1):
        pk, mrn, family, given, birth, sex = row
        admitted = now - dt.timedelta(days=admit_days)
        discharged = None if discharge_days is None else now - dt.timedelta(days=discharge_days)
        person = Person(family, given, birth, (sex or "U")[:1].upper())
        visit = f"{code}V{number:04d}"
        events = [("A01", None)] if discharged is None else [("A01", None), ("A03", discharged)]
        for trigger, until in events:
            message = adt_message(
                trigger=trigger,
                control_id=f"DEMO-{code}-{number}-{trigger}",
                short_code=code,
                mrn=mrn,
                visit=visit,
                admitted=admitted,
                discharged=until,
                person=person,
            )
            _send(inbound, report, message)
        if discharged is None:
            continue
        report.discharges += 1
        _log_contact(actor, pk, discharged + dt.timedelta(hours=20))
    _send(
        inbound,
        report,
        adt_message(
            trigger="A01",
            control_id=f"DEMO-{code}-UNKNOWN-A01",
            short_code=code,
            mrn="",
            person=Person("Okonkwo", "Adaeze", dt.date(1948, 3, 9), "F"),
            visit=f"{code}V9999",
            admitted=now - dt.timedelta(hours=7),
        ),
    )


def _send(inbound: Inbound, report: TransitionsReport, message: str) -> None:
    outcome = inbound.handle(message.encode())
    if outcome.receipt.ack_code != "AA":
        raise RuntimeError(f"The demo feed's message was refused: {outcome.receipt.text}")
    report.messages += 1


def _log_contact(actor: Actor, patient_id: int, when: dt.datetime) -> None:
    """The coordinator's call the day after discharge, logged on the episode's contact task."""
    tasks = worklist.list_tasks(
        actor=actor,
        query=worklist.WorklistQuery(patient_id=patient_id, task_type=TaskType.TCM_CONTACT),
        page_size=1,
    )
    if not tasks.rows:
        return
    messaging.log_communication(
        actor=actor,
        data=messaging.NewCommunication(
            patient_id=patient_id,
            direction="out",
            channel="phone",
            subject="Call after discharge",
            outcome="reached",
            body="Home and settled; reviewed the discharge medicines and the warning signs.",
            duration_seconds=540,
            occurred_at=min(when, timezone.now()),
            task_id=tasks.rows[0].task.pk,
        ),
    )
