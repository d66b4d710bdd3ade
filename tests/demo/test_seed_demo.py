"""seed_demo and demo_logins against the real database: what a person running `make run` relies on."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator

import pytest
import simple_icd_10_cm as cm
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from caredesk.accounts.models import Department, Location, Organization, User
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim, ProcedureCode
from caredesk.core.text import name_key
from caredesk.demo.generator import generate_patients, network
from caredesk.demo.services import DEMO_PASSWORD, demo_totp_key
from caredesk.patients import rules
from caredesk.patients.models import Allergy, Medication, Observation, Patient, Problem
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.rules import is_valid_npi
from caredesk.transitions.models import Encounter, InboundMessage, TcmEpisode
from caredesk.worklist.choices import TaskType
from caredesk.worklist.models import Task
from tests.support.module_data import built_once

pytestmark = pytest.mark.django_db

ROLES_IN_FIRST_ORG = {
    "admin": Role.ADMINISTRATOR,
    "coordinator": Role.COORDINATOR,
    "frontdesk": Role.FRONT_DESK,
    "billing": Role.BILLING,
    "nurse": Role.NURSE,
    "physician": Role.PHYSICIAN,
    "patient": Role.PATIENT,
}


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def _seeded_once(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The demo is loaded once for the module (tests/support/module_data.py); each test's writes are
    rolled back after it. Tests that need an empty database are in test_seed_demo_empty.py."""
    with built_once(django_db_blocker, lambda: seed("--patients", "60", "--seed", "7")) as out:
        yield out


@pytest.fixture
def seeded(_seeded_once: str, db) -> str:
    return _seeded_once


def test_builds_two_organizations_with_four_locations_and_departments(seeded):
    orgs = {org.short_code: org for org in Organization.objects.all()}
    assert set(orgs) == {"RSH", "HMG"}
    assert orgs["RSH"].name == "Riverside Health"
    assert orgs["HMG"].name == "Hilltop Medical Group"
    assert Location.objects.count() == 4
    for code, state in (("RSH", "NY"), ("HMG", "NJ")):
        locations = Location.objects.filter(organization=orgs[code])
        assert locations.count() == 2
        assert {loc.state for loc in locations} == {state}
        assert Department.objects.filter(organization=orgs[code]).exists()
    assert Location.objects.filter(kind="hospital_unit").count() == 1
    assert "2 organizations, 4 locations" in seeded


def test_twenty_five_practitioners_with_valid_npis_spread_over_locations(seeded):
    practitioners = list(Practitioner.objects.prefetch_related("locations"))
    assert len(practitioners) == 25
    assert all(is_valid_npi(p.npi) for p in practitioners)
    assert len({p.npi for p in practitioners}) == 25
    assert len({p.specialty for p in practitioners}) >= 10
    for practitioner in practitioners:
        locations = list(practitioner.locations.all())
        assert locations, f"{practitioner} works nowhere"
        assert all(loc.organization_id == practitioner.organization_id for loc in locations)
    used = {loc.pk for p in practitioners for loc in p.locations.all()}
    assert used == set(Location.objects.values_list("pk", flat=True))
    linked = [p for p in practitioners if p.user_id is not None]
    assert len(linked) >= 3
    assert all(p.user.role == Role.PHYSICIAN for p in linked)
    assert all(p.user.organization_id == p.organization_id for p in linked)


def test_demo_users_one_per_role_sign_in_with_the_demo_password(seeded):
    rsh = Organization.objects.get(short_code="RSH")
    for username, role in ROLES_IN_FIRST_ORG.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.organization_id == rsh.pk
        assert user.check_password(DEMO_PASSWORD)
    coordinator2 = User.objects.get(username="coordinator2")
    assert coordinator2.role == Role.COORDINATOR
    assert coordinator2.organization.short_code == "HMG"
    portal = User.objects.get(username="patient")
    assert portal.patient is not None
    assert portal.patient.organization_id == rsh.pk
    assert portal.patient.status == "active"
    assert (portal.first_name, portal.last_name) == (portal.patient.given_name, portal.patient.family_name)


