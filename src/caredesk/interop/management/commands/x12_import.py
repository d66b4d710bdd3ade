"""caredesk x12_import --organization CODE FILE...: import 271, 835, 999 and 277CA files.

The kind of each file is detected from ST01/GS08. Every file is read and validated before anything is
stored; a file that cannot be used stops the command with a non-zero exit naming the file, the segment and
the line, and changes nothing (the files before it in the list stay imported: each file is one
transaction). A file imported before changes nothing the second time. One summary line per file says
what changed.
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
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError
from caredesk.interop.x12.inbound import detect_kind, import_x12
from caredesk.interop.x12.segments import X12Error

PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.BILLING_MANAGE,
        Permission.BILLING_VIEW,
        Permission.PATIENT_VIEW,
        Permission.ELIGIBILITY_CHECK,
        Permission.COVERAGE_VIEW,
    )
)


def cli_actor(organization: Organization) -> Actor:
    return cli.cli_actor(organization, PERMISSIONS)


def read_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """Every file's text, its kind checked (a file that is not X12 we import stops everything)."""
    texts = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="strict")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot be read ({exc}). Nothing was imported.") from exc
        try:
            detect_kind(text)
        except X12Error as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.") from exc
        texts.append((path, text))
    return texts


class Command(BaseCommand):
    help = "Import X12 files (271, 835, 999, 277CA; the kind is detected) and say what changed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", required=True, help="the organization's short code, e.g. RSH")
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="X12 files")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = cli_actor(organization_of(options["organization"]))
        texts = read_files(options["files"])
        for number, (path, text) in enumerate(texts, start=1):
            try:
                result = import_x12(actor=actor, text=text, file_name=path.name)
            except X12Error as exc:
                raise CommandError(f"{path}: {exc} Nothing of this file was imported.") from exc
            except DomainError as exc:
                raise CommandError(f"{path}: {exc.message} Nothing of this file was imported.") from exc
            self.stdout.write(f"[{number}/{len(texts)}] {path.name}: {result.message}")
