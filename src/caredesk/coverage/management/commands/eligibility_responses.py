"""caredesk eligibility_responses --organization CODE [FILE ...]: read 271 eligibility responses.

With files, each one is read and stored on the checks it answers; without, the organization's file-drop
inbox is read (files move to processed/ or refused/). A file that cannot be used is named with the segment
and line at fault and changes nothing; the command then exits non-zero. A file read twice changes nothing
the second time.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caredesk.accounts import cli
from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError

from ... import services

_PERMISSIONS = frozenset(
    str(p) for p in (Permission.ELIGIBILITY_CHECK, Permission.COVERAGE_VIEW, Permission.PATIENT_VIEW)
)


def _actor(organization: Organization) -> Actor:
    return cli.cli_actor(organization, _PERMISSIONS)


class Command(BaseCommand):
    help = "Read 271 eligibility responses (the files given, or the organization's file-drop inbox)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", required=True, help="the organization's short code, e.g. RSH")
        parser.add_argument("files", nargs="*", type=Path, help="271 files (default: the inbox)")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(short_code__iexact=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization with the short code {options['organization']!r}.")
        actor = _actor(organization)
        if not options["files"]:
            answered, problems = services.collect_eligibility_responses(actor=actor)
            self.stdout.write(f"Read the inbox: {len(answered)} check(s) answered.")
            if problems:
                raise CommandError("Refused:\n" + "\n".join(problems))
            return
        failed: list[str] = []
        for path in options["files"]:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
                checks = services.record_eligibility_response(actor=actor, response_text=text)
            except OSError as exc:
                failed.append(f"{path}: {exc.strerror or exc}")
            except DomainError as exc:
                failed.append(f"{path}: {exc.message}")
            else:
                summary = ", ".join(f"{c.trace_number} {c.status}" for c in checks) or "nothing new"
                self.stdout.write(f"{path}: {summary}")
        if failed:
            raise CommandError("Not read (nothing changed for these files):\n" + "\n".join(failed))
