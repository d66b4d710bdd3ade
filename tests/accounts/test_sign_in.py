"""Password sign-in and sign-out through the real pages: audit rows, ?next=, lockout, Argon2, home page."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher
from django.test import Client, override_settings
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from tests.patients.factories import make_patient, portal_user_for, staff_actor

from .conftest import LOGIN_URL, events, post_login, signed_in_user_id

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_asks_for_username_and_password():
    response = Client().get(LOGIN_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body
    assert 'type="password"' in body
    assert "csrfmiddlewaretoken" in body


def test_the_right_password_signs_in_and_writes_a_login_row(client, coordinator, org):
    response = post_login(client, "coord")
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert signed_in_user_id(client) == coordinator.pk
    [row] = events(AuditAction.LOGIN)
    assert row.actor_id == coordinator.pk
    assert row.actor_username == "coord"
    assert row.organization_id == org.pk
    assert row.ip == "127.0.0.1"
    assert row.channel == "web"
    assert row.detail == {"second_factor": "none"}
    # …and the home page then sends the coordinator on to the worklist, her home page.
    assert client.get(reverse("core:home"))["Location"] == reverse("worklist:list")


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/practitioners/?q=ann", "/practitioners/?q=ann"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_is_followed_only_within_the_site(client, coordinator, next_url, lands_on):
    response = post_login(client, "coord", next_url=next_url)
    assert response.status_code == 302
    assert response["Location"] == lands_on


def test_a_wrong_password_is_refused_with_a_clear_message_and_audited(client, coordinator, org):
    response = post_login(client, "coord", "not-the-password")
    assert response.status_code == 400
    assert "Please enter a correct username and password" in response.content.decode()
    assert signed_in_user_id(client) is None
    [row] = events(AuditAction.LOGIN_FAILED)
    assert row.actor_id is None
    assert row.actor_username == "coord"
    assert row.organization_id == org.pk  # the account's administrators see attempts on it
    assert (row.object_type, row.object_id) == ("accounts.user", str(coordinator.pk))
    assert row.ip == "127.0.0.1"
    assert row.detail == {"username": "coord", "known_user": True, "locked_out": False}
    assert not events(AuditAction.LOGIN)


def test_an_unknown_username_is_audited_without_an_organization(client, coordinator):
    response = post_login(client, "nobody-here", "whatever-it-is")
    assert response.status_code == 400
    [row] = events(AuditAction.LOGIN_FAILED)
    assert row.organization_id is None
    assert row.object_id == ""
    assert row.detail == {"username": "nobody-here", "known_user": False, "locked_out": False}


def test_a_deactivated_user_cannot_sign_in(client, coordinator):
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])
    response = post_login(client, "coord")
    assert response.status_code == 400
    assert signed_in_user_id(client) is None


def test_the_failure_limit_defaults_to_five():
    assert int(os.environ.get("CAREDESK_LOGIN_FAILURE_LIMIT") or 5) == settings.AXES_FAILURE_LIMIT


def test_the_account_locks_at_the_limit_and_shows_a_locked_page(client, coordinator, make_user, org):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert post_login(client, "coord", "wrong-password").status_code == 400
    locked = post_login(client, "coord", "wrong-password")
    assert locked.status_code == 429
    body = locked.content.decode()
    assert "Account locked" in body
    assert f"after {limit} failed sign-in attempts" in body
    assert "Try again in 30 minutes" in body
    assert locked["Retry-After"] == str(30 * 60)
    assert "text/html" in locked["Content-Type"]

    # While locked even the right password is refused, and no session is opened.
    again = post_login(client, "coord")
    assert again.status_code == 429
    assert signed_in_user_id(client) is None

    rows = events(AuditAction.LOGIN_FAILED)
    assert len(rows) == limit + 1
    assert [r.detail["locked_out"] for r in rows] == [False] * (limit - 1) + [True, True]
    assert not events(AuditAction.LOGIN)

    # The lock is per account: a colleague behind the same address signs in as usual.
    make_user(Role.NURSE, org, username="colleague")
    assert post_login(Client(), "colleague").status_code == 302


def test_the_failure_limit_is_a_setting(client, coordinator, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert post_login(client, "coord", "wrong-password").status_code == 400
    assert post_login(client, "coord", "wrong-password").status_code == 429


def test_the_lock_lifts_after_the_cool_off(client, coordinator):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, "coord", "wrong-password")
    assert post_login(client, "coord").status_code == 429
    # Thirty-one minutes later (axes' own bookkeeping table, not the audit trail, is moved back):
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31))
    assert post_login(client, "coord").status_code == 302
    assert signed_in_user_id(client) == coordinator.pk


def test_a_successful_sign_in_resets_the_failure_count(coordinator):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        post_login(Client(), "coord", "wrong-password")
    assert post_login(Client(), "coord").status_code == 302
    for _ in range(limit - 1):
        assert post_login(Client(), "coord", "wrong-password").status_code == 400
    assert post_login(Client(), "coord").status_code == 302


def test_signing_out_ends_the_session_and_is_audited(client, coordinator):
    post_login(client, "coord")
    response = client.post(reverse("accounts:logout"), REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert signed_in_user_id(client) is None
    [row] = events(AuditAction.LOGOUT)
    assert row.actor_id == coordinator.pk
    assert client.get(reverse("patients:search"))["Location"].startswith(LOGIN_URL)


def test_sign_out_is_post_only(client_as, coordinator):
    client = client_as(coordinator)
    response = client.get(reverse("accounts:logout"))
    assert response.status_code == 405
    assert signed_in_user_id(client) == coordinator.pk
    assert not events(AuditAction.LOGOUT)


def test_passwords_are_hashed_with_argon2(coordinator):
    """Production hashes with Django's Argon2 hasher at its own cost (the suite uses a low-cost Argon2,
    tests/support/hashers.py); a password set under the production setting is an Argon2 hash with
    Django's parameters and checks."""
    from caredesk.config import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        coordinator.set_password("correct-horse-battery-staple")
        coordinator.save(update_fields=["password"])
        hasher = identify_hasher(coordinator.password)
        assert hasher.algorithm == "argon2"
        assert hasher.decode(coordinator.password)["memory_cost"] == Argon2PasswordHasher.memory_cost
        assert coordinator.check_password("correct-horse-battery-staple")
        assert not coordinator.check_password("correct-horse-battery-stapler")


def test_each_role_lands_on_its_own_home_page(client_as, coordinator, make_user, org):
    assert client_as(coordinator).get("/")["Location"] == reverse("worklist:list")
    assert client_as(make_user(Role.FRONT_DESK, org)).get("/")["Location"] == reverse("scheduling:calendar")
    assert client_as(make_user(Role.BILLING, org)).get("/")["Location"] == reverse("billing:claims")
    assert client_as(make_user(Role.ADMINISTRATOR, org)).get("/")["Location"] == reverse("patients:search")
    patient = make_patient(staff_actor(org))
    portal = client_as(portal_user_for(patient))
    assert portal.get("/")["Location"] == reverse("patients:portal_home")


def test_home_sends_anonymous_visitors_to_sign_in():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_no_audit_row_carries_a_password(client, coordinator):
    post_login(client, "coord", "wrong-password-123")
    post_login(client, "coord")
    for row in AuditEvent.objects.all():
        assert "wrong-password-123" not in str(row.detail)
        assert "correct-horse-battery-staple" not in str(row.detail)
