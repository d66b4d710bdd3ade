"""Shared fixtures: two organizations, a user per role in each, clients signed in as them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import settings as hypothesis_settings

from caredesk.accounts.models import Location, Organization, User
from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.core.context import Actor

PASSWORD = "correct-horse-battery-staple"

# Property tests check behaviour, never speed: no per-example deadline (a loaded CI machine can take
# 0.5 s over an example that usually takes 0.2 ms).
hypothesis_settings.register_profile("caredesk", deadline=None)
hypothesis_settings.load_profile("caredesk")

#: Fixtures through which a test reaches the database (directly or through the fixtures it uses).
_DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_setup", "live_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """CAREDESK_DB_TESTS_ONLY=1 (CI's second pass, on PostgreSQL) keeps only the tests that touch the
    database: the others (pure rules, parsers, property tests without a database) ran on the first pass
    against the same code, and the database is the only thing the second pass changes."""
    if os.environ.get("CAREDESK_DB_TESTS_ONLY") != "1":
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        touches = item.get_closest_marker("django_db") is not None or bool(names & _DATABASE_FIXTURES)
        (kept if touches else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashing() -> None:
    """Passwords hash at Argon2's lowest cost in tests (tests/support/hashers.py)."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = [
        "tests.support.hashers.QuickArgon2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _static_files_indexed_once() -> Iterator[None]:
    """Each django.test.Client builds its own middleware chain, and WhiteNoise indexes every static file
    (stat, headers, compressed variants) when it is built: ~50 ms per client, thousands of clients in the
    suite. The files do not change during a run, so the suite indexes them once per process; a server
    builds its chain once anyway."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    original = WhiteNoiseMiddleware.add_files_from_finders
    index: dict[str, object] = {}

    def add_files_from_finders(self: WhiteNoiseMiddleware) -> None:
        if not index:
            original(self)
            index.update(self.files)
        else:
            self.files.update(index)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoiseMiddleware, "add_files_from_finders", add_files_from_finders)
        yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On PostgreSQL the test sessions do not wait for each commit's WAL flush (synchronous_commit=off):
    the throwaway test database needs no crash durability, and the transactional tests (browser, HL7
    listener, concurrency) commit and flush the database thousands of times. What a commit makes
    visible, and when, is unchanged: only surviving a server crash is given up."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if "postgresql" in database["ENGINE"]:
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()


@pytest.fixture
def org(db) -> Organization:
    organization = Organization.objects.create(name="Riverside Health", short_code="RSH")
    Location.objects.create(organization=organization, name="Riverside Main Clinic", state="NY")
    return organization


@pytest.fixture
def other_org(db) -> Organization:
    organization = Organization.objects.create(name="Hilltop Medical Group", short_code="HMG")
    Location.objects.create(organization=organization, name="Hilltop Clinic", state="NJ")
    return organization


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    counter = {"n": 0}

    def make(
        role: str = Role.COORDINATOR,
        organization: Organization | None = None,
        *,
        patient=None,
        username: str | None = None,
        password: str = PASSWORD,
    ) -> User:
        counter["n"] += 1
        name = username or f"{role}{counter['n']}"
        return User.objects.create_user(
            username=name,
            password=password,
            organization=organization,
            role=role,
            patient=patient,
            first_name=name.capitalize(),
            last_name="Tester",
        )

    return make


@pytest.fixture
def coordinator(make_user, org) -> User:
    return make_user(Role.COORDINATOR, org, username="coord")


@pytest.fixture
def coordinator_actor(coordinator) -> Actor:
    return actor_for_user(coordinator, ip="127.0.0.1")


@pytest.fixture
def actor_of() -> Callable[[User], Actor]:
    return lambda user: actor_for_user(user, ip="127.0.0.1")


def sign_in(client: Client, user: User) -> Client:
    """Sign `user` in on `client`, with a verified second factor for roles that require one."""
    client.force_login(user)
    if user.role == Role.ADMINISTRATOR:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def client_as(db) -> Callable[[User], Client]:
    return lambda user: sign_in(Client(), user)
