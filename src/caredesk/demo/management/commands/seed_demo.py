"""caredesk seed_demo: load the demo network (2 organizations, 4 locations, 25 practitioners, N patients)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from caredesk.core.errors import DomainError
from caredesk.demo import services


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise ArgumentTypeError("must be at least 1")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"{text!r} is not a whole number") from exc


class Command(BaseCommand):
    help = (
        "Load the demo network into an EMPTY database: Riverside Health (NY) and Hilltop Medical Group (NJ), "
        "4 locations, 25 practitioners, demo users for every role and N patients with charts. The same "
        "--seed always gives the same data. A database that already holds an organization is refused "
        "(there is no append mode: the demo never mixes with other data); with --if-empty that case is "
        "skipped quietly instead. Patients are written in batches, one transaction each: an interrupted "
        "run leaves a partial network, so start over with `make clean`. Print the logins with "
        "`caredesk demo_logins`."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--patients", type=_positive, default=2000, help="number of patients (default 2000)"
        )
        parser.add_argument("--seed", type=_whole, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (successfully) when the database already holds an organization",
        )
        parser.add_argument(
            "--batch-size",
            type=_positive,
            default=services.DEFAULT_BATCH_SIZE,
            help=f"patients per transaction (default {services.DEFAULT_BATCH_SIZE})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if services.has_organizations():
            if options["if_empty"]:
                self.stdout.write("seed_demo: the database already holds organizations; demo not loaded.")
                return
            raise CommandError(
                "The database already holds organizations; seed_demo loads the demo network into an empty "
                "database only. Use --if-empty to skip in that case, or `make clean` to start over."
            )
        count: int = options["patients"]
        stream: TextIO = getattr(self.stderr, "_out", sys.stderr)
        with tqdm(total=count, desc="Patients", unit=" patients", file=stream, disable=None) as bar:
            try:
                report = services.seed_demo(
                    patients=count,
                    seed=options["seed"],
                    batch_size=options["batch_size"],
                    progress=bar.update,
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        counts = report.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo network loaded (seed {report.seed}) in {report.seconds:.1f} s: "
                f"{report.organizations} organizations, {report.locations} locations, "
                f"{report.departments} departments, {report.practitioners} practitioners, "
                f"{report.users} users, {counts.get('patients', 0)} patients "
                f"({counts.get('problems', 0)} problems, {counts.get('allergies', 0)} allergies, "
                f"{counts.get('medications', 0)} medications, {counts.get('observations', 0)} observations), "
                f"{counts.get('appointments', 0)} appointments, {counts.get('coverages', 0)} coverages."
            )
        )
