"""caredesk waitlist_sweep [--organization CODE] [--wait]: lapse waitlist offers whose time ran out and
offer their times to the next waiting patients (one django-tasks task per organization, or here with
--wait). Run it every few minutes beside `send_reminders`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caredesk.accounts.models import Organization

from ... import services, tasks


class Command(BaseCommand):
    help = "Lapse expired waitlist offers and offer their times to the next waiting patients."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", help="one organization's short code (default: all)")
        parser.add_argument("--wait", action="store_true", help="run here instead of enqueueing")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("pk")
        if options["organization"]:
            organizations = organizations.filter(short_code__iexact=options["organization"])
            if not organizations.exists():
                raise CommandError(f"No organization with the short code {options['organization']!r}.")
        for organization in organizations:
            if options["wait"]:
                sent = services.sweep_waitlist(actor=tasks.task_actor(organization.pk, channel="cli"))
                self.stdout.write(f"{organization.short_code}: {sent} new offer(s).")
            else:
                result = tasks.sweep_waitlist.enqueue(organization_id=organization.pk)
                self.stdout.write(f"{organization.short_code}: enqueued ({result.id}).")
