"""`caredesk create_api_token USERNAME`: prints a bearer token (and nothing else) on standard output."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from caredesk.accounts.management.commands.create_api_token import Command
from caredesk.accounts.models import ApiToken
from caredesk.accounts.services import TOKEN_PREFIX, user_for_token
from caredesk.audit.codes import AuditAction

from .conftest import events

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_only_a_working_token(coordinator, org):
    out, err = run("coord")
    token = out.strip()
    assert out == token + "\n"  # so `TOKEN=$(caredesk create_api_token coord)` works
    assert token.startswith(TOKEN_PREFIX)
    assert user_for_token(token) == coordinator
    assert "shown this once" in err
    row = ApiToken.objects.get(user=coordinator)
    assert row.name == "default"
    assert row.token_hash != token
    assert token not in row.token_hash
    [event] = events(AuditAction.API_TOKEN_CREATED)
    assert event.organization_id == org.pk  # the owner's administrators see it in their trail
    assert event.channel == "cli"
    assert event.actor_username.startswith("cli")
    assert event.detail == {"for_user": "coord", "name": "default"}


def test_each_run_makes_a_new_token_and_takes_a_name(coordinator):
    first, _ = run("coord")
    second, _ = run("coord", "--name", "lab interface")
    assert first != second
    assert set(ApiToken.objects.values_list("name", flat=True)) == {"default", "lab interface"}


@pytest.mark.parametrize("username", ["nobody", ""])
def test_an_unknown_user_is_a_clear_error(username):
    with pytest.raises(CommandError, match="No active user named"):
        run(username)
    assert not ApiToken.objects.exists()


def test_an_inactive_user_gets_no_token(coordinator):
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="No active user named 'coord'"):
        run("coord")


def test_from_the_command_line_an_unknown_user_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["caredesk", "create_api_token", "nobody"])
    assert exit_info.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "No active user named 'nobody'" in captured.err
