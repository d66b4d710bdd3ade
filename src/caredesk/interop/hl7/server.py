"""The MLLP listener: python-hl7's asyncio server (`hl7.mllp.start_hl7_server`) with our framing reader.

Each connection is read one block at a time (VT … FS CR); each block is handled in a worker thread (the
ORM is synchronous) and its ACK written before the next block is read, so a sender's messages are applied
in the order sent. Bytes before the VT (stray line breaks between frames) are skipped. When handling fails
outright (the database is down) no ACK is sent and the connection is closed: the sender will resend, and
nothing was acknowledged that was not stored.

Concurrency comes from several connections (a sender waits for each ACK): up to `workers` messages are
applied at once, each in its own transaction. A worker thread keeps its database connection from one
message to the next (opening one per message costs more than applying an admission); a connection that
failed is closed and the next message opens a new one; all are closed when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from hl7.mllp import HL7StreamReader, HL7StreamWriter, start_hl7_server

from .inbound import Inbound, Outcome

logger = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_MESSAGE_BYTES = 1024 * 1024


class MllpServer:
    def __init__(
        self,
        inbound: Inbound,
        *,
        host: str = "127.0.0.1",
        port: int = 2575,
        workers: int = 1,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.inbound = inbound
        self.host = host
        self.port = port
        self.on_outcome = on_outcome
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="hl7")
        self._lock = threading.Lock()
        self._databases: set[BaseDatabaseWrapper] = set()
        self._clients: set[asyncio.Task[None]] = set()

    def _handle(self, block: bytes) -> Outcome:
        with self._lock:
            self._databases.add(connections[DEFAULT_DB_ALIAS])  # this thread's, closed at the end
        try:
            return self.inbound.handle(block)
        except Exception:
            connections.close_all()  # possibly broken: the next message on this thread reconnects
            raise

    def _close_connections(self) -> None:
        """Close the worker threads' database connections, once the pool has stopped (no thread uses them
        any more, so closing them from another one is safe)."""
        with self._lock:
            databases, self._databases = list(self._databases), set()
        for database in databases:
            database.inc_thread_sharing()
            try:
                database.close()
            finally:
                database.dec_thread_sharing()

    async def _read_block(self, reader: HL7StreamReader) -> bytes | None:
        """The next frame's content, or None at the end of the stream."""
        while True:
            try:
                data = await reader.readuntil(END_BLOCK)
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    logger.warning(
                        "MLLP connection closed inside a frame (%d bytes dropped)", len(exc.partial)
                    )
                return None
            except asyncio.LimitOverrunError:
                logger.warning("MLLP frame longer than %d bytes: dropped", MAX_MESSAGE_BYTES)
                await reader.read(MAX_MESSAGE_BYTES)  # discard and resynchronise on the next frame end
                continue
            start = data.find(START_BLOCK)
            if start < 0:
                logger.warning("MLLP frame without a start byte (VT): %d bytes dropped", len(data))
                continue
            return data[start + 1 : -len(END_BLOCK)]

    async def _client(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        loop = asyncio.get_running_loop()
        try:
            while (block := await self._read_block(reader)) is not None:
                outcome = await loop.run_in_executor(self._executor, self._handle, block)
                writer.writeblock(outcome.ack.encode("utf-8"))
                await writer.drain()
                if self.on_outcome is not None:
                    self.on_outcome(outcome)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            logger.exception("HL7 message handling failed; closing the connection without an ACK")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._clients.discard(task)

    async def run(self, stop: asyncio.Event, ready: Callable[[int], None] | None = None) -> None:
        """Serve until `stop` is set; `ready(port)` is called once listening (port 0 picks a free one)."""
        server = await start_hl7_server(self._client, self.host, self.port, limit=MAX_MESSAGE_BYTES)
        port = server.sockets[0].getsockname()[1]
        logger.info("HL7 MLLP listener on %s:%s", self.host, port)
        if ready is not None:
            ready(port)
        try:
            await stop.wait()
        finally:
            server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await server.wait_closed()
            self._executor.shutdown(wait=True)
            await asyncio.to_thread(self._close_connections)  # Django refuses database calls in async code


class ListenerThread:
    """The server in a background thread with its own event loop (tests, embedding): `start()` returns the
    port it listens on, `stop()` shuts it down."""

    def __init__(self, inbound: Inbound, *, host: str = "127.0.0.1", port: int = 0, workers: int = 1) -> None:
        self.server = MllpServer(inbound, host=host, port=port, workers=workers)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="hl7-listener", daemon=True)
        self.port = 0
        self.error: BaseException | None = None

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.server.run(self._stop, ready=self._on_ready)

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the starting thread
            self.error = exc
            self._ready.set()

    def _on_ready(self, port: int) -> None:
        self.port = port
        self._ready.set()

    def start(self, timeout: float = 10.0) -> int:
        self._thread.start()
        if not self._ready.wait(timeout) or self.error is not None:
            raise RuntimeError(f"The HL7 listener did not start: {self.error!r}")
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