def test_administrator_has_a_confirmed_authenticator_with_a_key_fixed_by_the_seed(seeded):
    device = TOTPDevice.objects.get(user__username="admin")
    assert device.confirmed
    assert device.key == demo_totp_key(7)
    assert demo_totp_key(7) != demo_totp_key(8)
    assert not TOTPDevice.objects.exclude(user__username="admin").exists()


def test_patients_are_split_over_both_organizations_with_valid_charts(seeded):
    counts = Counter(Patient.objects.values_list("organization__short_code", flat=True))
    assert counts == {"RSH": 36, "HMG": 24}
    for patient in Patient.objects.select_related("organization"):
        assert patient.mrn.startswith(patient.organization.short_code)
        assert patient.family_key == name_key(patient.family_name)
        assert patient.given_key == name_key(patient.given_name)
        expected_state = "NY" if patient.organization.short_code == "RSH" else "NJ"
        assert patient.state == expected_state
        assert rules.is_us_zip(patient.postal_code)
    problems = list(Problem.objects.all())
    assert problems
    for problem in problems:
        compact = problem.icd10_code.replace(".", "")
        assert cm.is_valid_item(compact), problem.icd10_code
        assert cm.is_leaf(compact), f"{problem.icd10_code} is not billable"
        assert problem.description == cm.get_description(compact)
        assert problem.recorded_by_name == "Demo import"
    per_patient = Counter(Problem.objects.values_list("patient_id", flat=True))
    assert max(per_patient.values()) <= 4
    assert max(Counter(Allergy.objects.values_list("patient_id", flat=True)).values()) <= 2
    assert max(Counter(Medication.objects.values_list("patient_id", flat=True)).values()) <= 5
    kinds = set(Observation.objects.values_list("kind", flat=True))
    assert {"blood_pressure", "heart_rate", "weight", "height", "bmi"} <= kinds
    bp = Observation.objects.filter(kind="blood_pressure").first()
    assert bp is not None
    assert bp.value2 is not None
    assert bp.value2 < bp.value
    assert bp.loinc_code == "85354-9"
    # Diabetics with vitals on file have an HbA1c too.
    diabetic = set(Problem.objects.filter(icd10_code__startswith="E11").values_list("patient_id", flat=True))
    measured = set(Observation.objects.values_list("patient_id", flat=True))
    with_a1c = set(Observation.objects.filter(kind="hba1c").values_list("patient_id", flat=True))
    assert diabetic & measured
    assert diabetic & measured <= with_a1c


def test_demo_holds_deceased_inactive_and_near_duplicate_patients(seeded):
    assert Patient.objects.filter(status="deceased", deceased_date__isnull=False).exists()
    assert Patient.objects.filter(status="inactive").exists()
    pairs = 0
    for org in Organization.objects.all():
        by_birth: dict[object, list[Patient]] = {}
        for patient in Patient.objects.filter(organization=org):
            by_birth.setdefault(patient.birth_date, []).append(patient)
        for same_day in by_birth.values():
            for i, a in enumerate(same_day):
                for b in same_day[i + 1 :]:
                    if rules.names_look_alike(
                        rules.NameKeys(a.given_key, a.family_key), rules.NameKeys(b.given_key, b.family_key)
                    ):
                        pairs += 1
    assert pairs >= 2  # one in each organization at least


def test_every_patient_has_one_creation_audit_row_and_the_run_one_seeded_row(seeded):
    created = AuditEvent.objects.filter(action=AuditAction.PATIENT_CREATE)
    per_patient = Counter(created.values_list("patient_id", flat=True))
    assert set(per_patient) == set(Patient.objects.values_list("pk", flat=True))
    assert set(per_patient.values()) == {1}
    assert set(created.values_list("channel", flat=True)) == {"cli"}
    assert set(created.values_list("actor_role", flat=True)) == {"system"}
    for event in created.select_related(None)[:5]:
        assert event.organization_id == Patient.objects.get(pk=event.patient_id).organization_id
    seeded_rows = AuditEvent.objects.filter(action=AuditAction.DEMO_SEEDED)
    assert seeded_rows.count() == 1
    assert seeded_rows.get().detail["seed"] == 7
    assert AuditEvent.objects.filter(action=AuditAction.PRACTITIONER_CREATE).count() == 25


