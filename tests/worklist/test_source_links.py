"""A task's "Caused by" link opens the page that shows what caused it, for every source an app puts on the
worklist: the task page links there, and the page answers 200 for a user who may see both."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import resolve, reverse

from caredesk.accounts.models import User
from caredesk.accounts.permissions import ROLE_PERMISSIONS, Permission, Role
from caredesk.accounts.services import actor_for_user
from caredesk.core.context import system_actor
from caredesk.credentialing import services as credentialing
from caredesk.credentialing.choices import CredentialKind
from caredesk.worklist import rules, services
from caredesk.worklist.choices import TaskQueue, TaskStatus
from caredesk.worklist.links import PATIENT_ID, SOURCE_ID, SOURCE_PAGES
from caredesk.worklist.models import Task
from tests.support.billing import claim_payment_of
from tests.support.careplans import plans_of
from tests.support.credentialing import credentials_of
from tests.support.endpoints import Endpoint, discover
from tests.support.world import World, shared_world

pytestmark = pytest.mark.django_db
SRC = Path(__file__).resolve().parents[2] / "src" / "caredesk"
PAGES = {e.name: e for e in discover() if e.channel == "web" and e.method == "GET" and e.name}
ROLES = [Role.ADMINISTRATOR, Role.COORDINATOR, Role.NURSE, Role.PHYSICIAN, Role.BILLING, Role.FRONT_DESK]


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    with shared_world(django_db_blocker, tmp_path_factory.mktemp("media")) as built:
        yield built


@pytest.fixture
def world(_module_world: World, db) -> World:
    return _module_world.fresh()


def _source_types_in_code() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r"source_type\s*=\s*\"([a-z_]+\.[a-z_]+)\"", text))
        found |= set(re.findall(r"\"source_type\":\s*\"([a-z_]+\.[a-z_]+)\"", text))
        found |= set(re.findall(r"^SOURCE_TYPE\s*=\s*\"([a-z_]+\.[a-z_]+)\"", text, re.MULTILINE))
    return found | {f"credentialing.{kind}" for kind in CredentialKind.values}


def test_every_source_type_the_apps_use_has_a_page() -> None:
    used = _source_types_in_code()
    assert "scheduling.appointment" in used  # the scan works
    assert "billing.remittanceclaim" in used
    assert used - set(SOURCE_PAGES) == set()
    for source_type, page in SOURCE_PAGES.items():
        assert page.url_name in PAGES, f"{source_type}: no page named {page.url_name}"


def _credential_id(world: World, kind: str) -> int:
    if kind == CredentialKind.LICENSE:
        return credentials_of(world).license.pk
    actor = actor_for_user(world.users[Role.COORDINATOR])
    credentials_of(world)  # switches booking checks off first, as the matrix does
    practitioner_id, expires = world.practitioner.pk, dt.date(2035, 1, 1)
    if kind == CredentialKind.DEA:
        dea = credentialing.DeaInput(state="NY", number="AB1234563", schedules="2,3", expires_on=expires)
        return credentialing.add_dea(actor=actor, practitioner_id=practitioner_id, data=dea).pk
    if kind == CredentialKind.BOARD:
        board = credentialing.BoardInput(board="ABFM", specialty="Family medicine", expires_on=expires)
        return credentialing.add_board_certification(
            actor=actor, practitioner_id=practitioner_id, data=board
        ).pk
    cover = credentialing.MalpracticeInput(carrier="MedPro", policy_number="MP-1", expires_on=expires)
    return credentialing.add_malpractice(actor=actor, practitioner_id=practitioner_id, data=cover).pk


def _source(world: World, source_type: str) -> tuple[str, int | None]:
    """(source_id, patient_id) of a real object of that source type in the matrix world."""
    page = SOURCE_PAGES[source_type]
    if source_type == "careplans.careplan":
        plan = plans_of(world).plan
        return str(plan.pk), plan.patient_id
    if source_type.startswith("credentialing."):
        return str(_credential_id(world, source_type.split(".", 1)[1])), None
    if source_type == "billing.remittanceclaim":
        return str(claim_payment_of(world).pk), None
    assert page.args == (SOURCE_ID,), f"{source_type}: say in this test which object it names"
    (value,) = world.kwargs(PAGES[page.url_name]).values()
    return str(value), world.patient.pk


def _allowed_user(world: World, endpoint: Endpoint) -> User:
    for role in ROLES:
        granted = ROLE_PERMISSIONS[role]
        if Permission.TASK_VIEW in granted and endpoint.allows(role):
            return world.users[role]
    raise AssertionError(f"No staff role may see both a task and {endpoint}")


def _task(world: World, user: User, source_type: str, source_id: str, patient_id: int | None) -> Task:
    queues = rules.visible_queues(user.role, Permission.TASK_ALL_QUEUES in ROLE_PERMISSIONS[user.role])
    queue = TaskQueue.CARE_COORDINATION if queues is None else sorted(queues)[0]
    actor = system_actor(
        organization_id=world.org.pk,
        permissions=frozenset(
            str(p) for p in (Permission.TASK_WORK, Permission.TASK_ALL_QUEUES, Permission.PATIENT_VIEW)
        ),
    )
    return services.create_task(
        actor=actor,
        data=services.NewTask(
            title=f"Caused by {source_type}",
            queue=queue,
            patient_id=patient_id,
            source_type=source_type,
            source_id=source_id,
            dedupe_key=f"test-link:{source_type}:{source_id}",
        ),
    ).task


def _caused_by(html: str) -> tuple[str, str]:
    found = re.search(r'data-testid="task-source">(?:<a href="([^"]*)">)?([^<]*)', html)
    assert found is not None, "the task page shows no 'Caused by'"
    return found[1] or "", found[2]


@pytest.mark.parametrize("source_type", sorted(SOURCE_PAGES))
def test_caused_by_links_to_a_page_that_answers(world: World, source_type: str) -> None:
    page = SOURCE_PAGES[source_type]
    endpoint = PAGES[page.url_name]
    source_id, patient_id = _source(world, source_type)
    user = _allowed_user(world, endpoint)
    task = _task(world, user, source_type, source_id, patient_id)
    client = world.client(user)

    shown = client.get(reverse("worklist:task", args=[task.pk]))
    assert shown.status_code == 200
    href, label = _caused_by(shown.content.decode())
    assert label == f"{page.label[:1].upper()}{page.label[1:]} #{source_id}"
    assert href, f"{source_type}: the task names its source without a link"
    path, _, fragment = href.partition("#")
    assert f"{resolve(path).namespace}:{resolve(path).url_name}" == page.url_name
    if PATIENT_ID in page.args:
        assert str(patient_id) in path
    if page.fragment:
        assert fragment == page.fragment.format(source_id=source_id)
    assert client.get(path).status_code == 200


def test_no_link_for_a_page_the_viewer_may_not_open(world: World) -> None:
    """A nurse sees what caused a claim task, but no link into billing (the page would refuse her)."""
    endpoint = PAGES["billing:claim"]
    nurse = world.users[Role.NURSE]
    assert Permission.TASK_VIEW in ROLE_PERMISSIONS[Role.NURSE]
    assert not endpoint.allows(Role.NURSE)
    source_id, patient_id = _source(world, "billing.claim")
    task = _task(world, nurse, "billing.claim", source_id, patient_id)
    href, label = _caused_by(
        world.client(nurse).get(reverse("worklist:task", args=[task.pk])).content.decode()
    )
    assert (href, label) == ("", f"Claim #{source_id}")


def test_an_unknown_source_is_named_without_a_link(world: World) -> None:
    coordinator = world.users[Role.COORDINATOR]
    task = _task(world, coordinator, "elsewhere.thing", "7", None)
    html = world.client(coordinator).get(reverse("worklist:task", args=[task.pk])).content.decode()
    assert _caused_by(html) == ("", "Elsewhere.thing #7")
    assert task.status == TaskStatus.OPEN
