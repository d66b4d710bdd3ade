"""No negative stock and no lost move under load: 16 threads, each with its own database connection and
real transactions, make 32 moves each (512 in all) against the same balances: nurses using gloves and
vaccine doses in two exam rooms, restocking the rooms from central supply, moving stock between rooms and
back. Stock runs short on purpose, so many moves must be refused. Run on SQLite (a file database, writers
serialized by IMMEDIATE transactions) and PostgreSQL (row locks taken in id order; balance rows created
concurrently are caught by the unique constraints).

Proves: no balance is ever negative; every accepted move is in the ledger (and nothing else is); for every
(item, location) the ledger sums to the balance; total stock is what was received minus what was used;
every refused move got "not enough stock" (InsufficientStock) and nothing else (no lock timeout, no
IntegrityError, no deadlock).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from caredesk.inventory import services
from caredesk.inventory.errors import InsufficientStock
from caredesk.inventory.models import StockBalance, StockMove
from tests.patients.factories import audit_triggers_lifted

from .conftest import build_supply

THREADS = 16
MOVES_PER_THREAD = 32  # 512 in all


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    """The flush that ends a transactional test truncates every table; PostgreSQL's audit trigger refuses
    TRUNCATE of the audit table even when it is empty, so it is lifted for the test."""
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.mark.usefixtures("_flushable_audit_table")
def test_concurrent_moves_never_go_negative_and_none_is_lost(transactional_db, org):
    s = build_supply(org)
    today = timezone.localdate()
    services.receive_stock(actor=s.admin, item_id=s.gloves.pk, stock_location_id=s.central.pk, quantity=300)
    services.receive_stock(actor=s.admin, item_id=s.gloves.pk, stock_location_id=s.exam1.pk, quantity=20)
    for lot, days, quantity in (("A1", 40, 60), ("B2", 200, 60)):
        services.receive_stock(
            actor=s.admin,
            item_id=s.vaccine.pk,
            stock_location_id=s.central.pk,
            quantity=quantity,
            lot_number=lot,
            expires_on=today + dt.timedelta(days=days),
        )
    received = {s.gloves.pk: 320, s.vaccine.pk: 120}
    places = [s.central.pk, s.exam1.pk, s.exam2.pk]
    rooms = [s.exam1.pk, s.exam2.pk]
    items = [s.gloves.pk, s.gloves.pk, s.vaccine.pk]  # gloves twice as often

    accepted: list[tuple[str, list[int]]] = []
    refused: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def nurse(number: int) -> None:
        rng = random.Random(number)
        try:
            barrier.wait()
            for _ in range(MOVES_PER_THREAD):
                item = rng.choice(items)
                quantity = rng.randint(1, 6)
                try:
                    if rng.random() < 0.5:
                        kind = "consume"
                        moves = services.consume_stock(
                            actor=s.nurse,
                            item_id=item,
                            stock_location_id=rng.choice(rooms),
                            quantity=quantity,
                        )
                    else:
                        kind = "transfer"
                        source, target = rng.sample(places, 2)
                        moves = services.transfer_stock(
                            actor=s.nurse,
                            item_id=item,
                            from_location_id=source,
                            to_location_id=target,
                            quantity=quantity,
                        )
                except InsufficientStock as exc:
                    with lock:
                        refused.append(exc.message)
                except BaseException as exc:
                    with lock:
                        unexpected.append(exc)
                else:
                    with lock:
                        accepted.append((kind, [m.pk for m in moves]))
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=nurse, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    assert unexpected == [], f"{len(unexpected)} moves failed otherwise, first: {unexpected[:1]!r}"
    assert len(accepted) + len(refused) == THREADS * MOVES_PER_THREAD
    assert refused, "the load was meant to run stock short"
    assert accepted
    assert all(message.startswith("Not enough stock:") for message in refused)

    # Every accepted move is in the ledger, and the ledger holds nothing else (besides the receipts).
    move_ids = [pk for _, pks in accepted for pk in pks]
    ledger = StockMove.objects.exclude(kind="receive")
    assert sorted(ledger.values_list("pk", flat=True)) == sorted(move_ids)

    assert not StockBalance.objects.filter(quantity__lt=0).exists()
    for balance in StockBalance.objects.all():
        moved_in = (
            StockMove.objects.filter(
                item_id=balance.item_id, lot_id=balance.lot_id, to_location_id=balance.stock_location_id
            ).aggregate(t=Sum("quantity"))["t"]
            or 0
        )
        moved_out = (
            StockMove.objects.filter(
                item_id=balance.item_id, lot_id=balance.lot_id, from_location_id=balance.stock_location_id
            ).aggregate(t=Sum("quantity"))["t"]
            or 0
        )
        assert balance.quantity == moved_in - moved_out, f"ledger and balance disagree for {balance}"
    for item_id, total in received.items():
        used = (
            StockMove.objects.filter(item_id=item_id, kind="consume").aggregate(t=Sum("quantity"))["t"] or 0
        )
        held = StockBalance.objects.filter(item_id=item_id).aggregate(t=Sum("quantity"))["t"] or 0
        assert held == total - used

    kinds = Counter(kind for kind, _ in accepted)
    print(  # noqa: T201 - the figures of the run, shown with -rP
        f"\n[{connection.vendor}] {THREADS * MOVES_PER_THREAD} moves from {THREADS} threads "
        f"in {elapsed:.1f} s: "
        f"{len(accepted)} accepted ({kinds['consume']} uses, {kinds['transfer']} transfers, "
        f"{len(move_ids)} ledger rows), {len(refused)} refused for want of stock",
        file=sys.stderr,
    )
