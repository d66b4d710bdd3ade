"""`make serve`'s web server: gunicorn with several worker processes serves the application, its static
files (WhiteNoise) and the API from the WSGI module, against the configured database."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time

import pytest

from caredesk.ops.management.commands.serve import gunicorn_argv
from tests.patients.factories import audit_triggers_lifted
from tests.support.subprocess_db import database_url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    # The server's requests commit audit rows for real; the flush after the test must be able to empty the
    # append-only table.
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.fixture
def gunicorn(_flushable_audit_table, transactional_db, tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "CAREDESK_VAR_DIR": str(tmp_path)}
    command = gunicorn_argv(bind=f"127.0.0.1:{port}", workers=2, threads=4)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(port, "/accounts/login/")
                break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_gunicorn_serves_pages_static_files_and_the_api(gunicorn):
    status, _headers, body = _get(gunicorn, "/accounts/login/")
    assert status == 200
    assert b'name="password"' in body
    stylesheet = next(
        part.split(b'"')[0].decode() for part in body.split(b'href="')[1:] if part.startswith(b"/static/")
    )
    status, headers, css = _get(gunicorn, stylesheet)
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert css
    status, _headers, _body = _get(gunicorn, "/worklist/")
    assert status == 302  # not signed in: to the sign-in page
    status, headers, _answer = _get(gunicorn, "/api/v1/visit-types")
    assert status == 401
    assert headers["content-type"].startswith("application/json")


def test_serve_refuses_a_bad_address_or_worker_count():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="host:port"):
        call_command("serve", "--bind", "localhost")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("serve", "--workers", "0")
