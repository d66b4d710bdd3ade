"""`caredesk careplan_overdue [--organization CODE] [--enqueue]`: overdue care-plan activities → tasks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caredesk.accounts.models import Organization
from caredesk.careplans import services, tasks


class Command(BaseCommand):
    help = "Create a worklist task for every overdue care-plan activity (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", help="Short code; default: every organization")
        parser.add_argument("--enqueue", action="store_true", help="Queue the background task instead")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("pk")
        if options["organization"]:
            organizations = organizations.filter(short_code=options["organization"])
            if not organizations.exists():
                raise CommandError(f"No organization {options['organization']!r}.")
        for organization in organizations:
            if options["enqueue"]:
                tasks.create_overdue_activity_tasks.enqueue(organization.pk)
                self.stdout.write(f"{organization.short_code}: queued")
                continue
            run = services.create_overdue_tasks(actor=tasks.task_actor(organization.pk, channel="cli"))
            self.stdout.write(
                f"{organization.short_code}: {run.created} new task(s), {run.existing} already there"
            )
