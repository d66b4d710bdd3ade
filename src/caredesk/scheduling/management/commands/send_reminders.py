"""caredesk send_reminders [--organization CODE] [--now ISO] [--wait]: send the appointment reminders
whose time has come (settings.CAREDESK_REMINDER_OFFSETS_HOURS before the start).

One django-tasks task per organization is enqueued (`caredesk db_worker` runs them); with --wait the
reminders are sent here and now instead. Running it again sends nothing twice: each appointment's reminder
at each offset has one row, claimed before anything goes out. Run it every few minutes (cron, a timer).
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caredesk.accounts.models import Organization

from ... import services, tasks


def _moment(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now {value!r} is not an ISO date and time.") from exc
    if moment.tzinfo is None:
        raise CommandError("--now needs a UTC offset, e.g. 2027-03-01T07:00:00-05:00.")
    return moment


class Command(BaseCommand):
    help = "Send due appointment reminders (enqueue one task per organization, or --wait to send now)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", help="one organization's short code (default: all)")
        parser.add_argument("--now", help="act as if it were this time (ISO, with offset)")
        parser.add_argument("--wait", action="store_true", help="send here instead of enqueueing")

    def handle(self, *args: Any, **options: Any) -> None:
        moment = _moment(options["now"])
        organizations = Organization.objects.order_by("pk")
        if options["organization"]:
            organizations = organizations.filter(short_code__iexact=options["organization"])
            if not organizations.exists():
                raise CommandError(f"No organization with the short code {options['organization']!r}.")
        for organization in organizations:
            if options["wait"]:
                run = services.send_due_reminders(
                    actor=tasks.task_actor(organization.pk, channel="cli"), now=moment
                )
                self.stdout.write(
                    f"{organization.short_code}: {run.sent} sent, {run.skipped} skipped, {run.failed} failed."
                )
            else:
                result = tasks.send_due_reminders.enqueue(
                    organization_id=organization.pk, now=moment.isoformat() if moment else None
                )
                self.stdout.write(f"{organization.short_code}: enqueued ({result.id}).")
