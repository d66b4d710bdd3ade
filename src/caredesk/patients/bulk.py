"""Bulk import of whole patient records (demographics, contacts, identifiers and chart entries).

The one place that writes patients with `bulk_create`: the demo seeder and later file imports use it to load
thousands of records at once. Each call is one use case: it checks the permission, validates every record
before writing anything (a refused batch changes nothing and the error names the record), allocates the
MRNs in one block under the organization's counter lock, inserts each table in one statement per few
thousand rows, and appends one PATIENT_CREATE audit row per patient, all in one transaction. Callers
split large imports into batches of a few thousand records (one call, one transaction each) and call
`refresh_planner_statistics()` once at the end.

No duplicate check runs here: an import is a known list of distinct people (the registration desk uses
services.register_patient, which does check).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.text import name_key, phone_key

from . import rules
from .choices import (
    AdministrativeSex,
    AllergyCriticality,
    ContactRelationship,
    ObservationKind,
    PatientStatus,
    TelecomSystem,
    TelecomUse,
)
from .errors import InvalidCode
from .models import (
    Allergy,
    Medication,
    MrnSequence,
    Observation,
    Patient,
    PatientIdentifier,
    PatientTelecom,
    Problem,
    RelatedPerson,
)
from .schemas import PatientInput

BATCH_SIZE = 2000  # rows per INSERT statement (SQLite allows 32,766 bound values per statement)
MAX_RECORDS_PER_CALL = 20_000
PROBLEM_STATUSES = frozenset({"active", "resolved", "inactive"})
_PATIENT_STATUSES = frozenset({PatientStatus.ACTIVE, PatientStatus.INACTIVE, PatientStatus.DECEASED})


@dataclass
class ProblemRow:
    icd10_code: str
    onset_date: dt.date | None = None
    clinical_status: str = "active"
    description: str = ""  # defaults to the ICD-10-CM description of the code


@dataclass
class AllergyRow:
    substance: str
    reaction: str = ""
    criticality: str = AllergyCriticality.LOW


@dataclass
class MedicationRow:
    name: str
    dose: str = ""
    route: str = ""
    frequency: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    rxnorm_code: str = ""


@dataclass
class ObservationRow:
    kind: str  # ObservationKind
    value: Decimal
    effective_at: dt.datetime
    value2: Decimal | None = None
    unit: str = ""  # defaults to the kind's first unit (rules.OBSERVATION_SPECS)


@dataclass
class PatientRecord:
    """One patient with everything to load for them. `patient.telecoms`, `.identifiers` and
    `.related_persons` are loaded too."""

    patient: PatientInput
    problems: list[ProblemRow] = field(default_factory=list)
    allergies: list[AllergyRow] = field(default_factory=list)
    medications: list[MedicationRow] = field(default_factory=list)
    observations: list[ObservationRow] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    patient_ids: list[int]
    mrns: list[str]
    counts: dict[str, int]


_SEXES = frozenset(AdministrativeSex.values)
_TELECOM_SYSTEMS = frozenset(TelecomSystem.values)
_TELECOM_USES = frozenset(TelecomUse.values)
_RELATIONSHIPS = frozenset(ContactRelationship.values)
_CRITICALITIES = frozenset(AllergyCriticality.values)
_OBSERVATION_KINDS = frozenset(ObservationKind.values)


@lru_cache(maxsize=4096)
def _icd10(code: str) -> tuple[str, str] | None:
    """(dotted code, description) of a billable ICD-10-CM code; None when it is not a code."""
    normalized = rules.normalize_icd10(code)
    if normalized is None:
        return None
    return normalized, rules.icd10_description(normalized)


def _refuse(index: int, message: str, field_name: str) -> ValidationFailed:
    return ValidationFailed(f"Record {index + 1}: {message}", field=field_name, details={"record": index + 1})


def _check_lengths(index: int, data: PatientInput) -> None:
    for name in ("given_name", "family_name", "middle_name", "preferred_name", "city"):
        if len(getattr(data, name)) > 100:
            raise _refuse(index, f"{name.replace('_', ' ').capitalize()} is too long.", name)
    for name in ("address_line1", "address_line2"):
        if len(getattr(data, name)) > 200:
            raise _refuse(index, "The address line is too long.", name)


def _check_patient(index: int, data: PatientInput, today: dt.date) -> None:
    """What the database would not catch, or would catch only as a 500."""
    _check_lengths(index, data)
    for name in ("given_name", "family_name"):
        if not name_key(getattr(data, name)):
            raise _refuse(index, f"{name.replace('_', ' ').capitalize()} is required.", name)
    if not isinstance(data.birth_date, dt.date):
        raise _refuse(index, "Birth date is required.", "birth_date")
    problem = rules.birth_date_error(data.birth_date, today)
    if problem is None:
        problem = rules.deceased_date_error(data.status, data.deceased_date, data.birth_date, today)
    if problem is not None:
        raise _refuse(index, problem, "birth_date")
    if data.sex not in _SEXES:
        raise _refuse(index, f"{data.sex!r} is not an administrative sex.", "sex")
    if data.status not in _PATIENT_STATUSES:
        raise _refuse(index, f"{data.status!r} is not a status a new record can have.", "status")
    if data.state and not rules.is_us_state(data.state):
        raise _refuse(index, f"{data.state!r} is not a US state code.", "state")
    if data.postal_code and data.country == "US" and not rules.is_us_zip(data.postal_code):
        raise _refuse(index, f"{data.postal_code!r} is not a US ZIP code.", "postal_code")
    for telecom in data.telecoms:
        if telecom.system not in _TELECOM_SYSTEMS or telecom.use not in _TELECOM_USES:
            raise _refuse(index, f"Unknown kind of phone number for {telecom.value!r}.", "telecoms")
        problem = rules.phone_digits_error(phone_key(telecom.value))
        if problem is not None:
            raise _refuse(index, problem, "telecoms")
    for person in data.related_persons:
        if person.relationship not in _RELATIONSHIPS:
            raise _refuse(index, f"{person.relationship!r} is not a relationship.", "related_persons")
    seen: set[tuple[str, str]] = set()
    for identifier in data.identifiers:
        key = (identifier.system, identifier.value)
        if not identifier.system or not identifier.value or key in seen:
            raise _refuse(index, "Identifiers need a system and a value, each pair once.", "identifiers")
        seen.add(key)


def _check_chart(index: int, record: PatientRecord) -> None:
    for problem_row in record.problems:
        if _icd10(problem_row.icd10_code) is None:
            raise InvalidCode(
                f"Record {index + 1}: {problem_row.icd10_code!r} is not an ICD-10-CM diagnosis code.",
                field="icd10_code",
                details={"record": index + 1},
            )
        if problem_row.clinical_status not in PROBLEM_STATUSES:
            raise _refuse(index, f"{problem_row.clinical_status!r} is not a problem status.", "problems")
    for allergy in record.allergies:
        if not allergy.substance.strip() or allergy.criticality not in _CRITICALITIES:
            raise _refuse(index, "An allergy needs a substance and a known criticality.", "allergies")
    for medication in record.medications:
        if not medication.name.strip():
            raise _refuse(index, "A medication needs a name.", "medications")
    for observation in record.observations:
        if observation.kind not in _OBSERVATION_KINDS:
            raise _refuse(index, f"{observation.kind!r} is not a kind of observation.", "observations")
        unit = observation.unit or rules.OBSERVATION_SPECS[observation.kind].default_unit
        refusal = rules.observation_error(observation.kind, observation.value, observation.value2, unit)
        if refusal is not None:
            raise _refuse(index, refusal[1], "observations")
        if timezone.is_naive(observation.effective_at):
            raise _refuse(index, "Observation times need a time zone.", "observations")


def _allocate_mrns(organization_id: int, count: int) -> list[str]:
    """`count` MRNs in one block from the organization's counter (locked until the transaction ends),
    skipping any number a record already holds."""
    short_code = Organization.objects.values_list("short_code", flat=True).get(pk=organization_id)
    MrnSequence.objects.get_or_create(organization_id=organization_id)
    counter = MrnSequence.objects.select_for_update().filter(organization_id=organization_id)
    counter.get()  # take the lock before reading the value
    mrns: list[str] = []
    while len(mrns) < count:
        wanted = count - len(mrns)
        counter.update(last_value=F("last_value") + wanted)
        last = counter.values_list("last_value", flat=True).get()
        block = [rules.format_mrn(short_code, number) for number in range(last - wanted + 1, last + 1)]
        taken = set(
            Patient.objects.filter(organization_id=organization_id, mrn__in=block).values_list(
                "mrn", flat=True
            )
        )
        mrns.extend(mrn for mrn in block if mrn not in taken)
    return mrns


def _patient_row(organization_id: int, mrn: str, data: PatientInput) -> Patient:
    return Patient(
        organization_id=organization_id,
        mrn=mrn,
        given_name=data.given_name,
        middle_name=data.middle_name,
        family_name=data.family_name,
        suffix=data.suffix,
        preferred_name=data.preferred_name,
        birth_date=data.birth_date,
        sex=data.sex,
        gender_identity=data.gender_identity,
        email=data.email,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        city=data.city,
        state=data.state.upper(),
        postal_code=data.postal_code,
        country=data.country,
        preferred_language=data.preferred_language,
        sms_allowed=data.sms_allowed,
        email_allowed=data.email_allowed,
        voicemail_allowed=data.voicemail_allowed,
        status=data.status,
        deceased_date=data.deceased_date,
        family_key=name_key(data.family_name)[:100],
        given_key=name_key(data.given_name)[:100],
    )


def _entry_columns(patient_id: int, recorded_by_name: str) -> dict[str, Any]:
    return {"patient_id": patient_id, "recorded_by_name": recorded_by_name}


def import_patients(
    *,
    actor: Actor,
    records: Sequence[PatientRecord],
    recorded_by_name: str = "Bulk import",
    source: str = "bulk import",
) -> ImportResult:
    """Create these patients with generated MRNs and everything they carry, in the actor's organization.

    Needs PATIENT_CREATE and CLINICAL_EDIT (when chart entries are given). One transaction; one
    PATIENT_CREATE audit row per patient with the MRN and `source`. Chart entries are attributed to
    `recorded_by_name` (no user). ValidationFailed / InvalidCode name the first bad record."""
    if not actor.has(Permission.PATIENT_CREATE):
        raise Forbidden(f"This needs the permission {Permission.PATIENT_CREATE}.")
    has_chart = any(r.problems or r.allergies or r.medications or r.observations for r in records)
    if has_chart and not actor.has(Permission.CLINICAL_EDIT):
        raise Forbidden(f"This needs the permission {Permission.CLINICAL_EDIT}.")
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can import its patients.")
    if len(records) > MAX_RECORDS_PER_CALL:
        raise ValidationFailed(f"Import at most {MAX_RECORDS_PER_CALL} records per call; split the file.")
    if not recorded_by_name.strip() or len(recorded_by_name) > 150:
        raise ValidationFailed("Name who recorded the chart entries (at most 150 characters).")
    organization_id = actor.organization_id
    today = timezone.localdate()
    for index, record in enumerate(records):
        _check_patient(index, record.patient, today)
        _check_chart(index, record)

    counts = dict.fromkeys(
        ("patients", "telecoms", "identifiers", "related_persons", "problems", "allergies", "medications",
         "observations"),
        0,
    )  # fmt: skip
    with transaction.atomic():
        mrns = _allocate_mrns(organization_id, len(records))
        patients = Patient.objects.bulk_create(
            [_patient_row(organization_id, mrn, r.patient) for mrn, r in zip(mrns, records, strict=True)],
            batch_size=BATCH_SIZE,
        )
        counts["patients"] = len(patients)
        rows: dict[str, list[Any]] = {name: [] for name in counts if name != "patients"}
        for patient, record in zip(patients, records, strict=True):
            _collect_rows(rows, patient.pk, record, recorded_by_name)
        for model, name in (
            (PatientTelecom, "telecoms"),
            (PatientIdentifier, "identifiers"),
            (RelatedPerson, "related_persons"),
            (Problem, "problems"),
            (Allergy, "allergies"),
            (Medication, "medications"),
            (Observation, "observations"),
        ):
            model.objects.bulk_create(rows[name], batch_size=BATCH_SIZE)
            counts[name] = len(rows[name])
        audit.record_many(
            (
                audit.build(
                    actor=actor,
                    action=AuditAction.PATIENT_CREATE,
                    patient_id=patient.pk,
                    obj=patient,
                    detail={"mrn": patient.mrn, "source": source},
                )
                for patient in patients
            ),
            batch_size=BATCH_SIZE,
        )
    return ImportResult(patient_ids=[p.pk for p in patients], mrns=[p.mrn for p in patients], counts=counts)


def _collect_rows(rows: dict[str, list[Any]], patient_id: int, record: PatientRecord, recorder: str) -> None:
    data = record.patient
    for rank, telecom in enumerate(data.telecoms, start=1):
        rows["telecoms"].append(
            PatientTelecom(
                patient_id=patient_id,
                system=telecom.system,
                use=telecom.use,
                value=telecom.value,
                digits=phone_key(telecom.value)[:20],
                rank=rank,
            )
        )
    for identifier in data.identifiers:
        rows["identifiers"].append(
            PatientIdentifier(
                patient_id=patient_id,
                system=identifier.system,
                value=identifier.value,
                type_label=identifier.type_label,
            )
        )
    for person in data.related_persons:
        rows["related_persons"].append(
            RelatedPerson(
                patient_id=patient_id,
                name=person.name,
                relationship=person.relationship,
                phone=person.phone,
                email=person.email,
                is_emergency_contact=person.is_emergency_contact,
            )
        )
    entry = _entry_columns(patient_id, recorder)
    for problem in record.problems:
        code, description = _icd10(problem.icd10_code) or ("", "")
        rows["problems"].append(
            Problem(
                **entry,
                icd10_code=code,
                description=problem.description or description,
                onset_date=problem.onset_date,
                clinical_status=problem.clinical_status,
            )
        )
    for allergy in record.allergies:
        rows["allergies"].append(
            Allergy(
                **entry,
                substance=allergy.substance,
                reaction=allergy.reaction,
                criticality=allergy.criticality,
            )
        )
    for medication in record.medications:
        rows["medications"].append(
            Medication(
                **entry,
                name=medication.name,
                dose=medication.dose,
                route=medication.route,
                frequency=medication.frequency,
                start_date=medication.start_date,
                end_date=medication.end_date,
                rxnorm_code=medication.rxnorm_code,
            )
        )
    for observation in record.observations:
        spec = rules.OBSERVATION_SPECS[observation.kind]
        rows["observations"].append(
            Observation(
                **entry,
                kind=observation.kind,
                loinc_code=spec.loinc,
                value=observation.value,
                value2=observation.value2,
                unit=observation.unit or spec.default_unit,
                effective_at=observation.effective_at,
            )
        )


def refresh_planner_statistics() -> None:
    """Refresh the query planner's statistics of the patient tables (ANALYZE) after a large import.

    Without them SQLite plans a birth-date search by walking the name index of the whole organization
    (tens of milliseconds at 100,000 patients instead of a fraction of one); PostgreSQL's autovacuum would
    catch up later, this makes the new rows well planned at once."""
    models = (
        Patient,
        PatientTelecom,
        PatientIdentifier,
        RelatedPerson,
        Problem,
        Allergy,
        Medication,
        Observation,
    )
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
