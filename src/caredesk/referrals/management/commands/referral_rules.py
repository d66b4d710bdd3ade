"""caredesk referral_rules [--organization CODE] [--enqueue]: run the referral worklist rules.

Scans the open referrals of one organization (or of every organization) and puts a task on the
care-coordination worklist for each referral not scheduled within its days, each consult note not back
within its days after the visit, and each declined referral neither re-routed nor closed. Running it again
creates nothing new (each task has a dedupe key). With --enqueue the scan is handed to the task worker.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caredesk.accounts.models import Organization

from ... import services
from ...tasks import scan_actor, scan_overdue_referrals


class Command(BaseCommand):
    help = "Put overdue referrals on the worklist (idempotent)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", help="the organization's short code (default: every one)")
        parser.add_argument("--enqueue", action="store_true", help="run in the task worker instead")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("pk")
        if options["organization"]:
            organizations = organizations.filter(short_code__iexact=options["organization"])
            if not organizations.exists():
                raise CommandError(f"No organization with the short code {options['organization']!r}.")
        for organization in organizations:
            if options["enqueue"]:
                scan_overdue_referrals.enqueue(organization.pk)
                self.stdout.write(f"{organization.short_code}: scan queued")
                continue
            created = services.apply_rules(actor=scan_actor(organization.pk, channel="cli"))
            self.stdout.write(f"{organization.short_code}: {len(created)} task(s) created")
