"""`caredesk serve`: the production web server, gunicorn, with Caredesk's settings.

    caredesk serve --bind 0.0.0.0:8000 --workers 4

One worker process per core by default (Python runs one thread at a time per process), each with
`--threads` threads (gthread: keep-alive connections, requests that wait for the database overlap); static
files come from WhiteNoise. The command replaces itself with gunicorn, so a process manager's signals
reach gunicorn directly (SIGTERM: finish the requests in hand, then stop).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def gunicorn_argv(*, bind: str, workers: int, threads: int, access_log: bool = True) -> list[str]:
    """The gunicorn command line that serves Caredesk (also used by the benchmarks and tests)."""
    argv = [
        str(Path(sys.executable).with_name("gunicorn")),
        "caredesk.config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--graceful-timeout",
        "30",
    ]
    return [*argv, "--access-logfile", "-"] if access_log else argv


class Command(BaseCommand):
    help = "Serve Caredesk in production with gunicorn (worker processes x threads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (default 127.0.0.1:8000)")
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 2, help="processes (default: one per core)"
        )
        parser.add_argument("--threads", type=int, default=8, help="threads per process (default 8)")
        parser.add_argument("--no-access-log", action="store_true", help="do not log each request")

    def handle(self, *args: Any, **options: Any) -> None:
        workers, threads = options["workers"], options["threads"]
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        host, _, port = str(options["bind"]).rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise CommandError(f"--bind takes host:port, such as 127.0.0.1:8000 (not {options['bind']!r}).")
        argv = gunicorn_argv(
            bind=options["bind"], workers=workers, threads=threads, access_log=not options["no_access_log"]
        )
        if not Path(argv[0]).exists():
            raise CommandError(f"gunicorn is not installed next to this Python ({argv[0]}).")
        self.stdout.write(
            f"Serving Caredesk on http://{options['bind']}/ ({workers} processes x {threads} threads)"
        )
        self.stdout.flush()
        os.execv(argv[0], argv)  # noqa: S606 (our own argv: gunicorn and its options, no shell)
