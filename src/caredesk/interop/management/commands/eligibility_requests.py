"""caredesk eligibility_requests --organization CODE [--date YYYY-MM-DD] [--out DIR]: check the
eligibility of every patient with an appointment that day (default tomorrow).

One eligibility check per active coverage in force of those patients (coverage.services, audited), sent
at once through each payer's clearinghouse route: file-drop payers get their 270 in the outbox, the test
payer answers at once. With `--out`, every 270 sent is also written to DIR (`<trace number>.270`). Prints
what it wrote; exits non-zero, changing nothing, when the date or organization is wrong or nobody with a
coverage has an appointment then.

It lives in interop because it reads the schedule (scheduling selectors) to feed a coverage use case, and
the coverage app sits below scheduling.
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from caredesk.accounts import cli
from caredesk.accounts.cli import organization_of
from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError
from caredesk.coverage import services as coverage_services
from caredesk.coverage.models import EligibilityCheck
from caredesk.scheduling import selectors as schedule
from caredesk.scheduling.choices import AppointmentStatus

_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.ELIGIBILITY_CHECK,
        Permission.COVERAGE_VIEW,
        Permission.PATIENT_VIEW,
        Permission.SCHEDULE_VIEW,
    )
)
_EXPECTED = (AppointmentStatus.PROPOSED, AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def _actor(organization: Organization) -> Actor:
    return cli.cli_actor(organization, _PERMISSIONS)


def _patients_seen_on(actor: Actor, day: dt.date) -> list[int]:
    """Patients with an expected appointment on `day`, in each location's own time zone."""
    window = Q(pk__in=[])
    for location in schedule.location_queryset(actor):
        zone = schedule.zone_of(location)
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        window |= Q(location_id=location.pk, starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1))
    rows = schedule.appointment_queryset(actor).filter(window, status__in=_EXPECTED)
    return sorted(set(rows.values_list("patient_id", flat=True)))


class Command(BaseCommand):
    help = "Check eligibility (X12 270) for every patient with an appointment on a day (default tomorrow)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", required=True, help="the organization's short code, e.g. RSH")
        parser.add_argument("--date", help="YYYY-MM-DD (default: tomorrow)")
        parser.add_argument("--out", type=Path, help="also write every 270 sent into this folder")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_of(options["organization"])
        try:
            day = (
                dt.date.fromisoformat(options["date"])
                if options["date"]
                else timezone.localdate() + dt.timedelta(days=1)
            )
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {options['date']!r}.") from exc
        out: Path | None = options["out"]
        if out is not None and out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} is not a folder.")
        actor = _actor(organization)
        patient_ids = _patients_seen_on(actor, day)
        if not patient_ids:
            raise CommandError(f"No patient has an appointment on {day:%Y-%m-%d}.")
        try:
            batch = coverage_services.request_eligibility_batch(
                actor=actor,
                patient_ids=patient_ids,
                service_date=day,
                description=f"Appointments of {day:%Y-%m-%d}",
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        check_ids = list(batch.checks.order_by("pk").values_list("pk", flat=True))
        # The batch is committed; a worker may send it too: sending is idempotent, each check goes once.
        for check_id in check_ids:
            coverage_services.send_eligibility_check(actor=actor, check_id=check_id)
        checks = list(EligibilityCheck.objects.filter(pk__in=check_ids).order_by("pk"))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for check in checks:
                if check.request_text:
                    (out / f"{check.trace_number}.270").write_text(check.request_text, encoding="ascii")
        statuses = Counter(c.status for c in checks)
        self.stdout.write(
            f"Batch {batch.pk}: {len(checks)} eligibility request(s) for {len(patient_ids)} patient(s) "
            f"seen on {day:%Y-%m-%d}: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        )
        if out is not None:
            written = sum(1 for c in checks if c.request_text)
            self.stdout.write(f"Wrote {written} 270 file(s) to {out}.")
