"""caredesk rebuild_busy_days: write every resource's busy days (ResourceBusyDay, what a deep slot search
reads instead of bookings) anew from the active bookings. Run it once at the deploy that adds the table
(migration 0012), and after loading bookings by other means than the booking services (a bulk import).
The services keep the rows in step from then on. Safe to run at any time: each resource is rebuilt in its
own transaction, holding the lock that its bookings are written under."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection

from ... import services
from ...models import ResourceBusyDay


class Command(BaseCommand):
    help = "Rebuild every resource's busy days (the slot search's summary of bookings) from the bookings."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        written = services.rebuild_busy_days()
        if connection.vendor == "postgresql":  # fresh statistics for the planner (the table was rewritten)
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {ResourceBusyDay._meta.db_table}")
        self.stdout.write(f"{written} busy day(s) written in {time.perf_counter() - started:.1f} s.")
