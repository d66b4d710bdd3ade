"""Account-security fixtures: signing in through the real pages, and authenticator codes."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from tests.conftest import PASSWORD

LOGIN_URL = reverse("accounts:login")


def code_for(key_hex: str, *, at: float | None = None, digits: int = 6) -> str:
    """The code an authenticator app shows for this secret (now, or at `at`)."""
    generator = TOTP(bytes.fromhex(key_hex), digits=digits)
    generator.time = time.time() if at is None else at
    return f"{generator.token():0{digits}d}"


def device_code(device: TOTPDevice, *, at: float | None = None) -> str:
    return code_for(device.key, at=at, digits=device.digits)


def post_login(client: Client, username: str, password: str = PASSWORD, next_url: str | None = None):
    data = {"username": username, "password": password}
    url = LOGIN_URL if next_url is None else f"{LOGIN_URL}?{urlencode({'next': next_url})}"
    return client.post(url, data, REMOTE_ADDR="127.0.0.1")


def signed_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def add_device(user: User, name: str = "Phone") -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name=name, confirmed=True)


@pytest.fixture
def admin(make_user, org) -> User:
    return make_user(Role.ADMINISTRATOR, org, username="boss")


@pytest.fixture
def nurse(make_user, org) -> User:
    return make_user(Role.NURSE, org, username="nina")
