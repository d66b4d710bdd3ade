"""Every view and endpoint that shows patient data writes its audit row.

Which endpoints show patient data is found, not listed, so new views are covered by themselves:

1. the URL names patient data: one of its keywords has a `patient_data` sample in tests/support/samples.py
   (`patient_id`, `document_id`, `entry_id`, ...), or it serves the portal user's own record (it needs
   PORTAL_OWN_RECORD, or accepts it);
2. or, whatever the URL, its answer contains the sample patient's family name or MRN (a search page that
   lists everyone, an API list, a FHIR Bundle ...).

Opened by every role of the patient's organization that may open it, each such answer (200) must come with
a new AuditEvent by that user about the sample patient: `patient_id` is the patient, or, for a search, the
row's `result_ids` include it. tests/support/expectations.py lists the few exemptions, with reasons.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db.models import Max

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from tests.support.endpoints import Endpoint, discover
from tests.support.expectations import AUDIT_EXEMPT, lookup
from tests.support.samples import body_for
from tests.support.world import MissingSample, World, content, shared_world

pytestmark = pytest.mark.django_db


def _reads(endpoint: Endpoint) -> bool:
    """GETs, and the POSTs that only read (a FHIR search by POST: its body sample answers 200)."""
    if endpoint.problem or endpoint.catch_all:
        return False
    if endpoint.method == "GET":
        return True
    body = body_for(endpoint)
    return endpoint.uses_token and endpoint.method == "POST" and body is not None and body.status == 200


ENDPOINTS = [endpoint for endpoint in discover() if _reads(endpoint)]


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    with shared_world(django_db_blocker, tmp_path_factory.mktemp("media")) as built:
        yield built


@pytest.fixture
def world(_module_world: World, db) -> World:
    return _module_world.fresh()


def _last_event_id() -> int:
    return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


def _about(event: AuditEvent, patient_id: int) -> bool:
    result_ids = event.detail.get("result_ids") if isinstance(event.detail, dict) else None
    return event.patient_id == patient_id or (isinstance(result_ids, list) and patient_id in result_ids)


def _describe(events: list[AuditEvent]) -> str:
    if not events:
        return "no audit row at all"
    return "only " + ", ".join(f"{AuditAction(e.action).name}(patient={e.patient_id})" for e in events)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_showing_patient_data_writes_an_audit_row(endpoint: Endpoint, world: World):
    try:
        world.url(endpoint)
    except MissingSample as exc:
        pytest.fail(str(exc))
    exempt = lookup(AUDIT_EXEMPT, endpoint)
    named = world.names_patient_data(endpoint)
    problems = []
    for role in Role.values:
        if not endpoint.allows(role):
            continue
        user = world.users[role]
        before = _last_event_id()
        response = world.call(endpoint, user)
        if response.status_code != 200:
            continue  # the permission matrix says whether that is right; nothing was shown
        shown = world.leaks(content(response))
        if not (named or shown) or exempt:
            continue
        events = list(AuditEvent.objects.filter(id__gt=before, actor_id=user.pk).order_by("id"))
        if not any(_about(event, world.patient.pk) for event in events):
            why = f"shows {', '.join(shown)}" if shown else "its URL names patient data"
            problems.append(
                f"{role}: answered 200 ({why}) with {_describe(events)} about patient {world.patient.pk}"
            )
    assert not problems, f"{endpoint} shows patient data unaudited:\n  " + "\n  ".join(problems)


def test_the_sweep_finds_the_patient_pages():
    """Guards against a silent pass: the chart, the portal and the API/FHIR reads are among the
    endpoints this test recognizes as showing patient data by their URL."""
    by_url = [e for e in ENDPOINTS if any(k in e.kwargs for k in ("patient_id", "document_id", "entry_id"))]
    names = {e.name for e in by_url}
    assert "patients:chart" in names
    assert any(e.uses_token for e in by_url)


def test_the_sample_patient_is_findable_in_pages(world: World):
    """The content sweep relies on the markers: the chart really shows them, so a page that shows the
    patient cannot go unnoticed."""
    chart = next(e for e in ENDPOINTS if e.name == "patients:chart")
    text = content(world.call(chart, world.users[Role.COORDINATOR]))
    assert world.leaks(text) == list(world.leak_markers)
