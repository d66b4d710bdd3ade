"""`caredesk periodic`: queue every app's recurring work for every organization, every --interval seconds."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caredesk.accounts.models import Organization
from caredesk.ops.schedule import RECURRING


class Command(BaseCommand):
    help = (
        "Queue the recurring background work (reminders, waitlist sweep, referral and care-plan rules) for "
        "every organization, then again every --interval seconds; `caredesk db_worker` runs what is queued."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=int, default=300, help="Seconds between rounds (default 300)")
        parser.add_argument("--once", action="store_true", help="Run one round and exit")
        parser.add_argument(
            "--inline", action="store_true", help="Run the work in this process instead of queueing it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval: int = options["interval"]
        if interval < 10:
            raise CommandError("--interval must be at least 10 seconds.")
        while True:
            self._round(inline=options["inline"])
            if options["once"]:
                return
            time.sleep(interval)

    def _round(self, *, inline: bool) -> None:
        organizations = list(Organization.objects.order_by("pk").values_list("pk", "short_code"))
        for organization_id, short_code in organizations:
            for job in RECURRING:
                if inline:
                    result = job.run_now(organization_id)
                    self.stdout.write(f"{short_code}: {job.name}: {result}")
                else:
                    job.enqueue(organization_id)
                    self.stdout.write(f"{short_code}: {job.name}: queued")
