"""The listener applies the messages waiting on all its connections together (one transaction per batch),
over a real socket: many connections at once are each applied once and acknowledged AA, a message that
fails inside a batch gets its AE while the rest of the batch is applied, a control id sent twice in one
batch is applied once, and an admission and discharge of one patient in one batch end as they would one
after the other.

To know that messages share a batch, the listener's single worker is held on a first message (`gate`)
until the others are waiting; the batches it applied are recorded.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import pytest
from django.utils import timezone

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.interop.hl7.inbound import Inbound, Outcome
from caredesk.interop.hl7.server import ListenerThread
from caredesk.patients.models import Patient
from caredesk.transitions.choices import EncounterStatus, MessageStatus, TcmStatus
from caredesk.transitions.models import Encounter, EncounterEvent, InboundMessage, TcmEpisode
from caredesk.worklist.choices import TaskStatus, TaskType
from caredesk.worklist.models import Task
from tests.patients.factories import audit_triggers_lifted, make_patient, staff_actor

from .hl7_support import MllpClient, ack_fields

pytestmark = pytest.mark.usefixtures("_flushable_audit_table")


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    with audit_triggers_lifted(django_db_blocker):
        yield


class GatedInbound(Inbound):
    """Records the control ids of each batch; the first batch waits until `release()`."""

    def __init__(self, organization: Organization) -> None:
        super().__init__(organization)
        self.batches: list[list[str]] = []
        self.holding = threading.Event()  # the worker has taken the first block and waits
        self._gate = threading.Event()

    def release(self) -> None:
        self._gate.set()

    def handle_many(self, blocks: Sequence[bytes]) -> list[Outcome]:
        if not self.batches and not self._gate.is_set():
            self.holding.set()
            self._gate.wait(30)
        outcomes = super().handle_many(blocks)
        self.batches.append([ack_fields(outcome.ack)["control_id"] for outcome in outcomes])
        return outcomes


class Listener:
    def __init__(self, thread: ListenerThread, inbound: GatedInbound) -> None:
        self.thread, self.inbound, self.port = thread, inbound, thread.port

    def wait_for_waiting(self, count: int) -> None:
        """Until `count` blocks wait for the (held) worker."""
        deadline = time.monotonic() + 30
        while self.thread.server.waiting < count:
            assert time.monotonic() < deadline, f"only {self.thread.server.waiting} of {count} arrived"
            time.sleep(0.005)


@pytest.fixture
def listener(transactional_db, org) -> Iterator[Listener]:
    inbound = GatedInbound(org)
    thread = ListenerThread(inbound, workers=1)
    thread.start()
    yield Listener(thread, inbound)
    inbound.release()
    thread.stop()


@pytest.fixture
def patients(org) -> list[Patient]:
    coordinator = staff_actor(org, Role.COORDINATOR)
    return [
        make_patient(
            coordinator, given_name=f"Batch{n}", family_name="Patient", birth_date=dt.date(1950, 1, n + 1)
        )
        for n in range(6)
    ]


def adt(trigger: str, control_id: str, mrn: str, visit: str, *, discharged_hours_ago: float = 2) -> str:
    """An ADT A01 (admitted three days ago) or A03 (discharged home `discharged_hours_ago`) of an
    inpatient stay, naming the patient by our MRN."""
    now = timezone.localtime()
    admitted = (now - dt.timedelta(days=3)).strftime("%Y%m%d%H%M")
    discharged = (now - dt.timedelta(hours=discharged_hours_ago)).strftime("%Y%m%d%H%M")
    pv1 = ["PV1", "1", "I", "4E^136^B^GHH"] + [""] * 42
    pv1[19], pv1[44] = visit, admitted
    stamp = admitted
    if trigger == "A03":
        pv1[36], pv1[45], stamp = "01^Home or self care", discharged, discharged
    return "\r".join(
        [
            f"MSH|^~\\&|ADT1|GHH|CAREDESK|RSH|{stamp}||ADT^{trigger}^ADT_{trigger}|{control_id}|P|2.5.1",
            f"EVN|{trigger}|{stamp}",
            f"PID|1||{mrn}^^^RSH^MR||PATIENT^BATCH||19500101|U",
            "|".join(pv1),
        ]
    )


def send_together(listener: Listener, messages: list[str]) -> list[dict[str, str]]:
    """Hold the worker on a first message, send each of `messages` on a connection of its own (in this
    order, each arriving before the next is sent), release the worker: they are applied as one batch.
    Returns each message's ACK fields, in the order given."""
    answers: list[dict[str, str]] = [{} for _ in messages]
    errors: list[BaseException] = []

    def send(index: int, payload: str, client: MllpClient) -> Callable[[], None]:
        def run() -> None:
            try:
                answers[index] = ack_fields(client.send(payload))
            except BaseException as exc:  # reported below
                errors.append(exc)

        return run

    gate_client = MllpClient(listener.port)
    clients = [MllpClient(listener.port) for _ in messages]
    patient_mrn = Patient.objects.order_by("pk").values_list("mrn", flat=True).first() or "RSH0"
    gate = threading.Thread(target=lambda: gate_client.send(adt("A01", "GATE", patient_mrn, "VGATE")))
    gate.start()
    assert listener.inbound.holding.wait(30)
    threads = []
    for index, payload in enumerate(messages):
        thread = threading.Thread(target=send(index, payload, clients[index]))
        thread.start()
        threads.append(thread)
        listener.wait_for_waiting(index + 1)
    listener.inbound.release()
    for thread in [gate, *threads]:
        thread.join(60)
    for client in [gate_client, *clients]:
        client.close()
    assert not errors, errors
    return answers


