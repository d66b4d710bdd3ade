"""Security headers on every page, and templates that the Content-Security-Policy does not break."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from .conftest import post_login

pytestmark = pytest.mark.django_db

SRC = Path(settings.SRC_DIR)


def assert_security_headers(response) -> None:
    csp = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert set(directives["img-src"]) == {"'self'", "data:"}  # data: for the enrolment QR code
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_sign_in_page_carries_the_security_headers():
    assert_security_headers(Client().get(reverse("accounts:login")))


def test_a_signed_in_page_carries_the_security_headers(client_as, coordinator):
    response = client_as(coordinator).get(reverse("accounts:security"))
    assert response.status_code == 200
    assert_security_headers(response)


def test_error_pages_carry_the_security_headers(client_as, coordinator):
    response = client_as(coordinator).get(reverse("audit:list"))
    assert response.status_code == 403
    assert_security_headers(response)


def test_the_session_cookie_is_http_only_and_same_site(client, coordinator):
    response = post_login(client, "coord")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
HTMX_INLINE_JS = re.compile(r"\shx-on[:-]|\shx-vals\s*=\s*['\"]js:", re.IGNORECASE)


def _templates() -> list[Path]:
    return sorted(p for p in SRC.rglob("templates/**/*.html"))


@pytest.mark.parametrize("pattern", [INLINE_SCRIPT, INLINE_STYLE, EVENT_HANDLER, HTMX_INLINE_JS], ids=str)
def test_no_template_needs_inline_script_or_style(pattern):
    """The CSP forbids inline scripts, styles and event handlers: behaviour lives in static/caredesk/*.js."""
    offenders = [
        f"{path.relative_to(SRC)}:{text[: m.start()].count(chr(10)) + 1}: {m.group(0).strip()}"
        for path in _templates()
        for text in [path.read_text()]
        for m in pattern.finditer(text)
    ]
    assert not offenders, "Templates the CSP would break:\n" + "\n".join(offenders)
