"""`caredesk hl7_listen --port 2575 --organization RSH`: receive HL7 v2 ADT over MLLP for one organization.

Each message is stored and applied (transitions) and committed before its ACK goes back; the messages
waiting on all of a process's connections are applied together, up to `--batch` in one transaction. Stop
with Ctrl-C or SIGTERM. `--processes N` runs N listener processes on the same port (one per core: a
process applies messages on one core), each with `--workers` threads applying batches; a sender's
connection stays with one process, so its messages are still applied in the order sent.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from caredesk.accounts.models import Organization
from caredesk.interop.hl7.inbound import Inbound, Outcome
from caredesk.interop.hl7.server import MAX_BATCH, MllpServer, can_share_port, serve_in_processes


class Command(BaseCommand):
    help = "Listen for HL7 v2 ADT messages over MLLP and apply them to one organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, help="The organization's short code")
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=2575, help="TCP port (default 2575)")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Threads applying batches of messages, per process (default 1)",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=MAX_BATCH,
            help=f"Most messages applied in one transaction (default {MAX_BATCH}; 1: each on its own)",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="Listener processes sharing the port (default 1; needs a fixed --port)",
        )

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

        processes, workers, port = options["processes"], options["workers"], options["port"]
        if processes < 1 or workers < 1 or options["batch"] < 1:
            raise CommandError("--processes, --workers and --batch must be at least 1.")
        if processes > 1 and port == 0:
            raise CommandError("Several processes share one port: give it with --port (not 0).")
        if processes > 1 and not can_share_port():
            raise CommandError("This system cannot share a port between processes (no SO_REUSEPORT).")

        def serve(index: int) -> None:
            server = MllpServer(
                inbound,
                host=options["host"],
                port=port,
                workers=workers,
                on_outcome=report,
                reuse_port=processes > 1,
                batch_size=options["batch"],
            )

            async def main() -> None:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, stop.set)

                def ready(bound: int) -> None:
                    which = f" (process {index} of {processes})" if processes > 1 else ""
                    self.stdout.write(
                        f"Listening for HL7 v2 over MLLP on {options['host']}:{bound} "
                        f"for {inbound.facility}{which}. Ctrl-C stops."
                    )
                    self.stdout.flush()

                await server.run(stop, ready=ready)

            try:
                asyncio.run(main())
            except OSError as exc:
                raise CommandError(f"Cannot listen on {options['host']}:{port}: {exc}") from exc

        if processes == 1:
            serve(1)
        else:
            connections.close_all()  # each process opens its own

            def child(index: int) -> None:
                try:
                    serve(index)
                except CommandError as exc:
                    self.stderr.write(f"Process {index}: {exc}")
                    raise SystemExit(1) from exc

            codes = serve_in_processes(processes, child)
            if any(codes):
                raise CommandError("A listener process could not go on (see above); all were stopped.")
        self.stdout.write("Stopped.")
