"""Claim numbers (CLM01, echoed back by the payer on every 277CA and 835) are unique in an organization
even when billers enter charges at the same moment: 16 threads, each with its own connection and real
transactions, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from caredesk.billing import services
from caredesk.billing.models import Claim
from tests.patients.factories import audit_triggers_lifted

from .conftest import BillingClinic, build_clinic

THREADS = 16
CLAIMS_PER_THREAD = 5


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    with audit_triggers_lifted(django_db_blocker):
        yield


def test_claim_numbers_follow_on_per_organization(clinic: BillingClinic, other_clinic: BillingClinic) -> None:
    first = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    second = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    elsewhere = services.enter_charges(actor=other_clinic.billing, data=other_clinic.charges())
    assert first.claim_number == f"C{clinic.org.pk}-000001"
    assert second.claim_number == f"C{clinic.org.pk}-000002"
    assert elsewhere.claim_number == f"C{other_clinic.org.pk}-000001"


def test_a_refused_claim_does_not_use_up_a_number(clinic: BillingClinic) -> None:
    with pytest.raises(services.InvalidCharges):
        services.enter_charges(actor=clinic.billing, data=clinic.charges(lines=()))
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    assert claim.claim_number == f"C{clinic.org.pk}-000001"


@pytest.mark.usefixtures("_flushable_audit_table")
def test_concurrent_billers_never_draw_the_same_number(transactional_db) -> None:
    clinic = build_clinic("Riverside Health", "RSH", "1234567893", "1245319599")
    barrier = threading.Barrier(THREADS)
    unexpected: list[BaseException] = []

    def biller() -> None:
        from django.db import connection

        try:
            barrier.wait()
            for _ in range(CLAIMS_PER_THREAD):
                services.enter_charges(actor=clinic.billing, data=clinic.charges())
        except BaseException as exc:  # reported below
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=biller) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    numbers = list(Claim.objects.filter(organization=clinic.org).values_list("claim_number", flat=True))
    assert len(numbers) == THREADS * CLAIMS_PER_THREAD
    assert sorted(numbers) == [f"C{clinic.org.pk}-{n:06d}" for n in range(1, THREADS * CLAIMS_PER_THREAD + 1)]
