"""The monthly statement run: `caredesk periodic` queues it every round, but each organization's patients get
one statement per cycle (calendar month), whether the run is repeated, started by hand with
`caredesk statements_run` as well, or run twice at the same moment (threads with real transactions, on SQLite
and PostgreSQL). A balance that appears after the cycle's run waits for the next cycle."""

from __future__ import annotations

import datetime as dt
import io
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.billing import payments
from caredesk.billing.models import Statement, StatementRun
from caredesk.billing.tasks import run_statement_cycle, statement_actor
from caredesk.ops.schedule import RECURRING
from tests.patients.factories import audit_triggers_lifted, make_patient, staff_actor

from .conftest import BillingClinic, build_clinic
from .test_patient_money import self_pay


def _statements(clinic: BillingClinic) -> list[tuple[int, dt.date | None]]:
    rows = Statement.objects.filter(organization=clinic.org).values_list("patient_id", "cycle")
    return sorted(rows, key=lambda row: (row[0], row[1] or dt.date.min))


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@pytest.mark.django_db
def test_the_periodic_rounds_send_one_statement_per_cycle(clinic: BillingClinic) -> None:
    assert "monthly patient statements" in [job.name for job in RECURRING]
    today = timezone.localdate()
    self_pay(clinic, today)

    call_command("periodic", "--once", "--inline", stdout=io.StringIO())
    call_command("periodic", "--once", "--inline", stdout=io.StringIO())

    cycle = today.replace(day=1)
    assert _statements(clinic) == [(clinic.patient.pk, cycle)]
    run = StatementRun.objects.get(organization=clinic.org)
    assert (run.cycle, run.statements, run.finished_at is not None) == (cycle, 1, True)


@pytest.mark.django_db
def test_a_balance_that_appears_after_the_run_waits_for_the_next_cycle(clinic: BillingClinic) -> None:
    today = timezone.localdate()
    self_pay(clinic, today)
    assert run_statement_cycle.call(clinic.org.pk) == 1
    later = make_patient(staff_actor(clinic.org, Role.ADMINISTRATOR), given_name="Owen", family_name="Ing")
    self_pay(clinic, today, code="G0444", patient_id=later.pk)

    assert run_statement_cycle.call(clinic.org.pk) == 0

    next_cycle = _next_month(today)
    made = payments.run_statement_cycle(actor=statement_actor(clinic.org.pk), today=next_cycle)
    assert sorted(s.patient_id for s in made) == sorted([clinic.patient.pk, later.pk])
    assert _statements(clinic) == sorted(
        [(clinic.patient.pk, today.replace(day=1)), (clinic.patient.pk, next_cycle), (later.pk, next_cycle)]
    )


@pytest.mark.django_db
def test_statements_run_twice_in_a_cycle_sends_nothing_the_second_time(
    clinic: BillingClinic, tmp_path: Path
) -> None:
    self_pay(clinic, dt.date(2026, 11, 2))
    first, second = io.StringIO(), io.StringIO()
    args = ("statements_run", "--out", str(tmp_path), "--organization", "RSH")

    call_command(*args, "--date", "2026-11-05", stdout=first)
    call_command(*args, "--date", "2026-11-20", stdout=second)

    assert "1 statement(s) written." in first.getvalue()
    assert "0 statement(s) written." in second.getvalue()
    assert len(list((tmp_path / "RSH").iterdir())) == 1
    # The periodic run finds the cycle done; a statement made by hand from the account page still goes.
    actor = statement_actor(clinic.org.pk)
    assert payments.run_statement_cycle(actor=actor, today=dt.date(2026, 11, 28)) == []
    payments.generate_statement(
        actor=clinic.billing, patient_id=clinic.patient.pk, today=dt.date(2026, 11, 28)
    )
    assert _statements(clinic) == [(clinic.patient.pk, None), (clinic.patient.pk, dt.date(2026, 11, 1))]
    # December is a new cycle.
    call_command(*args, "--date", "2026-12-01", stdout=io.StringIO())
    assert Statement.objects.filter(cycle=dt.date(2026, 12, 1)).count() == 1


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.mark.usefixtures("_flushable_audit_table")
def test_two_runs_at_the_same_moment_send_each_patient_one_statement(transactional_db) -> None:
    clinic = build_clinic("Riverside Health", "RSH", "1234567893", "1245319599")
    admin = staff_actor(clinic.org, Role.ADMINISTRATOR)
    patients = [clinic.patient] + [
        make_patient(admin, given_name=name, family_name="Ing") for name in ("Owen", "Ada", "Lee")
    ]
    for patient in patients:
        self_pay(clinic, timezone.localdate(), patient_id=patient.pk)
    runs = 4
    barrier = threading.Barrier(runs)
    unexpected: list[BaseException] = []
    counts: list[int] = []

    def run() -> None:
        from django.db import connection

        try:
            barrier.wait()
            counts.append(run_statement_cycle.call(clinic.org.pk))
        except BaseException as exc:  # reported below
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert sum(counts) == len(patients)
    assert sorted(p for p, _cycle in _statements(clinic)) == sorted(p.pk for p in patients)
