"""Loading the demo network into an empty database, and reading back its logins.

The network (organizations, locations, departments, users, practitioners) is written in one transaction;
patients follow in batches of a few thousand, one transaction per batch, through patients.bulk (one
PATIENT_CREATE audit row per patient). Practitioners go through practitioners.services like any other.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from caredesk.accounts.models import Department, Location, Organization, User
from caredesk.accounts.permissions import Permission, Role
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor, system_actor
from caredesk.core.errors import Conflict, ValidationFailed
from caredesk.patients.bulk import PatientRecord, import_patients, refresh_planner_statistics
from caredesk.practitioners.services import PractitionerInput, create_practitioner

from .billing import load_billing
from .careplans import load_careplans
from .credentialing import load_credentials
from .education import load_education
from .generator import DEMO_USERNAMES, Network, generate_patients, network
from .insurance import load_insurance
from .inventory import load_inventory
from .orders import load_orders
from .referrals import load_referrals
from .schedule import load_schedules
from .transitions import load_transitions

DEMO_PASSWORD = "caredesk-demo"  # noqa: S105 (the published password of the local demo accounts)
ADMIN_DEVICE_NAME = "Demo authenticator"
RECORDED_BY = "Demo import"
DEFAULT_BATCH_SIZE = 2000
MAX_PATIENTS = 1_000_000
_SEED_PERMISSIONS = frozenset(
    str(p) for p in (Permission.PATIENT_CREATE, Permission.CLINICAL_EDIT, Permission.PRACTITIONER_EDIT)
)


class DatabaseNotEmpty(Conflict):
    code = "database_not_empty"


@dataclass
class SeedReport:
    seed: int
    organizations: int = 0
    locations: int = 0
    departments: int = 0
    users: int = 0
    practitioners: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def has_organizations() -> bool:
    return Organization.objects.exists()


def demo_totp_key(seed: int) -> str:
    """The administrator's TOTP key (hex, 20 bytes), fixed for a seed so a tester's authenticator entry
    keeps working after the demo database is rebuilt. A demo-only value: never use it for real accounts."""
    return hashlib.sha256(f"caredesk-demo-totp:{seed}".encode()).hexdigest()[:40]


def _seed_actor(organization_id: int | None) -> Actor:
    return system_actor(
        organization_id=organization_id, permissions=_SEED_PERMISSIONS, channel="cli", username="seed_demo"
    )


def _create_network(
    net: Network, seed: int, report: SeedReport
) -> tuple[list[Organization], dict[str, User]]:
    organizations: list[Organization] = []
    locations: list[list[Location]] = []
    for spec, npi in zip(net.organizations, net.organization_npis, strict=True):
        org = Organization.objects.create(
            name=spec.name,
            short_code=spec.short_code,
            npi=npi,
            phone=spec.phone,
            tax_id=f"{npi[1:3]}-{npi[3:10]}",  # a made-up EIN (9 digits), so demo claims can be billed
        )
        organizations.append(org)
        org_locations = []
        for loc in spec.locations:
            location = Location.objects.create(
                organization=org,
                name=loc.name,
                kind=loc.kind,
                address_line=loc.address_line,
                city=loc.city,
                state=spec.state,
                postal_code=loc.postal_code,
                phone=loc.phone,
                timezone="America/New_York",
            )
            org_locations.append(location)
            for name in loc.departments:
                Department.objects.create(organization=org, location=location, name=name)
                report.departments += 1
        locations.append(org_locations)
    report.organizations = len(organizations)
    report.locations = sum(len(x) for x in locations)

    password = make_password(DEMO_PASSWORD)  # hashed once: every demo account shares the demo password
    users: dict[str, User] = {}
    for user_spec in net.users:
        if user_spec.portal:
            continue  # created once its patient exists
        org = organizations[user_spec.organization]
        users[user_spec.username] = User.objects.create(
            username=user_spec.username,
            password=password,
            organization=org,
            role=user_spec.role,
            first_name=user_spec.first_name,
            last_name=user_spec.last_name,
            email=f"{user_spec.username}@{net.organizations[user_spec.organization].email_domain}",
            is_staff=user_spec.role == Role.ADMINISTRATOR,
        )
    TOTPDevice.objects.create(
        user=users["admin"], name=ADMIN_DEVICE_NAME, key=demo_totp_key(seed), confirmed=True
    )

    for practitioner in net.practitioners:
        org = organizations[practitioner.organization]
        linked = users.get(practitioner.username) if practitioner.username else None
        create_practitioner(
            actor=_seed_actor(org.pk),
            data=PractitionerInput(
                given_name=practitioner.given_name,
                family_name=practitioner.family_name,
                npi=practitioner.npi,
                specialty=practitioner.specialty,
                credentials=practitioner.credentials,
                phone=practitioner.phone,
                email=practitioner.email,
                location_ids=[locations[practitioner.organization][i].pk for i in practitioner.locations],
                user_id=linked.pk if linked else None,
            ),
        )
        report.practitioners += 1
    return organizations, users


def seed_demo(
    *,
    patients: int,
    seed: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Load the demo network with `patients` patients into a database without organizations.

    DatabaseNotEmpty when an organization exists (the demo never mixes with other data). `progress` is
    called with the number of patients written after each batch."""
    if not 1 <= patients <= MAX_PATIENTS:
        raise ValidationFailed(f"The number of patients must be between 1 and {MAX_PATIENTS:,}.")
    if not 100 <= batch_size <= 20_000:
        raise ValidationFailed("The batch size must be between 100 and 20,000.")
    started = time.perf_counter()
    report = SeedReport(seed=seed)
    net = network(seed)
    with transaction.atomic():
        if has_organizations():
            raise DatabaseNotEmpty(
                "The database already holds organizations; "
                "the demo network loads into an empty database only."
            )
        organizations, users = _create_network(net, seed, report)

    actors = [_seed_actor(org.pk) for org in organizations]
    pending: list[list[PatientRecord]] = [[] for _ in organizations]
    portal_patient_id: int | None = None
    portal_name = ("", "")
    totals: dict[str, int] = {}

    def flush(org_index: int) -> None:
        nonlocal portal_patient_id
        batch = pending[org_index]
        if not batch:
            return
        result = import_patients(
            actor=actors[org_index], records=batch, recorded_by_name=RECORDED_BY, source="seed_demo"
        )
        if portal_patient_id is None and org_index == 0:
            portal_patient_id = result.patient_ids[0]
        for name, value in result.counts.items():
            totals[name] = totals.get(name, 0) + value
        pending[org_index] = []
        if progress is not None:
            progress(len(batch))

    for generated in generate_patients(seed, patients):
        if generated.portal and generated.organization == 0:
            portal_name = (generated.record.patient.given_name, generated.record.patient.family_name)
        pending[generated.organization].append(generated.record)
        if len(pending[generated.organization]) >= batch_size:
            flush(generated.organization)
    for org_index in range(len(organizations)):
        flush(org_index)
    refresh_planner_statistics()
    schedule = load_schedules(organizations, seed, patients)
    totals["appointments"] = schedule.appointments
    totals["surgical_cases"] = schedule.surgical_cases
    insurance = load_insurance(organizations, seed, patients)
    totals["coverages"] = insurance.coverages
    billing = load_billing(organizations)
    totals["procedure_codes"] = billing.codes
    totals["claims"] = billing.claims
    referrals = load_referrals(organizations, seed, patients)
    totals["referrals"] = referrals.referrals
    totals["communications"] = referrals.communications
    transitions = load_transitions(organizations)
    totals["hl7_messages"] = transitions.messages
    totals["discharges"] = transitions.discharges
    totals["education_materials"] = load_education(organizations)
    careplans = load_careplans(organizations)
    totals["care_plans"] = careplans.plans
    totals["ccm_patients"] = careplans.ccm_patients
    supplies = load_inventory(organizations)
    totals["supply_items"] = supplies.items
    totals["stock_locations"] = supplies.stock_locations
    credentials = load_credentials(organizations, seed)  # last: the seed's own bookings are not checked
    totals["licenses"] = credentials.licenses
    totals["privileges"] = credentials.privileges
    totals["orders"] = load_orders(organizations).orders  # after credentials: orders are checked

    with transaction.atomic():
        portal_spec = next(u for u in net.users if u.portal)
        portal_org = organizations[portal_spec.organization]
        if portal_patient_id is not None:
            users[portal_spec.username] = User.objects.create(
                username=portal_spec.username,
                password=make_password(DEMO_PASSWORD),
                organization=portal_org,
                role=Role.PATIENT,
                patient_id=portal_patient_id,
                first_name=portal_name[0],
                last_name=portal_name[1],
            )
        report.users = len(users)
        report.counts = totals
        report.seconds = time.perf_counter() - started
        audit.record(
            actor=_seed_actor(None),
            action=AuditAction.DEMO_SEEDED,
            object_type="demo.network",
            detail={
                "seed": seed,
                "organizations": [org.short_code for org in organizations],
                "practitioners": report.practitioners,
                "users": sorted(users),
                "counts": totals,
            },
        )
    return report


