"""caredesk remittance_import --organization CODE FILE...: post 835 remittance files.

Every file is read and validated first (pyx12, then our reading); if any is bad the command exits
non-zero naming the file, segment and line, and posts nothing. Then each file is posted in its own
transaction, with one line per file: matched, paid, denied and unmatched claims, or "already posted" for a
file imported before (same payer and trace number), which changes nothing. Each unmatched claim payment
becomes one billing worklist task (never two). `caredesk x12_import` reads 835s too, and 271/999/277CA.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caredesk.accounts import cli
from caredesk.accounts.cli import organization_of
from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.billing import services as billing
from caredesk.billing.schemas import Remittance
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError
from caredesk.interop.x12.inbound import unmatched_payment_tasks
from caredesk.interop.x12.segments import X12Error
from caredesk.interop.x12.x835 import parse_835

_PERMISSIONS = frozenset(
    str(p) for p in (Permission.BILLING_MANAGE, Permission.BILLING_VIEW, Permission.PATIENT_VIEW)
)


def _actor(organization: Organization) -> Actor:
    return cli.cli_actor(organization, _PERMISSIONS)


class Command(BaseCommand):
    help = "Import X12 835 remittance files: post payments and adjustments on the claims they name."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", required=True, help="the organization's short code, e.g. RSH")
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="835 files")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_of(options["organization"])
        parsed: list[tuple[Path, Remittance]] = []
        for path in options["files"]:
            try:
                text = path.read_text(encoding="utf-8", errors="strict")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: cannot be read ({exc}). Nothing was imported.") from exc
            try:
                parsed.append((path, parse_835(text)))
            except X12Error as exc:
                raise CommandError(f"{path}: {exc} Nothing was imported.") from exc
        actor = _actor(organization)
        for number, (path, remittance) in enumerate(parsed, start=1):
            try:
                posted = billing.post_remittance(actor=actor, remittance=remittance, file_name=path.name)
                created = unmatched_payment_tasks(actor, posted)
            except DomainError as exc:
                raise CommandError(f"{path}: {exc.message}") from exc
            self.stdout.write(f"[{number}/{len(parsed)}] {path.name}: {posted.message}")
            if posted.unmatched:
                tasks = f" ({created} new worklist task(s))" if created else ""
                self.stdout.write("    unmatched claim numbers: " + ", ".join(posted.unmatched) + tasks)
