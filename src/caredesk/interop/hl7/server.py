"""The MLLP listener: python-hl7's asyncio server (`hl7.mllp.start_hl7_server`) with our framing reader.

Each connection is read one block at a time (VT … FS CR), and its ACK is written before its next block is
read, so a sender's messages are applied in the order sent. Bytes before the VT (stray line breaks between
frames) are skipped. When handling fails outright (the database is down) no ACK is sent and the connection
is closed: the sender will resend, and nothing was acknowledged that was not stored.

Concurrency comes from several connections (a sender waits for each ACK). The blocks read from all
connections wait in one queue; a free worker thread (the ORM is synchronous) takes everything waiting, up
to `batch_size` blocks, and applies it as one batch in one transaction (`Inbound.handle_many`); each
block's ACK goes back once that transaction has committed. While a batch is applied the next one gathers,
so a busy listener applies many messages per transaction and a quiet one answers each at once. Up to
`workers` batches are applied at a time. One process applies messages on one core (Python's lock);
`serve_in_processes` runs several listener processes on one port (SO_REUSEPORT: the kernel spreads new
connections over them), each with its own threads and database connections.

A worker thread keeps its database connection from one message to the next (opening one per message
costs more than applying an admission); a connection that failed is closed and the next message opens a
new one; all are closed when the server stops.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
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
#: The most messages applied in one transaction.
MAX_BATCH = 64

_Waiting = tuple[bytes, "asyncio.Future[Outcome]"]


class MllpServer:
    def __init__(
        self,
        inbound: Inbound,
        *,
        host: str = "127.0.0.1",
        port: int = 2575,
        workers: int = 1,
        on_outcome: Callable[[Outcome], None] | None = None,
        reuse_port: bool = False,
        batch_size: int = MAX_BATCH,
    ) -> None:
        self.inbound = inbound
        self.host = host
        self.port = port
        self.reuse_port = reuse_port
        self.on_outcome = on_outcome
        self.workers = max(1, workers)
        self.batch_size = max(1, batch_size)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="hl7")
        self._lock = threading.Lock()
        self._databases: set[BaseDatabaseWrapper] = set()
        self._clients: set[asyncio.Task[None]] = set()
        # Blocks read and not yet handed to a worker, and how many workers are applying a batch (both
        # touched only on the event loop's thread).
        self._waiting: collections.deque[_Waiting] = collections.deque()
        self._busy = 0
        self._closing = False

    @property
    def waiting(self) -> int:
        """Blocks read and waiting for a free worker (they go together as the next batch)."""
        return len(self._waiting)

    def _handle_batch(self, blocks: list[bytes]) -> list[Outcome]:
        with self._lock:
            self._databases.add(connections[DEFAULT_DB_ALIAS])  # this thread's, closed at the end
        try:
            return self.inbound.handle_many(blocks)
        except Exception:
            connections.close_all()  # possibly broken: the next batch on this thread reconnects
            raise

    def _submit(self, block: bytes) -> asyncio.Future[Outcome]:
        """Queue a block; its outcome once the batch it joins has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._waiting.append((block, future))
        self._dispatch(loop)
        return future

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """While a worker is free, hand it everything waiting (up to `batch_size` blocks) as one batch."""
        while self._waiting and self._busy < self.workers and not self._closing:
            count = min(self.batch_size, len(self._waiting))
            batch = [self._waiting.popleft() for _ in range(count)]
            batch = [(block, future) for block, future in batch if not future.done()]  # sender gone
            if not batch:
                continue
            self._busy += 1
            job = loop.run_in_executor(self._executor, self._handle_batch, [block for block, _ in batch])
            job.add_done_callback(functools.partial(self._finished, loop, batch))

    def _finished(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Waiting], job: asyncio.Future[list[Outcome]]
    ) -> None:
        self._busy -= 1
        error = None if job.cancelled() else job.exception()
        for n, (_, future) in enumerate(batch):
            if future.done():  # its connection went away meanwhile
                continue
            if job.cancelled():
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                future.set_result(job.result()[n])
        self._dispatch(loop)

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
        try:
            while (block := await self._read_block(reader)) is not None:
                outcome = await self._submit(block)
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
        extra = {"reuse_port": True} if self.reuse_port else {}
        server = await start_hl7_server(self._client, self.host, self.port, limit=MAX_MESSAGE_BYTES, **extra)
        port = server.sockets[0].getsockname()[1]
        logger.info("HL7 MLLP listener on %s:%s", self.host, port)
        if ready is not None:
            ready(port)
        try:
            await stop.wait()
        finally:
            self._closing = True  # what is still waiting is not applied (and so not acknowledged)
            server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await server.wait_closed()
            self._executor.shutdown(wait=True)
            await asyncio.to_thread(self._close_connections)  # Django refuses database calls in async code


def can_share_port() -> bool:
    """Whether this system lets several processes listen on one port (SO_REUSEPORT: Linux, BSD, macOS)."""
    return hasattr(socket, "SO_REUSEPORT")


def serve_in_processes(count: int, serve: Callable[[int], None]) -> list[int]:
    """Fork `count` processes that each call `serve(index)` (index 1..count) and exit; wait for them all
    and return their exit codes in order. SIGINT / SIGTERM to this process are passed on to them (each
    stops after the message it is applying); when one of them fails, the others are stopped too. Close
    the database connections before calling (a forked child must not share its parent's)."""
    children: dict[int, int] = {}
    for index in range(1, count + 1):
        pid = os.fork()
        if pid == 0:  # the child: serve, then leave without running the parent's exit handlers
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                serve(index)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                logger.exception("HL7 listener process %d failed", index)
                code = 1
            finally:
                logging.shutdown()
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                os._exit(code)
        children[pid] = index

    def stop_all(signum: int = signal.SIGTERM, _frame: object = None) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    previous = {sig: signal.signal(sig, stop_all) for sig in (signal.SIGINT, signal.SIGTERM)}
    codes = [0] * count
    try:
        waiting = set(children)
        while waiting:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except InterruptedError:  # a signal came: it was passed on; keep waiting
                continue
            if pid not in waiting:
                continue
            waiting.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            codes[children[pid] - 1] = code
            if code != 0:
                for other in waiting:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(other, signal.SIGTERM)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return codes


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