# --- logins ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    role_label: str
    organization: str
    name: str


@dataclass(frozen=True)
class TotpSecret:
    username: str
    base32: str
    otpauth_url: str
    current_code: str
    seconds_left: int


def demo_logins() -> list[DemoLogin]:
    """The demo accounts present in this database, in the order of the demo's roles."""
    found = {
        user.username: user
        for user in User.objects.filter(username__in=DEMO_USERNAMES).select_related("organization")
    }
    labels = dict(Role.choices)
    logins = []
    for name in DEMO_USERNAMES:
        user = found.get(name)
        if user is None:
            continue
        logins.append(
            DemoLogin(
                username=name,
                role=user.role,
                role_label=str(labels.get(user.role, user.role)),
                organization=user.organization.name if user.organization is not None else "",
                name=user.get_full_name(),
            )
        )
    return logins


def admin_totp(username: str = "admin", now: float | None = None) -> TotpSecret | None:
    """The demo administrator's authenticator secret and the code valid `now` (default: this second)."""
    device = TOTPDevice.objects.filter(
        user__username=username, name=ADMIN_DEVICE_NAME, confirmed=True
    ).first()
    if device is None:
        return None
    moment = time.time() if now is None else now
    generator = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    generator.time = moment
    code = generator.token()
    issuer = getattr(settings, "OTP_TOTP_ISSUER", "Caredesk")
    return TotpSecret(
        username=username,
        base32=base64.b32encode(device.bin_key).decode("ascii"),
        otpauth_url=device.config_url if issuer else "",
        current_code=f"{code:0{device.digits}d}",
        seconds_left=device.step - int(moment - device.t0) % device.step,
    )
