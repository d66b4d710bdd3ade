"""TOTP two-factor sign-in through the real pages: mandatory enrolment for administrators, verification
after the password, the security page, throttling and replay, audit rows."""

from __future__ import annotations

import base64
import datetime as dt
import re
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from caredesk.accounts.permissions import Role
from caredesk.accounts.views import SESSION_PENDING_TOTP_KEY
from caredesk.audit.codes import AuditAction

from .conftest import add_device, code_for, device_code, events, post_login, signed_in_user_id

pytestmark = pytest.mark.django_db

ENROLL = reverse("accounts:otp_enroll")
VERIFY = reverse("accounts:otp_verify")
SECURITY = reverse("accounts:security")
PRACTITIONERS = reverse("practitioners:list")


def with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}"


def pending_key(client: Client) -> str:
    key = client.session[SESSION_PENDING_TOTP_KEY]
    assert isinstance(key, str)
    return key


def unthrottle(device: TOTPDevice) -> None:
    """Move the last failure back in time, as if the user had waited (django-otp's throttle table)."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(minutes=5)
    )


# --- administrators must enrol ---------------------------------------------------------------------


def test_an_administrator_without_an_authenticator_is_sent_to_set_one_up(client, admin):
    response = post_login(client, "boss", next_url=PRACTITIONERS)
    assert response.status_code == 302
    assert response["Location"] == with_next(ENROLL, PRACTITIONERS)
    assert signed_in_user_id(client) == admin.pk
    [row] = events(AuditAction.LOGIN)
    assert row.detail == {"second_factor": "enroll"}
    # Every other page keeps sending them there until they have, keeping where they were going.
    blocked = client.get(f"{PRACTITIONERS}?q=ann&page=2")
    assert blocked.status_code == 302
    assert blocked["Location"] == with_next(ENROLL, f"{PRACTITIONERS}?q=ann&page=2")
    assert client.get(reverse("audit:list"))["Location"].startswith(ENROLL)
    assert client.get(reverse("admin:index")).status_code in (302, 403)


def test_the_enrolment_page_shows_a_qr_code_and_the_secret_without_inline_script(client, admin):
    post_login(client, "boss")
    response = client.get(ENROLL)
    assert response.status_code == 200
    body = response.content.decode()
    key = pending_key(client)
    secret = base64.b32encode(bytes.fromhex(key)).decode().rstrip("=")
    shown = re.search(r'data-testid="otp-secret">([^<]+)<', body)
    assert shown is not None
    assert shown.group(1).replace(" ", "") == secret
    qr = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', body)
    assert qr is not None
    assert base64.b64decode(qr.group(1)).lstrip().startswith(b"<svg")
    assert f"secret={secret}" in body  # the otpauth:// link, for apps that take one
    assert "issuer=Caredesk" in body
    assert "Your role must use two-factor sign-in" in body
    assert "<script>" not in body
    assert " style=" not in body
    # Reloading keeps the same secret (the user may have scanned it already).
    client.get(ENROLL)
    assert pending_key(client) == key


def test_a_wrong_code_does_not_turn_two_factor_on(client, admin):
    post_login(client, "boss")
    client.get(ENROLL)
    key = pending_key(client)
    right = code_for(key)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(ENROLL, {"name": "Phone", "token": wrong})
    assert response.status_code == 400
    assert "That code does not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=admin).exists()
    malformed = client.post(ENROLL, {"name": "Phone", "token": "12ab"})
    assert malformed.status_code == 400
    assert "Enter the 6-digit code" in malformed.content.decode()
    assert not events(AuditAction.TWO_FACTOR_ENROLLED)


def test_confirming_with_the_apps_code_turns_two_factor_on(client, admin):
    post_login(client, "boss", next_url=PRACTITIONERS)
    client.get(with_next(ENROLL, PRACTITIONERS))
    key = pending_key(client)
    response = client.post(ENROLL, {"name": "Work phone", "token": code_for(key), "next": PRACTITIONERS})
    assert response.status_code == 302
    assert response["Location"] == PRACTITIONERS
    device = TOTPDevice.objects.get(user=admin)
    assert device.confirmed
    assert device.name == "Work phone"
    assert device.key == key
    assert SESSION_PENDING_TOTP_KEY not in client.session
    [row] = events(AuditAction.TWO_FACTOR_ENROLLED)
    assert row.actor_id == admin.pk
    assert (row.object_type, row.object_id) == ("otp_totp.totpdevice", str(device.pk))
    # This session is now verified: the pages open.
    assert client.get(PRACTITIONERS).status_code == 200
    assert client.get(reverse("audit:list")).status_code == 200


# --- verification after the password ---------------------------------------------------------------


def test_a_user_with_an_authenticator_is_asked_for_its_code_after_the_password(client, nurse):
    device = add_device(nurse)
    response = post_login(client, "nina", next_url=PRACTITIONERS)
    assert response["Location"] == with_next(VERIFY, PRACTITIONERS)
    assert events(AuditAction.LOGIN)[0].detail == {"second_factor": "verify"}
    blocked = client.get(f"{PRACTITIONERS}?q=a&page=2")
    assert blocked["Location"] == f"{VERIFY}?next={quote(f'{PRACTITIONERS}?q=a&page=2', safe='')}"
    page = client.get(with_next(VERIFY, PRACTITIONERS))
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()

    verified = client.post(VERIFY, {"token": device_code(device), "next": PRACTITIONERS})
    assert verified.status_code == 302
    assert verified["Location"] == PRACTITIONERS
    assert client.get(PRACTITIONERS).status_code == 200
    [row] = events(AuditAction.TWO_FACTOR_VERIFIED)
    assert row.actor_id == nurse.pk
    assert row.object_id == str(device.pk)


def test_a_wrong_code_is_refused_audited_and_then_throttled(client, nurse):
    device = add_device(nurse)
    post_login(client, "nina")
    right = device_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY, {"token": wrong})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert client.get(PRACTITIONERS)["Location"].startswith(VERIFY)
    [failed] = events(AuditAction.TWO_FACTOR_FAILED)
    assert failed.actor_id == nurse.pk
    assert failed.detail == {"throttled": False}

    # Straight away, even the right code must wait: guessing is slowed down.
    throttled = client.post(VERIFY, {"token": right})
    assert throttled.status_code == 429
    assert "Too many wrong codes" in throttled.content.decode()
    assert events(AuditAction.TWO_FACTOR_FAILED)[-1].detail == {"throttled": True}

    unthrottle(device)
    assert client.post(VERIFY, {"token": right}).status_code == 302
    assert client.get(PRACTITIONERS).status_code == 200


def test_a_code_cannot_be_used_twice(nurse):
    device = add_device(nurse)
    first = Client()
    post_login(first, "nina")
    code = device_code(device)
    assert first.post(VERIFY, {"token": code}).status_code == 302
    second = Client()
    post_login(second, "nina")
    assert second.post(VERIFY, {"token": code}).status_code == 400


def test_verification_ignores_a_next_that_leaves_the_site(client, nurse):
    device = add_device(nurse)
    post_login(client, "nina")
    response = client.post(VERIFY, {"token": device_code(device), "next": "https://evil.example/"})
    assert response["Location"] == reverse("core:home")


def test_signing_in_again_asks_for_the_code_again(client, nurse):
    device = add_device(nurse)
    post_login(client, "nina")
    client.post(VERIFY, {"token": device_code(device)})
    assert client.get(PRACTITIONERS).status_code == 200
    post_login(client, "nina")
    assert client.get(PRACTITIONERS)["Location"].startswith(VERIFY)


def test_with_nothing_to_verify_the_verify_page_sends_the_user_on(client_as, coordinator, admin):
    assert client_as(coordinator).get(with_next(VERIFY, PRACTITIONERS))["Location"] == PRACTITIONERS
    verified_admin = client_as(admin)  # signed in with a verified authenticator
    assert verified_admin.get(VERIFY)["Location"] == reverse("core:home")


def test_the_two_factor_pages_need_a_signed_in_user():
    for url in (VERIFY, ENROLL, SECURITY):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_without_a_verified_code_the_security_pages_stay_shut(client, nurse):
    """A stolen password alone must not be enough to remove or replace the authenticator."""
    device = add_device(nurse)
    post_login(client, "nina")
    assert client.get(SECURITY)["Location"].startswith(VERIFY)
    assert client.get(ENROLL)["Location"].startswith(VERIFY)
    response = client.post(SECURITY, {"device": device.pk})
    assert response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


# --- the security page -----------------------------------------------------------------------------


def test_staff_may_turn_two_factor_on_and_off(client, nurse):
    post_login(client, "nina")
    page = client.get(SECURITY)
    assert page.status_code == 200
    assert "Two-factor sign-in is off" in page.content.decode()

    client.get(ENROLL)
    response = client.post(ENROLL, {"name": "My phone", "token": code_for(pending_key(client))})
    assert response["Location"] == SECURITY
    page = client.get(SECURITY)
    assert "My phone" in page.content.decode()
    device = TOTPDevice.objects.get(user=nurse)

    removed = client.post(SECURITY, {"device": device.pk})
    assert removed.status_code == 302
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    [row] = events(AuditAction.TWO_FACTOR_REMOVED)
    assert row.actor_id == nurse.pk
    assert row.object_id == str(device.pk)
    assert AuditAction.TWO_FACTOR_REMOVED.kind == "D"
    # Off again: the next sign-in needs the password only.
    assert post_login(Client(), "nina")["Location"] == reverse("core:home")


def test_an_administrator_keeps_at_least_one_authenticator(client_as, admin):
    client = client_as(admin)  # verified with one authenticator
    [device] = TOTPDevice.objects.filter(user=admin)
    response = client.post(SECURITY, {"device": device.pk})
    assert response.status_code == 409
    assert "add another authenticator before removing this one" in response.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not events(AuditAction.TWO_FACTOR_REMOVED)

    spare = add_device(admin, "Spare")
    assert client.post(SECURITY, {"device": device.pk}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=admin)) == [spare]


def test_nobody_removes_someone_elses_authenticator(client_as, nurse, make_user, org, other_org):
    theirs = add_device(make_user(Role.NURSE, org))
    elsewhere = add_device(make_user(Role.ADMINISTRATOR, other_org))
    client = client_as(nurse)
    for device in (theirs, elsewhere):
        assert client.post(SECURITY, {"device": device.pk}).status_code == 404
        assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert client.post(SECURITY, {"device": "x"}).status_code == 400


def test_a_second_authenticator_needs_the_first_ones_session(client_as, admin):
    client = client_as(admin)
    response = client.get(ENROLL)
    assert response.status_code == 200
    assert "Your role must use two-factor sign-in" not in response.content.decode()
    key = pending_key(client)
    assert client.post(ENROLL, {"name": "Spare", "token": code_for(key)}).status_code == 302
    assert TOTPDevice.objects.filter(user=admin).count() == 2


def test_the_demo_admin_flow_end_to_end(client, admin):
    """Password, enrol, sign out, password again, code: the administrator reaches the audit trail."""
    post_login(client, "boss")
    client.get(ENROLL)
    key = pending_key(client)
    client.post(ENROLL, {"token": code_for(key)})
    client.post(reverse("accounts:logout"))
    device = TOTPDevice.objects.get(user=admin)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)  # as if the next code came 30 s later
    assert post_login(client, "boss")["Location"].startswith(VERIFY)
    assert client.post(VERIFY, {"token": device_code(device)}).status_code == 302
    assert client.get(reverse("audit:list")).status_code == 200
    assert [e.action for e in events(AuditAction.LOGIN)] == [AuditAction.LOGIN] * 2
