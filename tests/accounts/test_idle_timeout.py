"""Automatic logoff after CAREDESK_SESSION_IDLE_TIMEOUT seconds without a request (default 15 minutes)."""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from caredesk.accounts.middleware import SESSION_LAST_SEEN, SESSION_TOUCH_SECONDS
from caredesk.audit.codes import AuditAction

from .conftest import LOGIN_URL, events, post_login, signed_in_user_id

pytestmark = pytest.mark.django_db

PAGE = reverse("practitioners:list")


def last_seen(client: Client, seconds_ago: float) -> None:
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - seconds_ago
    session.save()


@pytest.fixture
def signed_in(client, coordinator) -> Client:
    post_login(client, "coord")
    assert client.get(PAGE).status_code == 200
    return client


def test_the_default_is_fifteen_minutes():
    expected = int(os.environ.get("CAREDESK_SESSION_IDLE_TIMEOUT") or 15 * 60)
    assert expected == settings.SESSION_IDLE_TIMEOUT_SECONDS


def test_activity_within_the_limit_keeps_the_session_and_renews_it(signed_in, coordinator):
    last_seen(signed_in, settings.SESSION_IDLE_TIMEOUT_SECONDS - 30)
    before = time.time()
    assert signed_in.get(PAGE).status_code == 200
    assert signed_in.session[SESSION_LAST_SEEN] >= before
    assert signed_in_user_id(signed_in) == coordinator.pk


def test_requests_within_a_minute_do_not_rewrite_the_session(signed_in):
    last_seen(signed_in, SESSION_TOUCH_SECONDS - 20)
    recorded = signed_in.session[SESSION_LAST_SEEN]
    assert signed_in.get(PAGE).status_code == 200
    assert signed_in.session[SESSION_LAST_SEEN] == recorded


def test_an_idle_session_ends_and_the_sign_in_page_says_why(signed_in, coordinator, org):
    last_seen(signed_in, settings.SESSION_IDLE_TIMEOUT_SECONDS + 1)
    response = signed_in.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?timeout=1"
    assert signed_in_user_id(signed_in) is None
    [row] = events(AuditAction.SESSION_IDLE_TIMEOUT)
    assert row.actor_id == coordinator.pk
    assert row.organization_id == org.pk
    assert row.detail == {"idle_limit_seconds": settings.SESSION_IDLE_TIMEOUT_SECONDS}
    page = signed_in.get(response["Location"])
    assert "signed out after 15 minutes without activity" in page.content.decode()
    # The next page asks for the password again.
    assert signed_in.get(PAGE)["Location"].startswith(LOGIN_URL)


def test_an_idle_htmx_request_gets_a_401_that_redirects_the_browser(signed_in):
    last_seen(signed_in, settings.SESSION_IDLE_TIMEOUT_SECONDS + 1)
    response = signed_in.get(PAGE, HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"] == f"{LOGIN_URL}?timeout=1"
    assert signed_in_user_id(signed_in) is None


def test_the_limit_is_configurable(signed_in, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 60
    last_seen(signed_in, 50)
    assert signed_in.get(PAGE).status_code == 200
    last_seen(signed_in, 61)
    assert signed_in.get(PAGE).status_code == 302
    page = signed_in.get(f"{LOGIN_URL}?timeout=1")
    assert "signed out after 1 minute without activity" in page.content.decode()
