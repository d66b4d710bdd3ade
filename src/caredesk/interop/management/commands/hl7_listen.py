"""`caredesk hl7_listen --port 2575 --organization RSH`: receive HL7 v2 ADT over MLLP for one organization.

Each message is stored and applied (transitions) and committed before its ACK goes back. Stop with
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caredesk.accounts.models import Organization
from caredesk.interop.hl7.inbound import Inbound, Outcome
from caredesk.interop.hl7.server import MllpServer


class Command(BaseCommand):
    help = "Listen for HL7 v2 ADT messages over MLLP and apply them to one organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, help="The organization's short code")
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=2575, help="TCP port (default 2575)")
        parser.add_argument("--workers", type=int, default=1, help="Threads applying messages (default 1)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            inbound = Inbound.for_short_code(options["organization"])
        except Organization.DoesNotExist as exc:
            raise CommandError(f"No organization with short code {options['organization']!r}") from exc
        logging.getLogger("caredesk.interop.hl7").setLevel(logging.INFO)
        verbosity = int(options["verbosity"])

        def report(outcome: Outcome) -> None:
            if verbosity >= 2:
                receipt = outcome.receipt
                note = " (repeat)" if receipt.duplicate else ""
                self.stdout.write(
                    f"{receipt.ack_code}{note} message {receipt.message_id} {receipt.text}".rstrip()
                )

        server = MllpServer(
            inbound, host=options["host"], port=options["port"], workers=options["workers"], on_outcome=report
        )

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)

            def ready(port: int) -> None:
                self.stdout.write(
                    f"Listening for HL7 v2 over MLLP on {options['host']}:{port} "
                    f"for {inbound.facility}. Ctrl-C stops."
                )
                self.stdout.flush()

            await server.run(stop, ready=ready)

        try:
            asyncio.run(main())
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        self.stdout.write("Stopped.")
