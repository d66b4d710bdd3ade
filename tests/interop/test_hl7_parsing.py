"""HL7 v2 without a socket: wire normalization, reading ADT messages (the public samples included) into the
domain's values, and the ACK's shape (parsed back with python-hl7)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import hl7
import pytest

from caredesk.interop.hl7 import adt, wire
from caredesk.interop.hl7.ack import build_ack
from caredesk.transitions.choices import SUPPORTED_TRIGGERS

from .hl7_support import OTHER_TYPES, SUPPORTED_SAMPLES, UNSUPPORTED_SAMPLES, sample, segments

ZONE = ZoneInfo("America/New_York")


def read(payload: bytes) -> tuple[adt.Envelope, hl7.Message]:
    message = adt.parse(wire.normalize(wire.decode(payload)))
    return adt.envelope(message, ZONE), message


# --- the wire ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n"])
@pytest.mark.parametrize("bom", [False, True])
def test_any_line_ending_and_a_bom_become_cr(separator, bom):
    text = ("\ufeff" if bom else "") + separator.join(["MSH|^~\\&|A|B", "", "PID|1", "PV1|1|I"]) + separator
    assert wire.normalize(text) == "MSH|^~\\&|A|B\rPID|1\rPV1|1|I"


def test_bytes_that_are_not_utf8_are_read_as_latin1():
    assert wire.decode("MSH|Müller".encode("latin-1")) == "MSH|Müller"
    assert wire.decode("MSH|Müller".encode()) == "MSH|Müller"


def test_escape():
    assert wire.escape("a|b^c~d\\e&f\ng") == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f g"


# --- reading ADT -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUPPORTED_SAMPLES)
def test_every_supported_sample_reads(name):
    env, message = read(sample(name))
    adt.check_supported(env)
    event = adt.event(message, env, ZONE)
    assert event.header.trigger in SUPPORTED_TRIGGERS
    assert event.header.control_id
    if event.header.trigger == "A40":
        assert event.merges
        assert all(m.prior for m in event.merges)
    else:
        assert event.person is not None
        assert event.person.identifiers
        assert event.visit is not None


@pytest.mark.parametrize("name", UNSUPPORTED_SAMPLES)
def test_other_adt_events_are_refused_with_201(name):
    env, _message = read(sample(name))
    with pytest.raises(adt.Unreadable) as refused:
        adt.check_supported(env)
    assert (refused.value.ack_code, refused.value.error_code) == ("AR", "201")


@pytest.mark.parametrize("name", OTHER_TYPES)
def test_other_message_types_are_refused_with_200(name):
    env, _message = read(sample(name))
    with pytest.raises(adt.Unreadable) as refused:
        adt.check_supported(env)
    assert (refused.value.ack_code, refused.value.error_code) == ("AR", "200")


def test_a_discharge_sample_in_detail():
    env, message = read(sample("microsoft-fhir-converter/ADT-A03-01.hl7"))
    event = adt.event(message, env, ZONE)
    assert env.sender == "ADTApp|GHHSFacility"
    assert env.version == "2.8"
    person = event.person
    assert person is not None
    assert [(i.value, i.authority, i.type_code) for i in person.identifiers] == [
        ("PATID1234", "test1", "MR"),
        ("123456789", "USSSA", "SS"),
    ]
    assert (person.family_name, person.given_name, person.middle_name) == ("EVERYMAN", "ADAM", "A")
    assert person.birth_date == dt.date(1988, 8, 18)  # the date as written, not shifted by its offset
    assert person.sex == "male"
    visit = event.visit
    assert visit is not None
    assert (visit.visit_number, visit.patient_class, visit.point_of_care, visit.room, visit.bed) == (
        "40007716",
        "P",
        "HUH AE OMU",
        "OMU B",
        "Bed 03",
    )
    assert visit.discharge_at == dt.datetime(2015, 2, 9, 10, 24, 19, tzinfo=dt.UTC)  # +0110 converted
    assert visit.disposition_code == "Admitted as Inpatient"


def test_local_times_are_read_in_the_organizations_zone():
    env, message = read(sample("hapi-hl7v2/adt_a03.txt"))
    event = adt.event(message, env, ZONE)
    assert event.visit is not None
    assert event.visit.discharge_at == dt.datetime(2008, 3, 3, 15, 8, tzinfo=ZONE)
    assert event.person is not None
    assert event.person.identifiers[0].authority == "PK"


def test_a40_pairs_each_pid_with_its_mrg():
    env, message = read(sample("microsoft-fhir-converter/ADT-A40-02.hl7"))
    event = adt.event(message, env, ZONE)
    assert [(m.survivor.identifiers[0].value, m.prior[0].value) for m in event.merges] == [
        ("12345", "56789"),
        ("145", "569"),
    ]


def _read_and_check(text: str) -> None:
    env, _message = read(text.encode())
    adt.check_supported(env)


@pytest.mark.parametrize(
    ("text", "ack_code", "error_code"),
    [
        ("garbage", "AR", "100"),
        ("PID|1||123", "AR", "100"),
        ("MSH|^~\\&|A|B|C|D|20260101||ADT^A01|", "AR", "101"),
        ("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|C1|P|2.5", "AR", "200"),
        ("MSH|^~\\&|A|B|C|D|20260101||ADT^A05|C1|P|2.5", "AR", "201"),
    ],
)
def test_what_cannot_be_read_says_why(text, ack_code, error_code):
    with pytest.raises(adt.Unreadable) as refused:
        _read_and_check(text)
    assert (refused.value.ack_code, refused.value.error_code) == (ack_code, error_code)


def pv1(**values: str) -> str:
    """A PV1 segment with the given fields (`f2="I"`, `f45="2026..."`)."""
    fields = ["PV1"] + [""] * 45
    for name, value in values.items():
        fields[int(name[1:])] = value
    return "|".join(fields)


def test_a_date_that_is_not_one_is_a_data_type_error():
    text = "\r".join(
        [
            "MSH|^~\\&|A|B|C|D|20260101||ADT^A03|C1|P|2.5",
            "PID|1||X1^^^H^MR||DOE^JANE",
            pv1(f2="I", f19="V1", f36="01", f45="20261399"),
        ]
    )
    env, message = read(text.encode())
    with pytest.raises(adt.Unreadable) as refused:
        adt.event(message, env, ZONE)
    assert (refused.value.ack_code, refused.value.error_code) == ("AE", "102")
    assert "PV1-45" in refused.value.text


# --- the acknowledgement -----------------------------------------------------------------------------


def test_an_accept_ack_parses_and_answers_the_sender():
    env, _message = read(sample("microsoft-fhir-converter/ADT-A01-01.hl7"))
    ack = hl7.parse(build_ack(env, ack_code="AA", facility="RSH"))
    assert str(ack.segment("MSH")(9)) == "ACK^A01^ACK"
    assert str(ack.segment("MSH")(5)) == "ADTApp"  # back to the sender as it named itself
    assert str(ack.segment("MSH")(6)) == "GHHSFacility^2.16.840.1.122848.1.30^ISO"
    assert str(ack.segment("MSH")(12)) == "2.8"
    assert (str(ack.segment("MSA")(1)), str(ack.segment("MSA")(2))) == ("AA", "MSG00001")
    with pytest.raises(KeyError):
        ack.segment("ERR")


def test_an_error_ack_carries_the_reason_escaped():
    env, _message = read(sample("microsoft-fhir-converter/ADT-A01-01.hl7"))
    text = "PV1-45 | bad ^ value"
    ack = hl7.parse(build_ack(env, ack_code="AE", error_code="102", text=text))
    assert str(ack.segment("MSA")(1)) == "AE"
    assert ack.unescape(str(ack.segment("MSA")(3))) == text
    assert str(ack.segment("ERR")(3)) == "102^Data type error^HL70357"
    assert str(ack.segment("ERR")(4)) == "E"
    assert ack.unescape(str(ack.segment("ERR")(8))) == text


def test_an_ack_for_an_unreadable_message_still_parses():
    ack = build_ack(adt.Envelope(), ack_code="AR", error_code="100", text="Not HL7.")
    parsed = hl7.parse(ack)
    assert str(parsed.segment("MSA")(1)) == "AR"
    assert str(parsed.segment("MSA")(2)) == ""
    assert segments(ack.encode())[0].startswith("MSH|^~\\&|CAREDESK|")