def test_many_connections_at_once_are_each_applied_once_and_acknowledged(listener, patients):
    senders, per_sender = 12, 4
    barrier = threading.Barrier(senders)
    codes: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def sender(n: int) -> None:
        try:
            with MllpClient(listener.port) as client:
                barrier.wait(30)
                for k in range(per_sender):
                    patient = patients[(n + k) % len(patients)]
                    trigger = "A01" if k % 2 == 0 else "A03"
                    reply = ack_fields(client.send(adt(trigger, f"M{n}-{k}", patient.mrn, f"V{n}-{k // 2}")))
                    with lock:
                        codes[reply["code"]] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    listener.inbound.release()
    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert codes == Counter({"AA": senders * per_sender})
    assert max(len(batch) for batch in listener.inbound.batches) > 1  # several were applied together
    stored = Counter(InboundMessage.objects.values_list("control_id", flat=True))
    assert len(stored) == senders * per_sender
    assert set(stored.values()) == {1}
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {MessageStatus.APPLIED}
    # Each sender's stay: admitted then discharged home, once each, and TCM started once.
    assert Encounter.objects.count() == senders * per_sender // 2
    assert set(Encounter.objects.values_list("status", flat=True)) == {EncounterStatus.FINISHED}
    assert Counter(EncounterEvent.objects.values_list("event_type", flat=True)) == {
        "A01": senders * per_sender // 2,
        "A03": senders * per_sender // 2,
        "tcm": senders * per_sender // 2,
    }
    assert TcmEpisode.objects.count() == senders * per_sender // 2
    assert Task.objects.filter(task_type=TaskType.TCM_CONTACT).count() == senders * per_sender // 2
    # Every message and every change to a visit is in the audit trail, each with the message's request.
    assert (
        AuditEvent.objects.filter(action=int(AuditAction.HL7_MESSAGE_CREATE)).count() == senders * per_sender
    )
    assert (
        AuditEvent.objects.filter(action=int(AuditAction.ENCOUNTER_CREATE)).count()
        == senders * per_sender // 2
    )
    message_requests = set(
        AuditEvent.objects.filter(action=int(AuditAction.HL7_MESSAGE_CREATE)).values_list(
            "request_id", flat=True
        )
    )
    assert len(message_requests) == senders * per_sender


