"""The HL7 v2 listener over a real socket: the public samples, line endings and BOMs, exactly-once under
repeats (also from concurrent connections), NAKs that apply nothing, an ACK only after the commit, a
discharge that lands on the worklist, MLLP framing, and the `caredesk hl7_listen` command itself.

These tests commit for real (the listener has its own database connections), so they run with
`transactional_db` and the audit table's append-only triggers lifted for the flush between tests.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.interop.hl7.inbound import Inbound
from caredesk.interop.hl7.server import ListenerThread
from caredesk.transitions.choices import MessageStatus
from caredesk.transitions.models import Encounter, EncounterEvent, InboundMessage, TcmEpisode
from caredesk.worklist import selectors as worklist_selectors
from caredesk.worklist.choices import TaskType
from caredesk.worklist.selectors import WorklistQuery
from tests.patients.factories import audit_triggers_lifted, make_patient, staff_actor
from tests.support.subprocess_db import database_url

from .hl7_support import (
    NO_VISIT_KEY_SAMPLES,
    OTHER_TYPES,
    SUPPORTED_SAMPLES,
    UNSUPPORTED_SAMPLES,
    MllpClient,
    ack_fields,
    frame,
    sample,
    with_control_id,
)

pytestmark = pytest.mark.usefixtures("_flushable_audit_table")


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.fixture
def listener(transactional_db, org):
    thread = ListenerThread(Inbound(org), workers=4)
    port = thread.start()
    yield port
    thread.stop()


def as_sent(name: str, control_id: str) -> bytes:
    """A sample with its own control id, keeping its line endings and BOM."""
    payload = sample(name)
    separator = "\r" if b"\r" in payload else "\n"
    return with_control_id(payload, control_id, separator=separator, bom=payload.startswith(b"\xef\xbb\xbf"))


def test_the_public_samples_over_a_socket(listener):
    expected: dict[str, tuple[str, str]] = {}
    expected |= dict.fromkeys(SUPPORTED_SAMPLES, ("AA", ""))
    expected |= dict.fromkeys(NO_VISIT_KEY_SAMPLES, ("AE", "101"))
    expected |= dict.fromkeys(UNSUPPORTED_SAMPLES, ("AR", "201"))
    expected |= dict.fromkeys(OTHER_TYPES, ("AR", "200"))
    answers = {}
    with MllpClient(listener) as client:
        for number, name in enumerate(expected):
            fields = ack_fields(client.send(as_sent(name, f"S{number:03d}")))
            assert fields["control_id"] == f"S{number:03d}"
            answers[name] = (fields["code"], fields.get("error", ""))
    assert answers == expected
    assert InboundMessage.objects.count() == len(expected)
    statuses = Counter(InboundMessage.objects.values_list("status", flat=True))
    assert statuses == {
        MessageStatus.APPLIED: len(SUPPORTED_SAMPLES),
        MessageStatus.ERROR: len(NO_VISIT_KEY_SAMPLES),
        MessageStatus.REJECTED: len(UNSUPPORTED_SAMPLES) + len(OTHER_TYPES),
    }
    # The Microsoft samples all describe visit 40007716 of one sender: one encounter, every event applied.
    visit = Encounter.objects.get(visit_number="40007716", source="ADTApp|GHHSFacility")
    applied = [e.event_type for e in visit.events.order_by("id")]
    assert applied[:3] == ["A01", "A01", "A02"]
    assert "A11" in applied  # the sample admission was cancelled in the end
    assert not TcmEpisode.objects.exists()  # no sample is an inpatient discharge home of a known patient


@pytest.mark.parametrize(
    ("separator", "bom"), [("\r", False), ("\n", False), ("\r\n", False), ("\n", True), ("\r\n", True)]
)
def test_cr_lf_crlf_and_bom_are_all_accepted(listener, separator, bom):
    payload = with_control_id(sample("hapi-hl7v2/ADT_A01.txt"), "LE1", separator=separator, bom=bom)
    with MllpClient(listener) as client:
        fields = ack_fields(client.send(payload))
    assert (fields["code"], fields["control_id"]) == ("AA", "LE1")
    message = InboundMessage.objects.get()
    assert "\n" not in message.raw
    assert not message.raw.startswith("\ufeff")
    assert message.raw.split("\r")[1].startswith("EVN|")
    assert Encounter.objects.get().visit_number == "211004554"


def test_samples_sharing_a_control_id_are_applied_once(listener):
    with MllpClient(listener) as client:
        first = ack_fields(client.send(sample("microsoft-fhir-converter/ADT-A01-01.hl7")))
        repeat = ack_fields(client.send(sample("microsoft-fhir-converter/ADT-A02-01.hl7")))  # also MSG00001
    assert (first["code"], repeat["code"]) == ("AA", "AA")
    assert "Duplicate" in repeat["text"]
    assert "error" not in repeat
    message = InboundMessage.objects.get()
    assert (message.control_id, message.duplicate_count) == ("MSG00001", 1)
    assert "different content" in message.warnings[-1]
    assert list(EncounterEvent.objects.values_list("event_type", flat=True)) == ["A01"]


def test_bad_input_is_answered_and_applies_nothing(listener):
    good_a03 = with_control_id(sample("hapi-hl7v2/adt_a03.txt"), "BAD1")
    head, _, tail = good_a03.rpartition(b"200803031508\r")  # PV1-45, the last field of the message
    bad_date = head + b"20081399\r" + tail
    with MllpClient(listener) as client:
        garbage = ack_fields(client.send(b"this is not HL7 at all"))
        lab = ack_fields(client.send(as_sent("microsoft-fhir-converter/ORU-R01-01.hl7", "LAB1")))
        wrong = ack_fields(client.send(bad_date))
        good = ack_fields(client.send(as_sent("hapi-hl7v2/ADT_A01.txt", "GOOD1")))
    assert (garbage["code"], garbage["error"], garbage["control_id"]) == ("AR", "100", "")
    assert (lab["code"], lab["error"]) == ("AR", "200")
    assert (wrong["code"], wrong["error"]) == ("AE", "102")
    assert "PV1-45" in wrong["text"]
    assert good["code"] == "AA"  # the connection carries on after errors
    assert list(Encounter.objects.values_list("visit_number", flat=True)) == ["211004554"]
    kept = {m.control_id: m.status for m in InboundMessage.objects.all()}
    assert kept == {
        "": MessageStatus.REJECTED,
        "LAB1": MessageStatus.REJECTED,
        "BAD1": MessageStatus.ERROR,
        "GOOD1": MessageStatus.APPLIED,
    }
    assert "this is not HL7" in InboundMessage.objects.get(control_id="").raw


def test_an_ack_means_the_message_is_committed(listener):
    with MllpClient(listener) as client:
        for number in range(5):
            assert ack_fields(client.send(as_sent("hapi-hl7v2/adt_a03.txt", f"C{number}")))["code"] == "AA"
            # Read on this thread's own connection, right after the ACK: already there.
            assert InboundMessage.objects.filter(
                control_id=f"C{number}", status=MessageStatus.APPLIED
            ).exists()


def test_concurrent_repeats_from_several_connections_apply_once(listener):
    senders, rounds = 4, 6
    barrier = threading.Barrier(senders)
    answers: list[tuple[str, str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def sender(number: int) -> None:
        try:
            with MllpClient(listener) as client:
                for round_number in range(rounds):
                    payload = as_sent("hapi-hl7v2/adt_a03.txt", f"RACE{round_number}")
                    barrier.wait(timeout=30)
                    fields = ack_fields(client.send(payload))
                    with lock:
                        answers.append((fields["control_id"], fields["code"], fields["text"]))
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert len(answers) == senders * rounds
    assert {code for _, code, _ in answers} == {"AA"}
    for round_number in range(rounds):
        texts = [text for control_id, _, text in answers if control_id == f"RACE{round_number}"]
        assert sum(1 for text in texts if "Duplicate" in text) == senders - 1
    assert InboundMessage.objects.count() == rounds
    assert set(InboundMessage.objects.values_list("duplicate_count", flat=True)) == {senders - 1}
    assert EncounterEvent.objects.filter(event_type="A03").count() == rounds


def test_a_discharge_home_arrives_on_the_worklist(listener, org):
    coordinator = staff_actor(org, Role.COORDINATOR)
    patient = make_patient(
        coordinator, given_name="Ada", family_name="Lovelace", birth_date=dt.date(1944, 12, 10)
    )
    discharged = timezone.localtime() - dt.timedelta(hours=20)
    stamp = discharged.strftime("%Y%m%d%H%M")
    pv1 = ["PV1", "1", "I", "4E^136^B^GHH"] + [""] * 42
    pv1[19], pv1[36], pv1[44], pv1[45] = "V777", "01^Home or self care", stamp, stamp
    message = "\r".join(
        [
            f"MSH|^~\\&|ADT1|GHH|CAREDESK|RSH|{stamp}||ADT^A03^ADT_A03|TCM1|P|2.5.1",
            f"EVN|A03|{stamp}",
            f"PID|1||{patient.mrn}^^^RSH^MR~H42^^^GHH^MR||LOVELACE^ADA||19441210|F",
            "|".join(pv1),
        ]
    )
    with MllpClient(listener) as client:
        assert ack_fields(client.send(message))["code"] == "AA"
    episode = TcmEpisode.objects.get()
    assert episode.patient_id == patient.pk
    assert episode.discharge_date == discharged.date()
    top = worklist_selectors.list_tasks(actor=coordinator, query=WorklistQuery()).rows[0].task
    assert (top.task_type, top.patient_id) == (TaskType.TCM_CONTACT, patient.pk)


def test_mllp_framing(listener):
    one = frame(as_sent("hapi-hl7v2/ADT_A01.txt", "F1"))
    two = frame(as_sent("hapi-hl7v2/adt_a03.txt", "F2"))
    three = frame(as_sent("hapi-hl7v2/ADT_A01.txt", "F3"))
    with MllpClient(listener) as client:
        client.send_raw(one + b"\r\n" + two)  # two frames in one write, a stray line break between them
        assert [ack_fields(client.read_ack())["control_id"] for _ in range(2)] == ["F1", "F2"]
        for start in range(0, len(three), 50):  # one frame in many small writes
            client.send_raw(three[start : start + 50])
            time.sleep(0.001)
        assert ack_fields(client.read_ack())["control_id"] == "F3"
    assert InboundMessage.objects.count() == 3


def _database_url() -> str:
    return database_url()


def test_the_hl7_listen_command(transactional_db, org):
    env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "caredesk.manage",
        "hl7_listen",
        "--port",
        "0",
        "--organization",
        "rsh",
        "-v",
        "2",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"on 127\.0\.0\.1:(\d+) for RSH", line)
        assert match, line + (process.stderr.read() if process.poll() is not None and process.stderr else "")
        with MllpClient(int(match[1])) as client:
            assert ack_fields(client.send(as_sent("hapi-hl7v2/adt_a03.txt", "CMD1")))["code"] == "AA"
        assert "AA message" in process.stdout.readline()
    finally:
        process.terminate()
        out, _err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Stopped." in out
    assert InboundMessage.objects.get().control_id == "CMD1"


def test_the_command_refuses_an_unknown_organization(transactional_db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No organization"):
        call_command("hl7_listen", "--organization", "nope", "--port", "0")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listen_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "caredesk.manage", "hl7_listen", "--organization", "rsh", *extra]


def test_several_listener_processes_share_one_port(transactional_db, org):
    """`--processes 2`: two processes listen on one port; messages from eight connections at once are each
    acknowledged AA and stored once, a resend is answered without a second copy, and SIGTERM stops both."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
    port = _free_port()
    command = _listen_command("--port", str(port), "--processes", "2", "--workers", "2")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        started = [process.stdout.readline() for _ in range(2)]
        assert all(f"127.0.0.1:{port} for RSH" in line for line in started), started
        assert sorted(re.findall(r"process (\d) of 2", "".join(started))) == ["1", "2"]
        codes: Counter[str] = Counter()
        failures: list[BaseException] = []

        def sender(n: int) -> None:
            try:
                with MllpClient(port) as client:
                    for k in range(5):
                        reply = client.send(as_sent("hapi-hl7v2/ADT_A01.txt", f"MP{n}-{k}"))
                        codes[ack_fields(reply)["code"]] += 1
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures, failures
        assert codes == Counter({"AA": 40})
        with MllpClient(port) as client:
            assert ack_fields(client.send(as_sent("hapi-hl7v2/ADT_A01.txt", "MP3-2")))["code"] == "AA"
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Stopped." in out
    stored = Counter(InboundMessage.objects.values_list("control_id", flat=True))
    assert len(stored) == 40
    assert set(stored.values()) == {1}
    assert InboundMessage.objects.get(control_id="MP3-2").duplicate_count == 1


def test_several_processes_need_a_free_fixed_port(transactional_db, org):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="give it with --port"):
        call_command("hl7_listen", "--organization", "rsh", "--port", "0", "--processes", "2")
    env = {**os.environ, "DATABASE_URL": _database_url()}
    import socket

    with socket.socket() as taken:  # another program holds the port (without sharing it)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(  # noqa: S603
            _listen_command("--port", str(port), "--processes", "2"),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "all were stopped" in done.stderr
    assert InboundMessage.objects.count() == 0
