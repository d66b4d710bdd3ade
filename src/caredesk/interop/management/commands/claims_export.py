"""caredesk claims_export --organization CODE --out DIR [--payer PAYER_ID]: write the ready claims as 837P
batches (one file per payer, each validated by pyx12 before it is written) into DIR, mark them submitted
and print each file with its claims. A batch that cannot be built or fails validation stops the command
with a non-zero exit and the reason; its claims stay ready.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caredesk.accounts.cli import organization_of
from caredesk.billing.models import Claim
from caredesk.core.errors import DomainError
from caredesk.interop.x12.claims import submit_ready_claims

from .x12_import import cli_actor


class Command(BaseCommand):
    help = "Write every ready claim into 837P batches (one per payer) and mark them submitted."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", required=True, help="the organization's short code, e.g. RSH")
        parser.add_argument("--out", required=True, type=Path, help="the folder the 837P files go to")
        parser.add_argument("--payer", default="", help="only the claims of this payer ID")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = cli_actor(organization_of(options["organization"]))
        out: Path = options["out"]
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"{out}: cannot be created ({exc.strerror or exc}).") from exc
        try:
            written = submit_ready_claims(actor=actor, payer_id=options["payer"].strip(), out_dir=out)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"{out}: cannot be written ({exc.strerror or exc}).") from exc
        if not written:
            self.stdout.write(
                "No ready claims" + (f" for payer {options['payer']}" if options["payer"] else "") + "."
            )
            return
        for batch in written:
            numbers = (
                Claim.objects.filter(pk__in=batch.claim_ids)
                .order_by("pk")
                .values_list("claim_number", flat=True)
            )
            self.stdout.write(
                f"{batch.path}: payer {batch.payer_id}, {len(batch.claim_ids)} claim(s) submitted: "
                + ", ".join(numbers)
            )