def test_a_failing_message_in_a_batch_gets_its_ae_and_the_others_are_applied(listener, patients):
    good = [adt("A01", f"OK{n}", patients[n].mrn, f"VOK{n}") for n in range(5)]
    # Discharged before the admission: refused while it is applied (not when it is read).
    bad = adt("A03", "BAD", patients[5].mrn, "VBAD", discharged_hours_ago=24 * 5)
    answers = send_together(listener, [*good[:2], bad, *good[2:]])
    assert ["OK0", "OK1", "BAD", "OK2", "OK3", "OK4"] in listener.inbound.batches
    codes = {answer["control_id"]: answer["code"] for answer in answers}
    assert codes == {"OK0": "AA", "OK1": "AA", "BAD": "AE", "OK2": "AA", "OK3": "AA", "OK4": "AA"}
    refused = next(answer for answer in answers if answer["control_id"] == "BAD")
    assert "before the admission" in refused["text"]
    assert set(Encounter.objects.values_list("visit_number", flat=True)) == {
        "VGATE",
        *(f"VOK{n}" for n in range(5)),
    }
    kept = InboundMessage.objects.get(control_id="BAD")
    assert (kept.status, kept.encounter_id) == (MessageStatus.ERROR, None)
    assert "before the admission" in kept.error_text
    assert not TcmEpisode.objects.exists()


def test_a_control_id_sent_twice_in_one_batch_is_applied_once(listener, patients):
    first = adt("A01", "TWICE", patients[0].mrn, "VTWICE")
    answers = send_together(listener, [first, first])
    assert ["TWICE", "TWICE"] in listener.inbound.batches
    assert [answer["code"] for answer in answers] == ["AA", "AA"]
    assert "Duplicate" not in answers[0]["text"]
    assert "Duplicate" in answers[1]["text"]
    message = InboundMessage.objects.get(control_id="TWICE")
    assert message.duplicate_count == 1
    visit = Encounter.objects.get(visit_number="VTWICE")
    assert list(visit.events.values_list("event_type", flat=True)) == ["A01"]


def test_an_admission_and_discharge_in_one_batch_end_discharged_with_tcm(listener, patients):
    patient = patients[0]
    answers = send_together(
        listener, [adt("A01", "STAY-A", patient.mrn, "VSTAY"), adt("A03", "STAY-D", patient.mrn, "VSTAY")]
    )
    assert ["STAY-A", "STAY-D"] in listener.inbound.batches
    assert [answer["code"] for answer in answers] == ["AA", "AA"]
    visit = Encounter.objects.get(visit_number="VSTAY")
    assert (visit.status, visit.patient_id, visit.version) == (EncounterStatus.FINISHED, patient.pk, 2)
    assert list(visit.events.order_by("id").values_list("event_type", flat=True)) == ["A01", "A03", "tcm"]
    episode = TcmEpisode.objects.get(encounter=visit)
    assert (episode.status, episode.patient_id) == (TcmStatus.ACTIVE, patient.pk)
    assert set(Task.objects.filter(patient=patient).values_list("task_type", flat=True)) == {
        TaskType.TCM_CONTACT,
        TaskType.TCM_VISIT,
        TaskType.TCM_MED_RECONCILIATION,
    }
    assert set(
        InboundMessage.objects.filter(control_id__startswith="STAY").values_list("encounter_id", flat=True)
    ) == {visit.pk}


def test_a_cancelled_discharge_in_the_same_batch_undoes_its_tcm(listener, patients):
    patient = patients[1]
    answers = send_together(
        listener,
        [
            adt("A01", "UNDO-A", patient.mrn, "VUNDO"),
            adt("A03", "UNDO-D", patient.mrn, "VUNDO"),
            adt("A13", "UNDO-C", patient.mrn, "VUNDO"),
        ],
    )
    assert ["UNDO-A", "UNDO-D", "UNDO-C"] in listener.inbound.batches
    assert [answer["code"] for answer in answers] == ["AA", "AA", "AA"]
    visit = Encounter.objects.get(visit_number="VUNDO")
    assert (visit.status, visit.discharge_at) == (EncounterStatus.IN_PROGRESS, None)
    assert list(visit.events.order_by("id").values_list("event_type", flat=True)) == [
        "A01",
        "A03",
        "tcm",
        "A13",
    ]
    episode = TcmEpisode.objects.get(encounter=visit)
    assert episode.status == TcmStatus.CANCELLED
    tasks = Task.objects.filter(patient=patient, task_type__startswith="tcm")
    assert tasks.count() == 3
    assert set(tasks.values_list("status", flat=True)) == {TaskStatus.CANCELLED}
