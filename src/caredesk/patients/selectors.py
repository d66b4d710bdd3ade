"""Read queries for patients, restricted to what the actor may see. Reads of patient data are audited
here, before the data leaves the selector.

CONTRACT (implemented by the patients work; other apps and interop call exactly these):
`patient_queryset` (not audited, for building queries), `search_patients`, `get_patient`,
`get_patient_by_mrn`, `get_chart`, `entry_history`, `open_document`, `portal_summary`, `list_entries`.

Scope: the actor's organization; a portal user sees only their own record; staff without PATIENT_VIEW or
PATIENT_SEARCH see nothing. A record outside the scope answers PatientNotFound / EntryNotFound, exactly
like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet, prefetch_related_objects

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.ids import optional_id
from caredesk.core.text import name_key, phone_key, prefix_upper_bound

from . import rules
from .choices import EntryStatus, ObservationKind, PatientStatus
from .errors import EntryNotFound, PatientNotFound
from .models import (
    Allergy,
    ClinicalEntry,
    Document,
    Medication,
    Note,
    Observation,
    Patient,
    PatientIdentifier,
    PatientTelecom,
    Problem,
    RelatedPerson,
)
from .schemas import PatientQuery

MAX_PAGE_SIZE = 200
COUNT_LIMIT = 200  # totals are counted only up to here
CHART_OBSERVATIONS = 50
MAX_MERGE_HOPS = 20
MAX_NAME_WORDS = 6

_ENTRY_MODELS: dict[str, type[ClinicalEntry]] = {
    "problem": Problem,
    "allergy": Allergy,
    "medication": Medication,
    "observation": Observation,
    "note": Note,
    "document": Document,
}


@dataclass
class SearchPage:
    results: list[Patient]
    page: int
    page_size: int
    has_next: bool
    total: int | None = None  # counted only when cheap; None means "not counted"


@dataclass
class Chart:
    """A patient's record as one screen shows it: current entries only (corrections and retractions are
    counted, and their history is one `entry_history` call away). `clinical_visible` is False for staff
    without CLINICAL_VIEW: the clinical lists are then empty because they were withheld, not because
    there is nothing."""

    patient: Patient
    telecoms: list[PatientTelecom]
    identifiers: list[PatientIdentifier]
    related_persons: list[RelatedPerson]
    problems: list[Problem] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)  # latest first, at most 50
    latest_vitals: dict[str, Observation] = field(default_factory=dict)  # kind -> latest, in kind order
    documents: list[Document] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    superseded_count: int = 0
    retracted_count: int = 0
    clinical_visible: bool = True


# ---------------------------------------------------------------------------------------------------
# Scope
# ---------------------------------------------------------------------------------------------------


def patient_queryset(actor: Actor) -> QuerySet[Patient]:
    """Patients of the actor's organization (portal users: only their own record). Not audited: use it
    only to build further queries that are themselves audited."""
    if actor.organization_id is None:
        return Patient.objects.none()
    patients = Patient.objects.filter(organization_id=actor.organization_id)
    if actor.is_portal:
        if not actor.has(Permission.PORTAL_OWN_RECORD):
            return Patient.objects.none()
        return patients.filter(pk=actor.patient_id or 0)
    if not (actor.has(Permission.PATIENT_VIEW) or actor.has(Permission.PATIENT_SEARCH)):
        return Patient.objects.none()
    return patients


def _patient_in_scope(actor: Actor, patient_id: Any) -> Patient:
    pk = optional_id(patient_id)
    patient = None if pk is None else patient_queryset(actor).filter(pk=pk).first()
    if patient is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    return patient


def _can_see_clinical(actor: Actor) -> bool:
    return actor.has(Permission.CLINICAL_VIEW)


def _can_see_documents(actor: Actor) -> bool:
    return actor.has(Permission.CLINICAL_VIEW) or actor.has(Permission.DOCUMENT_UPLOAD)


# ---------------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------------


def _starts_with(organization_id: int, column: str, prefix: str) -> Q:
    """`column` starts with `prefix` as an index range scan on (organization, column). The organization
    is repeated in every branch so each OR branch can use its own index (SQLite's multi-index OR)."""
    return Q(
        organization_id=organization_id,
        **{f"{column}__gte": prefix, f"{column}__lt": prefix_upper_bound(prefix)},
    )


def _name_branches(organization_id: int, text: str) -> list[Q]:
    """A typed name fragment as alternatives, each a prefix match on one or both keys: "smi" (family or
    given), "john smi" (given john* and family smi*, or the reverse), "smith, jo" (family smith*, given
    jo*), "de la cr" (a family name with spaces). Empty when there is nothing to match."""
    if "," in text:
        family_part, given_part = text.split(",", 1)
        family, given = name_key(family_part), name_key(given_part)
        if not family and not given:
            return []
        branch = Q()
        if family:
            branch &= _starts_with(organization_id, "family_key", family)
        if given:
            branch &= _starts_with(organization_id, "given_key", given)
        return [branch]
    words = name_key(text).split()[:MAX_NAME_WORDS]  # bounds the number of alternatives (2 per word)
    if not words:
        return []
    whole = " ".join(words)
    branches = [
        _starts_with(organization_id, "family_key", whole),
        _starts_with(organization_id, "given_key", whole),
    ]
    for first, rest in rules.name_prefix_splits(words):
        branches.append(
            _starts_with(organization_id, "given_key", first)
            & _starts_with(organization_id, "family_key", rest)
        )
        branches.append(
            _starts_with(organization_id, "family_key", first)
            & _starts_with(organization_id, "given_key", rest)
        )
    return branches


def _phone_condition(text: str) -> Q:
    return Q(pk__in=PatientTelecom.objects.filter(digits=phone_key(text)).values("patient_id"))


def _identifier_condition(text: str) -> Q:
    system, _, value = text.rpartition("|")
    identifiers = PatientIdentifier.objects.filter(value=value.strip())
    if system.strip():
        identifiers = identifiers.filter(system=system.strip())
    return Q(pk__in=identifiers.values("patient_id"))


def _mrn_of(organization_id: int, text: str) -> str:
    """An MRN as typed: `rsh0000042`, or just the number `42` (the organization's prefix is added)."""
    text = text.strip().upper()
    if text.isdigit() and len(text) <= 12:
        short_code = Organization.objects.values_list("short_code", flat=True).get(pk=organization_id)
        return rules.format_mrn(short_code, int(text))
    return text


@dataclass
class _Plan:
    """What a query asks for, in database terms."""

    conditions: list[Q] = field(default_factory=list)
    branches: list[Q] = field(default_factory=list)  # alternatives for a name: any one must match
    mrn: str = ""
    impossible: bool = False  # criteria were given but none can match anything


def _plan_text(plan: _Plan, organization_id: int, text: str) -> None:
    """The free search box: a birth date, an MRN, a phone number, or a name (optionally with a date)."""
    if rules.looks_like_mrn(text) or (
        text.isdigit() and (len(text) < rules.MIN_PHONE_DIGITS or text[0] == "0")
    ):
        plan.mrn = _mrn_of(organization_id, text)
        return
    if rules.looks_like_phone(text) and rules.parse_date_text(text) is None:
        plan.conditions.append(_phone_condition(text))
        return
    name_words = []
    for word in text.split():
        day = rules.parse_date_text(word)
        if day is None:
            name_words.append(word)
        else:
            plan.conditions.append(Q(birth_date=day))
    if name_words:
        _plan_name(plan, organization_id, " ".join(name_words))


def _plan_name(plan: _Plan, organization_id: int, text: str) -> None:
    branches = _name_branches(organization_id, text)
    if not branches:
        plan.impossible = True
    elif not plan.branches:
        plan.branches = branches
    else:  # a second name criterion: a plain condition (rare)
        plan.conditions.append(_any_of(branches))


def _any_of(branches: list[Q]) -> Q:
    condition = branches[0]
    for branch in branches[1:]:
        condition |= branch
    return condition


def _plan(organization_id: int, query: PatientQuery) -> _Plan:
    plan = _Plan()
    if query.text.strip():
        _plan_text(plan, organization_id, query.text.strip())
    if query.name.strip():
        _plan_name(plan, organization_id, query.name)
    for column, value in (("family_key", query.family), ("given_key", query.given)):
        if value.strip():
            key = name_key(value)
            if key:
                plan.conditions.append(_starts_with(organization_id, column, key))
            else:
                plan.impossible = True
    if query.birth_date is not None:
        plan.conditions.append(Q(birth_date=query.birth_date))
    if query.mrn.strip():
        mrn = _mrn_of(organization_id, query.mrn)
        plan.impossible |= bool(plan.mrn) and plan.mrn != mrn
        plan.mrn = mrn
    if query.phone.strip():
        plan.conditions.append(_phone_condition(query.phone))
    if query.identifier.strip():
        plan.conditions.append(_identifier_condition(query.identifier))
    if not query.include_inactive:
        plan.conditions.append(Q(status=PatientStatus.ACTIVE))
    return plan


def _survivor_ids(scope: QuerySet[Patient], mrn: str) -> list[int]:
    """The record with this MRN, or, when it was merged, the record it now lives on."""
    patient = scope.filter(mrn=mrn).only("pk", "status", "merged_into_id").first()
    for _ in range(MAX_MERGE_HOPS):
        if patient is None or patient.status != PatientStatus.MERGED or patient.merged_into_id is None:
            break
        patient = scope.filter(pk=patient.merged_into_id).only("pk", "status", "merged_into_id").first()
    return [] if patient is None else [patient.pk]


def _criteria(query: PatientQuery) -> dict[str, Any]:
    """The criteria as they go into the audit row (only those that were set)."""
    criteria: dict[str, Any] = {}
    for name in ("text", "name", "family", "given", "mrn", "phone", "identifier"):
        value = getattr(query, name).strip()
        if value:
            criteria[name] = value
    if query.birth_date is not None:
        criteria["birth_date"] = query.birth_date.isoformat()
    if not query.include_inactive:
        criteria["include_inactive"] = False
    return criteria


def _matching(actor: Actor, query: PatientQuery) -> tuple[QuerySet[Patient], list[Q]]:
    """The patients matching every criterion but the name, and the name's alternatives (may be empty)."""
    scope = patient_queryset(actor)
    if actor.organization_id is None:
        return scope, []
    plan = _plan(actor.organization_id, query)
    if plan.impossible:
        return scope.none(), []
    if plan.mrn:
        scope = scope.filter(pk__in=_survivor_ids(scope, plan.mrn))
    else:
        scope = scope.exclude(status=PatientStatus.MERGED)
    for condition in plan.conditions:
        scope = scope.filter(condition)
    return scope, plan.branches


def _ordered(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    return patients.order_by("family_key", "given_key", "id")


def _sort_key(patient: Patient) -> tuple[str, str, int]:
    return patient.family_key, patient.given_key, patient.pk


def _window(matching: QuerySet[Patient], branches: list[Q], offset: int, limit: int) -> list[Patient]:
    """Rows offset .. offset+limit in (family, given, id) order. With name alternatives, each one is its
    own query that its index returns in order (a family prefix needs no sort at all), cut at
    offset+limit, and the pieces are merged here: one OR query would sort every match of every
    alternative. The keys are ASCII, so Python orders them as the database does."""
    if len(branches) <= 1:
        patients = matching.filter(branches[0]) if branches else matching
        return list(_ordered(patients)[offset : offset + limit])
    found: dict[int, Patient] = {}
    for branch in branches:
        for patient in _ordered(matching.filter(branch))[: offset + limit]:
            found[patient.pk] = patient
    return sorted(found.values(), key=_sort_key)[offset : offset + limit]


def _bounded_count(matching: QuerySet[Patient], branches: list[Q]) -> int | None:
    """How many match, when at most COUNT_LIMIT do (reads no more than COUNT_LIMIT + 1 rows)."""
    patients = matching.filter(_any_of(branches)) if branches else matching
    counted = patients.order_by()[: COUNT_LIMIT + 1].count()
    return counted if counted <= COUNT_LIMIT else None


def search_patients(*, actor: Actor, query: PatientQuery, page: int = 1, page_size: int = 25) -> SearchPage:
    """Search; records one PATIENT_SEARCH audit row (criteria and the ids shown).

    All given criteria must match (see PatientQuery); no criteria lists everyone in name order. Name
    parts are prefix range scans on the indexed search keys; results come in (family, given, id) order,
    `page_size` + 1 rows are read to tell whether there is a next page, and the total is counted only
    when it is at most COUNT_LIMIT. Merged records are left out, except that an MRN search finds the
    record the MRN was merged into. Phone numbers come prefetched."""
    page = max(1, optional_id(page) or 1)
    page_size = min(max(1, optional_id(page_size) or 25), MAX_PAGE_SIZE)
    offset = (page - 1) * page_size
    with transaction.atomic():
        matching, branches = _matching(actor, query)
        rows = _window(matching, branches, offset, page_size + 1)
        results, has_next = rows[:page_size], len(rows) > page_size
        prefetch_related_objects(results, "telecoms")
        total = _bounded_count(matching, branches) if has_next else None
        if not has_next and (results or page == 1):
            total = offset + len(results)
        audit.record(
            actor=actor,
            action=AuditAction.PATIENT_SEARCH,
            object_type="patients.patient",
            detail={"criteria": _criteria(query), "page": page, "result_ids": [p.pk for p in results]},
        )
    return SearchPage(results=results, page=page, page_size=page_size, has_next=has_next, total=total)


# ---------------------------------------------------------------------------------------------------
# One patient
# ---------------------------------------------------------------------------------------------------


def _record_view(actor: Actor, patient: Patient, view: str) -> None:
    audit.record(
        actor=actor,
        action=AuditAction.PATIENT_VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"view": view},
    )


def get_patient(*, actor: Actor, patient_id: int, action: str = "view") -> Patient:
    """One patient by id in the actor's scope, with an audit row (PATIENT_VIEW, detail {"view": action});
    PatientNotFound if it does not exist or the actor may not see it (the same answer for both)."""
    with transaction.atomic():
        patient = _patient_in_scope(actor, patient_id)
        _record_view(actor, patient, action)
    return patient


def get_patient_by_mrn(*, actor: Actor, mrn: str) -> Patient:
    """The record carrying exactly this MRN (a merged record too: check `status` / `merged_into`),
    audited like get_patient; PatientNotFound otherwise."""
    organization_id = actor.organization_id
    value = _mrn_of(organization_id, mrn) if organization_id is not None and mrn.strip() else ""
    with transaction.atomic():
        patient = patient_queryset(actor).filter(mrn=value).first() if value else None
        if patient is None:
            raise PatientNotFound(f"No patient with MRN {mrn}.", details={"mrn": mrn})
        _record_view(actor, patient, "mrn")
    return patient


# ---------------------------------------------------------------------------------------------------
# The chart
# ---------------------------------------------------------------------------------------------------


def _current_and_counts(rows: list[Any]) -> tuple[list[Any], int, int]:
    current = [r for r in rows if r.status == EntryStatus.CURRENT]
    superseded = sum(1 for r in rows if r.status == EntryStatus.SUPERSEDED)
    retracted = sum(1 for r in rows if r.status == EntryStatus.ENTERED_IN_ERROR)
    return current, superseded, retracted


def _latest_vitals(patient: Patient) -> dict[str, Observation]:
    current = Observation.objects.filter(patient=patient, status=EntryStatus.CURRENT)
    latest = current.values("kind").annotate(at=Max("effective_at"))
    condition = Q(pk__in=[])
    for row in latest:
        condition |= Q(kind=row["kind"], effective_at=row["at"])
    by_kind: dict[str, Observation] = {}
    for observation in current.filter(condition).order_by("-pk"):
        by_kind.setdefault(observation.kind, observation)
    return {kind: by_kind[kind] for kind in ObservationKind.values if kind in by_kind}


def _fill_clinical(chart: Chart, *, notes: bool) -> None:
    """The current entries of each list, and how many entries were superseded or retracted."""
    patient = chart.patient
    lists: dict[str, type[ClinicalEntry]] = {
        "problems": Problem,
        "allergies": Allergy,
        "medications": Medication,
    }
    if notes:
        lists["notes"] = Note
    for name, model in lists.items():
        rows = list(model._default_manager.filter(patient=patient).order_by("-created_at", "-pk"))
        current, superseded, retracted = _current_and_counts(rows)
        setattr(chart, name, current)
        chart.superseded_count += superseded
        chart.retracted_count += retracted
    observations = Observation.objects.filter(patient=patient)
    chart.observations = list(
        observations.filter(status=EntryStatus.CURRENT).order_by("-effective_at", "-pk")[:CHART_OBSERVATIONS]
    )
    counts = dict(observations.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    chart.superseded_count += counts.get(EntryStatus.SUPERSEDED, 0)
    chart.retracted_count += counts.get(EntryStatus.ENTERED_IN_ERROR, 0)
    chart.latest_vitals = _latest_vitals(patient)


def _fill_documents(chart: Chart) -> None:
    rows = list(Document.objects.filter(patient=chart.patient).order_by("-created_at", "-pk"))
    current, superseded, retracted = _current_and_counts(rows)
    chart.documents = current
    chart.superseded_count += superseded
    chart.retracted_count += retracted


def _build_chart(patient: Patient, *, clinical: bool, documents: bool, notes: bool) -> Chart:
    chart = Chart(
        patient=patient,
        telecoms=list(patient.telecoms.order_by("rank", "pk")),
        identifiers=list(patient.identifiers.order_by("system", "value")),
        related_persons=list(patient.related_persons.order_by("-is_emergency_contact", "name", "pk")),
        clinical_visible=clinical,
    )
    if clinical:
        _fill_clinical(chart, notes=notes)
    if documents:
        _fill_documents(chart)
    return chart


def get_chart(*, actor: Actor, patient_id: int) -> Chart:
    """The patient's chart, with one PATIENT_VIEW audit row (detail {"view": "chart"}). Clinical lists
    need CLINICAL_VIEW; documents CLINICAL_VIEW or DOCUMENT_UPLOAD (front desk scans papers in)."""
    with transaction.atomic():
        patient = _patient_in_scope(actor, patient_id)
        chart = _build_chart(
            patient,
            clinical=_can_see_clinical(actor),
            documents=_can_see_documents(actor),
            notes=_can_see_clinical(actor),
        )
        _record_view(actor, patient, "chart")
    return chart


def portal_summary(*, actor: Actor) -> Chart:
    """A portal user's own record: the chart without staff notes; audited PATIENT_VIEW {"view": "portal"}."""
    if not actor.is_portal or not actor.has(Permission.PORTAL_OWN_RECORD):
        raise Forbidden("Only a patient signed in to the portal has a portal summary.")
    with transaction.atomic():
        patient = _patient_in_scope(actor, actor.patient_id)
        chart = _build_chart(patient, clinical=True, documents=True, notes=False)
        _record_view(actor, patient, "portal")
    return chart


def _entry_model(entry_type: str) -> type[ClinicalEntry]:
    model = _ENTRY_MODELS.get(entry_type)
    if model is None:
        allowed = ", ".join(sorted(_ENTRY_MODELS))
        raise ValidationFailed(
            f"{entry_type!r} is not a chart entry type; use one of {allowed}.", field="entry_type"
        )
    return model


def _versions(model: type[ClinicalEntry], entry: ClinicalEntry) -> list[Any]:
    """Every version of an entry, oldest first, following `supersedes` back and forward."""
    rows: Any = model._default_manager  # the abstract base's self-reference defeats the stubs' lookups
    versions: list[Any] = [entry]
    while versions[0].supersedes_id is not None:
        versions.insert(0, rows.get(pk=versions[0].supersedes_id))
    while (newer := rows.filter(supersedes_id=versions[-1].pk).first()) is not None:
        versions.append(newer)
    return versions


def entry_history(*, actor: Actor, entry_type: str, entry_id: int) -> list[ClinicalEntry]:
    """All versions of one chart entry, oldest first (the original, its corrections, a retraction shows
    as the status of the version it hit); audited CLINICAL_VIEW. EntryNotFound outside the scope."""
    model = _entry_model(entry_type)
    allowed = _can_see_documents(actor) if model is Document else _can_see_clinical(actor)
    pk = optional_id(entry_id)
    with transaction.atomic():
        entry = None
        if allowed and pk is not None:
            entry = model._default_manager.filter(
                pk=pk, patient_id__in=patient_queryset(actor).values("pk")
            ).first()
        if entry is None:
            raise EntryNotFound(f"No {entry_type} with id {entry_id}.", details={"id": str(entry_id)})
        versions = _versions(model, entry)
        audit.record(
            actor=actor,
            action=AuditAction.CLINICAL_VIEW,
            patient_id=entry.patient_id,
            obj=entry,
            detail={"view": "history", "entry_type": entry_type, "version_ids": [v.pk for v in versions]},
        )
    return versions


def open_document(*, actor: Actor, document_id: int) -> Document:
    """A document to download, audited DOCUMENT_DOWNLOAD. Staff need CLINICAL_VIEW or DOCUMENT_UPLOAD; a
    portal user may open the current documents of their own record. EntryNotFound otherwise."""
    pk = optional_id(document_id)
    documents = Document.objects.filter(patient_id__in=patient_queryset(actor).values("pk"))
    if actor.is_portal:
        documents = documents.filter(status=EntryStatus.CURRENT)
    elif not _can_see_documents(actor):
        documents = documents.none()
    with transaction.atomic():
        document = None if pk is None else documents.filter(pk=pk).first()
        if document is None:
            raise EntryNotFound(f"No document with id {document_id}.", details={"id": str(document_id)})
        audit.record(
            actor=actor,
            action=AuditAction.DOCUMENT_DOWNLOAD,
            patient_id=document.patient_id,
            obj=document,
            detail={"sha256": document.sha256, "size_bytes": document.size_bytes},
        )
    return document


def _readable_documents(actor: Actor) -> QuerySet[Document]:
    """Documents the actor may see (as open_document): staff with CLINICAL_VIEW or DOCUMENT_UPLOAD, a
    portal user the current documents of their own record. Not audited."""
    documents = Document.objects.filter(patient_id__in=patient_queryset(actor).values("pk"))
    if actor.is_portal:
        return documents.filter(status=EntryStatus.CURRENT)
    return documents if _can_see_documents(actor) else documents.none()


def get_document(*, actor: Actor, document_id: Any) -> Document:
    """One document's description (not its content: open_document), audited CLINICAL_VIEW.
    EntryNotFound outside the scope."""
    pk = optional_id(document_id)
    with transaction.atomic():
        document = None if pk is None else _readable_documents(actor).filter(pk=pk).first()
        if document is None:
            raise EntryNotFound(f"No document with id {document_id}.", details={"id": str(document_id)})
        audit.record(
            actor=actor,
            action=AuditAction.CLINICAL_VIEW,
            patient_id=document.patient_id,
            obj=document,
            detail={"view": "document"},
        )
    return document


@dataclass(frozen=True)
class DocumentSearch:
    """Criteria of a document search; `created_from` / `created_to` bound when it was filed, [from, to)."""

    patient_id: int | None = None
    document_ids: tuple[int, ...] | None = None  # None: any
    title_prefix: str = ""
    content_type: str = ""
    statuses: tuple[str, ...] = ()
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None


def _matching_documents(actor: Actor, search: DocumentSearch) -> QuerySet[Document]:
    """The documents the actor may see that match `search`. Not audited."""
    documents = _readable_documents(actor)
    if search.patient_id is not None:
        documents = documents.filter(patient_id=search.patient_id)
    if search.document_ids is not None:
        documents = documents.filter(pk__in=search.document_ids)
    if search.title_prefix:
        documents = documents.filter(title__istartswith=search.title_prefix)
    if search.content_type:
        documents = documents.filter(content_type__iexact=search.content_type)
    if search.statuses:
        documents = documents.filter(status__in=search.statuses)
    if search.created_from is not None:
        documents = documents.filter(created_at__gte=search.created_from)
    if search.created_to is not None:
        documents = documents.filter(created_at__lt=search.created_to)
    return documents


def document_keys(*, actor: Actor, search: DocumentSearch, limit: int) -> list[tuple[dt.datetime, int]]:
    """(filed at, id) of the first `limit` documents matching `search`, newest first: for a caller that
    pages documents together with something else. Not audited (times and ids only): the caller reads the
    documents it shows through search_documents (with their `document_ids`)."""
    rows = _matching_documents(actor, search).order_by("-created_at", "-pk")[: max(0, limit)]
    return list(rows.values_list("created_at", "pk"))


def search_documents(
    *, actor: Actor, search: DocumentSearch, page: int = 1, page_size: int = 20
) -> tuple[list[Document], bool]:
    """Documents matching `search`, newest first, a page at a time (and whether more follow); one
    CLINICAL_VIEW audit row with the criteria, the document ids and the patients shown (`result_ids`)."""
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    documents = _matching_documents(actor, search)
    offset = (page - 1) * page_size
    with transaction.atomic():
        rows = list(documents.order_by("-created_at", "-pk")[offset : offset + page_size + 1])
        shown = rows[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.CLINICAL_VIEW,
            object_type="patients.document",
            detail={
                "view": "document_search",
                "criteria": {
                    "patient_id": search.patient_id,
                    "title": search.title_prefix,
                    "content_type": search.content_type,
                    "statuses": list(search.statuses),
                    "from": search.created_from.isoformat() if search.created_from else None,
                    "to": search.created_to.isoformat() if search.created_to else None,
                },
                "page": page,
                "document_ids": [d.pk for d in shown],
                "result_ids": sorted({d.patient_id for d in shown}),
            },
        )
    return shown, len(rows) > page_size


# ---------------------------------------------------------------------------------------------------
# One chart list, a page at a time (the JSON API and FHIR searches by patient)
# ---------------------------------------------------------------------------------------------------

LISTABLE_ENTRY_TYPES: tuple[str, ...] = ("problem", "allergy", "medication", "observation")


@dataclass
class EntryPage:
    patient: Patient
    entry_type: str
    results: list[Any]
    page: int
    page_size: int
    has_next: bool


def list_entries(
    *, actor: Actor, patient_id: int, entry_type: str, page: int = 1, page_size: int = 50
) -> EntryPage:
    """The current entries of one chart list (problem, allergy, medication, observation), newest first
    (observations by the time they were taken), `page_size` at a time; one CLINICAL_VIEW audit row
    (detail {"view": "list", "entry_type", "page", "entry_ids"}). Staff need CLINICAL_VIEW (Forbidden
    otherwise); a portal user reads the lists of their own record. PatientNotFound outside the scope."""
    if entry_type not in LISTABLE_ENTRY_TYPES:
        allowed = ", ".join(LISTABLE_ENTRY_TYPES)
        raise ValidationFailed(
            f"{entry_type!r} is not a chart list; use one of {allowed}.", field="entry_type"
        )
    if not (_can_see_clinical(actor) or (actor.is_portal and actor.has(Permission.PORTAL_OWN_RECORD))):
        raise Forbidden(f"This needs the permission {Permission.CLINICAL_VIEW}.")
    page = max(1, optional_id(page) or 1)
    page_size = min(max(1, optional_id(page_size) or 50), MAX_PAGE_SIZE)
    offset = (page - 1) * page_size
    model = _ENTRY_MODELS[entry_type]
    order = ("-effective_at", "-pk") if model is Observation else ("-created_at", "-pk")
    with transaction.atomic():
        patient = _patient_in_scope(actor, patient_id)
        current = model._default_manager.filter(patient=patient, status=EntryStatus.CURRENT)
        rows = list(current.order_by(*order)[offset : offset + page_size + 1])
        results = rows[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.CLINICAL_VIEW,
            patient_id=patient.pk,
            obj=patient,
            detail={
                "view": "list",
                "entry_type": entry_type,
                "page": page,
                "entry_ids": [entry.pk for entry in results],
            },
        )
    return EntryPage(
        patient=patient,
        entry_type=entry_type,
        results=results,
        page=page,
        page_size=page_size,
        has_next=len(rows) > page_size,
    )
