"""What `make run` prints (seed_demo, then demo_logins) really signs in, as the README says: the demo
password for every role and, for the administrator, the TOTP secret and a code valid now."""

from __future__ import annotations

import base64
import io
import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from caredesk.demo.services import DEMO_PASSWORD

from .conftest import code_for, post_login

pytestmark = pytest.mark.django_db

README = Path(settings.BASE_DIR) / "README.md"


@pytest.fixture
def printed() -> str:
    call_command("seed_demo", "--patients", "3", "--seed", "3", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    return out.getvalue()


def test_the_printed_logins_sign_in(printed):
    assert f"Password for every account: {DEMO_PASSWORD}" in printed
    for username in ("coordinator", "frontdesk", "billing", "nurse", "physician", "patient"):
        assert re.search(rf"^\s+{username}\s", printed, re.MULTILINE), username
        response = post_login(Client(), username, DEMO_PASSWORD)
        assert response.status_code == 302, username
        assert response["Location"] == reverse("core:home"), username


def test_the_printed_totp_secret_and_code_get_the_administrator_in(printed):
    secret = re.search(r"Secret for an authenticator app: ([A-Z2-7]+)", printed)
    code = re.search(r"Code valid now: (\d{6})", printed)
    url = re.search(r"otpauth URL \(paste or turn into a QR code\): (\S+)", printed)
    assert secret
    assert code
    assert url
    device = TOTPDevice.objects.get(user__username="admin")
    assert secret.group(1) == base64.b32encode(device.bin_key).decode().rstrip("=")
    assert url.group(1).startswith("otpauth://totp/Caredesk%3Aadmin?")
    now = time.time()
    assert code.group(1) in {code_for(device.key, at=now), code_for(device.key, at=now - 30)}

    client = Client()
    response = post_login(client, "admin", DEMO_PASSWORD)
    assert response["Location"].startswith(reverse("accounts:otp_verify"))
    assert client.post(reverse("accounts:otp_verify"), {"token": code_for(device.key)}).status_code == 302
    assert client.get(reverse("audit:list")).status_code == 200


def test_the_readme_describes_these_commands():
    readme = README.read_text()
    assert "caredesk demo_logins" in readme
    assert "caredesk create_api_token USERNAME" in readme
    assert "TOTP secret" in readme
    # The README's example uses the demo coordinator (see the next test: that account gets a token).
    assert "create_api_token coordinator" in readme


def test_create_api_token_works_for_the_readme_example(printed):
    out = io.StringIO()
    call_command("create_api_token", "coordinator", stdout=out, stderr=io.StringIO())
    assert out.getvalue().startswith("cd_")
