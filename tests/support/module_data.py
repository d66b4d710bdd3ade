"""Data built once per test module instead of once per test.

`built_once(django_db_blocker, build)` runs `build()` inside an outer transaction that stays open for the
module and is rolled back when the module is done. pytest-django runs each test of the module in a
savepoint inside it, so whatever a test writes is undone after that test, exactly as before, while the
module's data stays. Only for tests that run in pytest-django's transaction (`db`), not
`transactional_db` or `live_server`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import transaction

T = TypeVar("T")


@contextmanager
def built_once(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