def test_same_seed_gives_the_same_patients_names_and_mrns(seeded):
    """The generator is a pure function of the seed; the database holds exactly its output, in MRN order."""
    first = [(g.organization, g.sequence, g.record.patient) for g in generate_patients(7, 60)]
    again = [(g.organization, g.sequence, g.record.patient) for g in generate_patients(7, 60)]
    assert first == again
    other = [(g.organization, g.sequence, g.record.patient) for g in generate_patients(8, 60)]
    assert [p.given_name for _, _, p in first] != [p.given_name for _, _, p in other]
    assert network(7) == network(7)
    codes = {0: "RSH", 1: "HMG"}
    for org_index, sequence, data in first:
        stored = Patient.objects.get(mrn=rules.format_mrn(codes[org_index], sequence + 1))
        assert (stored.given_name, stored.family_name, stored.birth_date) == (
            data.given_name,
            data.family_name,
            data.birth_date,
        )
    names = {(p.given_name, p.family_name) for p in network(7).practitioners}
    assert names == set(Practitioner.objects.values_list("given_name", "family_name"))


def test_names_include_accented_spellings():
    patients = [g.record.patient for g in generate_patients(42, 2000)]
    accented = [p for p in patients if not (p.given_name + p.family_name).isascii()]
    assert len(accented) > 100
    spellings = {p.given_name for p in patients} | {p.family_name for p in patients}
    assert {"José", "Zoë", "Müller", "Nguyễn", "O'Brien"} <= spellings


def test_if_empty_skips_a_populated_database_and_plain_rerun_is_refused(seeded):
    before = (Patient.objects.count(), AuditEvent.objects.count(), User.objects.count())
    out = seed("--if-empty", "--patients", "10")
    assert "already holds organizations" in out
    assert "not loaded" in out
    with pytest.raises(CommandError, match="already holds organizations"):
        seed("--patients", "10")
    assert (Patient.objects.count(), AuditEvent.objects.count(), User.objects.count()) == before


def test_demo_logins_prints_every_role_the_password_and_a_working_code(seeded):
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    assert DEMO_PASSWORD in text
    for username in [*ROLES_IN_FIRST_ORG, "coordinator2"]:
        assert re.search(rf"^\s+{username}\s", text, re.MULTILINE), username
    for label in ("Administrator", "Care coordinator", "Front desk", "Billing", "Nurse", "Physician",
                  "Patient (portal)", "Hilltop Medical Group"):  # fmt: skip
        assert label in text
    device = TOTPDevice.objects.get(user__username="admin")
    assert device.config_url in text
    code = re.search(r"Code valid now: (\d{6})", text)
    assert code is not None
    assert device.verify_token(code.group(1))


def test_the_hospital_feed_brings_admissions_and_discharges_with_tcm_contacts_made(seeded):
    messages = InboundMessage.objects.all()
    assert messages.count() == 2 * (5 + 3 + 1)  # per organization: 5 admissions, 3 discharges, 1 stranger
    assert set(messages.values_list("ack_code", flat=True)) == {"AA"}
    encounters = Encounter.objects.all()
    assert encounters.filter(discharge_at__isnull=False).count() == 6
    assert encounters.filter(patient__isnull=True).count() == 2  # the unknown admissions wait for a match
    assert Task.objects.filter(task_type=TaskType.PATIENT_MATCH_REVIEW, status="open").count() == 2
    episodes = TcmEpisode.objects.all()
    assert episodes.count() == 6
    assert not episodes.filter(contact_communication__isnull=True).exists()  # every call logged
    assert not Task.objects.filter(task_type=TaskType.TCM_CONTACT, status="open").exists()
    assert Task.objects.filter(task_type=TaskType.TCM_VISIT, status="open").count() == 6


def test_the_billing_desk_has_draft_claims_that_scrub_clean(seeded):
    claims = Claim.objects.all()
    assert claims.count() == 2 * 6  # per organization
    assert set(claims.values_list("status", flat=True)) == {ClaimStatus.DRAFT}
    assert all(not claim.scrub_problems for claim in claims)
    assert all(claim.coverage_id is not None for claim in claims)
    assert ProcedureCode.objects.filter(code="G0439").count() == 2  # the demo code list, per organization
