"""caredesk create_api_token USERNAME: print a new bearer token for the JSON API and FHIR.

Only the token goes to standard output, so `TOKEN=$(caredesk create_api_token coordinator)` works; notes
go to standard error. The token is shown this once: only its SHA-256 is stored.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caredesk.accounts import services
from caredesk.accounts.cli import operator
from caredesk.core.context import system_actor
from caredesk.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create a bearer token for USERNAME (an active user) and print it once. Use it as "
        "`Authorization: Bearer <token>` with the JSON API (/api/v1/) and FHIR (/fhir/); it acts with that "
        "user's role and organization."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="the user the token acts as")
        parser.add_argument(
            "--name", default="default", help="a label to tell the user's tokens apart (default: default)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        name: str = options["name"].strip()[:100] or "default"
        actor = system_actor(organization_id=None, permissions=frozenset(), username=operator())
        try:
            token, secret = services.create_api_token(actor=actor, username=username, name=name)
        except DomainError as exc:
            raise CommandError(
                f"{exc.message}. Check the spelling, or list users in the admin (/admin/)."
            ) from exc
        self.stdout.write(secret)
        self.stderr.write(
            f"Token {token.prefix}… ({token.name!r}) for {token.user.username}: shown this once, keep it "
            "secret. Send it as `Authorization: Bearer <token>`."
        )
