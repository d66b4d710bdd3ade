"""Django's SQLite backend, with the transactions of one process taking turns for the write lock.

On SQLite one writer at a time holds the database, and every Caredesk transaction begins IMMEDIATE (it
takes the write lock at BEGIN, so a check made inside it cannot be invalidated by another writer). A
writer that finds the lock taken waits in SQLite's busy handler, which sleeps and retries: a newcomer can
take the lock ahead of a writer that has waited longer, so under a burst of concurrent bookings one
request can wait past the timeout and fail ("database is locked") although every other one got through.

Here each outermost transaction first takes its turn in a process-wide queue per database file (a
lock), then begins; the turn ends when the transaction does (commit, rollback or close). Writers of one
process then get the database one after another, in about the order they came, instead of racing; the
busy handler remains for other processes (the task worker, a second server). Waiting for a turn is
bounded by the same timeout as SQLite's own wait: past it the transaction begins anyway and SQLite
decides, as before. PostgreSQL does not use this module.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base

_TURNS: dict[str, threading.Lock] = {}
_TURNS_GUARD = threading.Lock()


def _turn_for(name: str) -> threading.Lock:
    with _TURNS_GUARD:
        return _TURNS.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn: threading.Lock | None = None

    def _turn_timeout(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def _start_transaction_under_autocommit(self) -> None:
        if self._turn is None and not self.is_in_memory_db():
            turn = _turn_for(str(self.settings_dict["NAME"]))
            if turn.acquire(timeout=self._turn_timeout()):
                self._turn = turn
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private, not in the stubs
        except BaseException:
            self._end_turn()
            raise

    def _set_autocommit(self, autocommit: bool) -> None:
        super()._set_autocommit(autocommit)  # type: ignore[misc]  # private, not in the stubs
        if autocommit:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_turn()

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()
