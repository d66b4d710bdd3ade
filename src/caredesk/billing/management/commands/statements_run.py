"""caredesk statements_run --out DIR [--organization CODE] [--date YYYY-MM-DD]: the statement batch.

One statement for every patient who owes something (a positive balance summed from the ledger), in each
organization or the one named: its record is kept (what was sent, with the PDF) and the PDF is written to
DIR/<organization code>/. It is the run of the statement cycle (calendar month) of the date: a patient who
already had the cycle's statement (from an earlier run, or `caredesk periodic`'s monthly run) gets none.
A progress bar shows on a terminal. Exits non-zero, writing nothing, when the
folder cannot be written or the organization or date is unknown.
"""

from __future__ import annotations

import datetime as dt
import sys
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from caredesk.accounts.cli import operator
from caredesk.accounts.models import Organization
from caredesk.billing import patient_accounts, payments
from caredesk.billing.models import Statement
from caredesk.billing.tasks import statement_actor
from caredesk.core.errors import DomainError


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Generate a statement (PDF) for every patient with a balance; write the PDFs to a folder."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="folder for the PDFs")
        parser.add_argument("--organization", default="", help="one organization's short code (default: all)")
        parser.add_argument("--date", type=_day, default=None, help="statement date (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        code: str = options["organization"]
        organizations = Organization.objects.order_by("pk")
        if code:
            organizations = organizations.filter(short_code__iexact=code)
            if not organizations.exists():
                raise CommandError(f"No organization with the short code {code!r}.")
        out: Path = options["out"]
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"{out}: cannot be created ({exc}).") from exc
        stream: TextIO = getattr(self.stderr, "_out", sys.stderr)
        total = 0
        for organization in organizations:
            owing = patient_accounts.patients_owing(organization.pk)
            if not owing:
                continue
            folder = out / organization.short_code
            folder.mkdir(exist_ok=True)
            actor = statement_actor(organization.pk, username=operator(), channel="cli")
            with tqdm(
                total=len(owing), desc=organization.short_code, unit=" statements", file=stream, disable=None
            ) as bar:

                def write(statement: Statement, folder: Path = folder, bar: Any = bar) -> None:
                    name = f"statement-{statement.patient.mrn}-{statement.statement_date.isoformat()}.pdf"
                    (folder / name).write_bytes(bytes(statement.pdf))
                    bar.update(1)

                try:
                    made = payments.run_statements(actor=actor, today=options["date"], progress=write)
                except DomainError as exc:
                    raise CommandError(exc.message) from exc
            total += len(made)
            self.stdout.write(f"{organization.short_code}: {len(made)} statement(s) in {folder}")
        self.stdout.write(self.style.SUCCESS(f"{total} statement(s) written."))
