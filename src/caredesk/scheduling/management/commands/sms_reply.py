"""caredesk sms_reply --organization CODE --from NUMBER TEXT: record an SMS answer to a reminder.

"C" (confirm) or "X" (cancel) from the number the reminder was texted to applies to that upcoming
appointment. An SMS gateway's inbound hook calls this (or the service `record_sms_reply`) per message.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caredesk.accounts.cli import organization_of
from caredesk.core.errors import DomainError

from ... import services, tasks


class Command(BaseCommand):
    help = 'Record an inbound SMS reply to a reminder ("C" confirms, "X" cancels).'

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organization", required=True, help="the organization's short code")
        parser.add_argument("--from", dest="from_number", required=True, help="the sender's number")
        parser.add_argument("text", help="the message as received")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_of(options["organization"])
        try:
            reply = services.record_sms_reply(
                actor=tasks.task_actor(organization.pk, channel="cli"),
                from_number=options["from_number"],
                text=options["text"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Appointment {reply.appointment_id}: {reply.get_outcome_display()}.")
