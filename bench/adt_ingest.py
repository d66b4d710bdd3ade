"""ADT ingest over MLLP: messages per second sustained with ACKs, each applied exactly once.

Starts `caredesk hl7_listen` as its own process against the database the environment selects (run by
bench/run_all.py on a scratch database that holds the demo, or by hand):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/caredesk_bench .venv/bin/python -m bench.adt_ingest

`--visits` inpatient stays are admitted (A01) and discharged home (A03, which starts TCM: three worklist
tasks per discharge), for registered patients matched by MRN. `--connections` senders each keep one
message in flight (send, wait for the ACK, send the next: MLLP's usual discipline); the listener applies
the messages waiting on its connections together (up to `--batch` per transaction) with `--workers`
threads per process. Throughput is messages acknowledged AA per second of wall clock, from the first send
to the last ACK. The senders are one thread over raw non-blocking sockets with every frame encoded
beforehand, so that the figure measures the listener: CPU per message is printed for the listener
processes, the sender, and the rest of the machine (PostgreSQL, and whatever else runs there).

Each sender waits for its ACK before sending on (MLLP's discipline), so what one listener is offered is
connections / round trip: 1,000 messages/s arrive only over many connections (an interface engine's
feeds, a replay after downtime). The listener batches what is waiting, so throughput grows with them:
on the 2-core CI machine, quiet, 16 connections gave 595/s, 32 771/s, 64 944-974/s, 128 1,187/s
(20,000 messages: 1,060/s sustained).

Then it checks what a user would: every message stored once, every visit one encounter, every discharge
one TCM episode, and a resend of a sample of control ids answered from the first outcome and applied
no second time. Target (issue 4): >= 1,000 messages/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_PER_SECOND = 1000.0
VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
SENDER = "BENCHADT"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caredesk.config.settings")
    import django

    django.setup()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _message(trigger: str, control_id: str, mrn: str, short_code: str, visit: str, at: dt.datetime) -> bytes:
    stamp = at.strftime("%Y%m%d%H%M%S")
    pv1 = ["PV1", "1", "I", "4W^401^1^GENHOSP"] + [""] * 43  # PV1-0 .. PV1-46
    pv1[19] = visit
    if trigger == "A01":
        pv1[44] = stamp
    else:
        pv1[36] = "01"  # discharged to home
        pv1[44] = (at - dt.timedelta(days=3)).strftime("%Y%m%d%H%M%S")
        pv1[45] = stamp
    segments = [
        f"MSH|^~\\&|{SENDER}|GENHOSP|CAREDESK|{short_code}|{stamp}||ADT^{trigger}^ADT_{trigger}|{control_id}|P|2.5.1",
        f"EVN|{trigger}|{stamp}",
        f"PID|1||{mrn}^^^{short_code}^MR||Bench^Patient||19600101|U",
        "|".join(pv1),
    ]
    return VT + "\r".join(segments).encode() + CR + FS + CR


class _Connection:
    """One sender's side of an MLLP connection: its frames (pre-encoded) and the ACK codes it got."""

    def __init__(self, port: int, frames: list[bytes]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setblocking(False)
        self.frames = frames
        self.sent = 0
        self.codes: list[str] = []
        self.buffer = b""

    def send_next(self) -> bool:
        if self.sent == len(self.frames):
            return False
        self.sock.sendall(self.frames[self.sent])  # a frame is far smaller than the socket buffer
        self.sent += 1
        return True

    def received(self, chunk: bytes) -> int:
        """Take what arrived; return how many ACKs it completed (one in flight at a time)."""
        self.buffer += chunk
        done = 0
        while (end := self.buffer.find(FS + CR)) >= 0:
            frame, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
            at = frame.find(b"\rMSA|")
            self.codes.append(frame[at + 5 : at + 7].decode() if at >= 0 else "??")
            done += 1
        return done


def _send_all(port: int, per_connection: list[list[bytes]]) -> tuple[float, float, list[str], list[str]]:
    """Every connection keeps one message in flight (send, wait for its ACK, send the next), all driven by
    one thread over epoll/select with raw sockets and frames encoded beforehand, so the sender's own CPU
    stays small beside the listener's. Returns (seconds, sender CPU seconds, ACK codes, failures)."""
    failures: list[str] = []
    connections = [_Connection(port, frames) for frames in per_connection if frames]
    cpu = time.process_time()
    started = time.perf_counter()
    with selectors.DefaultSelector() as selector:
        for conn in connections:
            selector.register(conn.sock, selectors.EVENT_READ, conn)
            conn.send_next()
        open_count = len(connections)
        while open_count:
            events = selector.select(timeout=60)
            if not events:
                failures.append("no ACK within 60 s")
                break
            for key, _ in events:
                conn = key.data
                try:
                    chunk = conn.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    chunk, reason = b"", repr(exc)
                else:
                    reason = "the listener closed the connection"
                if not chunk:
                    failures.append(reason)
                    selector.unregister(conn.sock)
                    open_count -= 1
                    continue
                if conn.received(chunk) and not conn.send_next():
                    selector.unregister(conn.sock)
                    open_count -= 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    for conn in connections:
        conn.sock.close()
    return seconds, cpu, [code for conn in connections for code in conn.codes], failures


def _cpu_seconds(pids: set[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK") if total else 0.0


def _family(pid: int) -> set[int]:
    """The process and its children (the listener forks one process per --processes)."""
    found = {pid}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(entry.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.add(int(entry.parent.name))
    return found


def _postgres_backends(database: str) -> set[int]:
    """The PostgreSQL server processes serving connections to `database` on this machine (Linux: their
    command line reads "postgres: … <user> <database> <client> …")."""
    found = set()
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = entry.read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
        except OSError:
            continue
        if words and words[0].startswith("postgres:") and database in words[1:]:
            found.add(int(entry.parent.name))
    return found


def _machine_busy() -> float:
    """CPU seconds all cores spent busy so far (Linux /proc/stat: user, nice, system, irq, softirq,
    steal); 0 elsewhere."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _stays(mrns: list[str], visits: int, run: str) -> Iterator[tuple[str, str, str]]:
    """(mrn, visit number, run-unique control id prefix) per stay."""
    for n in range(visits):
        yield mrns[n % len(mrns)], f"{run}V{n:06d}", f"{run}-{n:06d}"


def _wait_for(process: subprocess.Popen[str], processes: int) -> None:
    """Until every listener process says it listens (the command prints one line each)."""
    assert process.stdout is not None
    listening = 0
    while listening < processes:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"hl7_listen exited with {process.wait()}")
        listening += line.startswith("Listening")


def queries_per_message(short_code: str, mrns: list[str], stays: int, run: str) -> tuple[float, float]:
    """SQL statements per admit and per discharge, applied in this process (no MLLP) for `stays` more
    stays of their own (control ids `run`Q…), counted with Django's CaptureQueriesContext."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from caredesk.interop.hl7.inbound import Inbound

    inbound = Inbound.for_short_code(short_code)
    now = timezone.localtime().replace(microsecond=0, tzinfo=None)
    counts: dict[str, list[int]] = {"A01": [], "A03": []}
    for n in range(stays):
        mrn, visit, control = mrns[n % len(mrns)], f"{run}Q{n:04d}", f"{run}-Q{n:04d}"
        for trigger, at in (("A01", now - dt.timedelta(days=3)), ("A03", now)):
            block = _message(trigger, f"{control}-{trigger}", mrn, short_code, visit, at)[1:-2]
            with CaptureQueriesContext(connection) as captured:
                if inbound.handle(block).receipt.ack_code != "AA":
                    raise RuntimeError(f"{trigger} {control} was not accepted")
            counts[trigger].append(len(captured.captured_queries))
    return sum(counts["A01"]) / stays, sum(counts["A03"]) / stays


def queries_per_batched_message(
    short_code: str, mrns: list[str], stays: int, run: str
) -> tuple[float, float]:
    """SQL statements per message when `stays` admits are applied as one batch (one transaction, as the
    listener does when that many connections are waiting), then their discharges as another."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from caredesk.interop.hl7.inbound import Inbound

    inbound = Inbound.for_short_code(short_code)
    now = timezone.localtime().replace(microsecond=0, tzinfo=None)
    per: list[float] = []
    for trigger, at in (("A01", now - dt.timedelta(days=3)), ("A03", now)):
        blocks = [
            _message(
                trigger, f"{run}-M{n:04d}-{trigger}", mrns[n % len(mrns)], short_code, f"{run}M{n:04d}", at
            )[1:-2]
            for n in range(stays)
        ]
        with CaptureQueriesContext(connection) as captured:
            outcomes = inbound.handle_many(blocks)
        if any(outcome.receipt.ack_code != "AA" for outcome in outcomes):
            raise RuntimeError(f"a batched {trigger} was not accepted")
        per.append(len(captured.captured_queries) / stays)
    return per[0], per[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visits", type=int, default=2000, help="stays: two messages each (default 2000)")
    parser.add_argument(
        "--connections",
        type=int,
        default=128,
        help="concurrent MLLP senders (default 128: what a 1,000/s feed offers; see above)",
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="listener processes on the port (default 2: one per core)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="listener threads per process, each applying a batch (default 1)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=64,
        help="most messages the listener applies in one transaction (default 64)",
    )
    parser.add_argument("--organization", default="RSH", help="short code of the receiving organization")
    parser.add_argument(
        "--count-queries",
        type=int,
        default=20,
        metavar="STAYS",
        help="afterwards, count SQL statements per message over this many more stays (0: skip)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    _setup()
    from django.db import connection
    from django.utils import timezone

    from caredesk.accounts.models import Organization
    from caredesk.patients.models import Patient
    from caredesk.transitions.models import Encounter, InboundMessage, TcmEpisode

    organization = Organization.objects.get(short_code__iexact=args.organization)
    short_code = organization.short_code.upper()
    mrns = list(
        Patient.objects.filter(organization=organization, status="active")
        .order_by("pk")
        .values_list("mrn", flat=True)[: args.visits]
    )
    if not mrns:
        print("No registered patients: seed the demo first (caredesk seed_demo).", file=sys.stderr)
        return 2
    run = f"B{int(time.time()) % 10**8:08d}"
    # HL7 times without an offset are the sender's local time: the organization's zone.
    now = timezone.localtime().replace(microsecond=0, tzinfo=None)
    admits: list[bytes] = []
    discharges: list[bytes] = []
    control_ids: list[str] = []
    for mrn, visit, control in _stays(mrns, args.visits, run):
        admits.append(_message("A01", f"{control}-A", mrn, short_code, visit, now - dt.timedelta(days=3)))
        discharges.append(_message("A03", f"{control}-D", mrn, short_code, visit, now))
        control_ids += [f"{control}-A", f"{control}-D"]
    # Each stay's admit and discharge go down the same connection, in order (a hospital's feed is ordered
    # per patient); stays are dealt round-robin over the connections.
    per_connection: list[list[bytes]] = [[] for _ in range(args.connections)]
    for n, admit in enumerate(admits):
        per_connection[n % args.connections].append(admit)
    for n, discharge in enumerate(discharges):
        per_connection[n % args.connections].append(discharge)
    total = sum(len(batch) for batch in per_connection)
    connection.close()

    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    listener = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from caredesk.manage import main; main()",
            "hl7_listen",
            "--organization",
            short_code,
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--processes",
            str(args.processes),
            "--batch",
            str(args.batch),
            "-v0",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(listener, args.processes)
        family = _family(listener.pid)
        database = str(connection.settings_dict["NAME"])
        before = {pid: _cpu_seconds({pid}) for pid in _postgres_backends(database)}
        listener_cpu, machine_cpu = _cpu_seconds(family), _machine_busy()
        seconds, sender_cpu, codes, failures = _send_all(port, per_connection)
        listener_cpu, machine_cpu = _cpu_seconds(family) - listener_cpu, _machine_busy() - machine_cpu
        postgres_cpu = sum(_cpu_seconds({pid}) - before.get(pid, 0.0) for pid in _postgres_backends(database))
        rng = random.Random(7)
        resend = rng.sample(range(len(admits)), min(100, len(admits)))
        _, _, resend_codes, resend_failures = _send_all(port, [[admits[i] for i in resend]])
    finally:
        listener.terminate()
        listener.wait(timeout=30)

    accepted = codes.count("AA")
    stored = InboundMessage.objects.filter(sender__startswith=SENDER, control_id__startswith=run).count()
    visits = [visit for _, visit, _ in _stays(mrns, args.visits, run)]
    encounters = Encounter.objects.filter(organization=organization, visit_number__in=visits).count()
    episodes = TcmEpisode.objects.filter(encounter__visit_number__in=visits).count()
    rate = accepted / seconds if seconds else 0.0
    figures = {
        "messages": total,
        "connections": args.connections,
        "processes": args.processes,
        "workers": args.workers,
        "batch": args.batch,
        "seconds": round(seconds, 3),
        "acknowledged_aa": accepted,
        "other_acks": sorted({c for c in codes if c != "AA"}),
        "failures": failures + resend_failures,
        "messages_per_second": round(rate, 1),
        "listener_cpu_ms_per_message": round(1000 * listener_cpu / total, 3),
        "sender_cpu_ms_per_message": round(1000 * sender_cpu / total, 3),
        "postgres_cpu_ms_per_message": round(1000 * postgres_cpu / total, 3),
        "other_cpu_ms_per_message": round(
            1000 * (machine_cpu - listener_cpu - sender_cpu - postgres_cpu) / total, 3
        ),
        "stored_once": stored == len(control_ids),
        "encounters": encounters,
        "tcm_episodes": episodes,
        "resent": len(resend),
        "resent_answered_aa": resend_codes.count("AA"),
        "stored_after_resend": stored,
    }
    exactly_once = stored == total and encounters == args.visits and episodes == args.visits
    verdict = "PASS" if rate >= TARGET_PER_SECOND and exactly_once and accepted == total else "FAIL"
    print(
        f"ADT ingest over MLLP ({connection.vendor}): {total} messages ({args.visits} admits + discharges) "
        f"over {args.connections} connections, {args.processes} listener process"
        f"{'es' if args.processes != 1 else ''} x {args.workers} "
        f"threads: {seconds:.1f} s, "
        f"{rate:.0f} messages/s acknowledged AA ({accepted}/{total}) "
        f"(target >= {TARGET_PER_SECOND:.0f}/s) -> {verdict}"
    )
    print(
        f"  CPU per message: listener {figures['listener_cpu_ms_per_message']:.2f} ms, sender "
        f"{figures['sender_cpu_ms_per_message']:.2f} ms, the database's server processes "
        f"{figures['postgres_cpu_ms_per_message']:.2f} ms; the rest of the machine (other load) "
        f"{figures['other_cpu_ms_per_message']:.2f} ms"
    )
    print(
        f"  exactly once: {stored} messages stored for {total} sent, {encounters} encounters and "
        f"{episodes} TCM episodes for {args.visits} stays; {len(resend)} resent control ids answered "
        f"{resend_codes.count('AA')} AA and applied no second time"
        + (f"; failures: {figures['failures']}" if figures["failures"] else "")
    )
    if args.count_queries > 0:
        per_admit, per_discharge = queries_per_message(short_code, mrns, args.count_queries, run)
        figures["queries_per_admit"], figures["queries_per_discharge"] = per_admit, per_discharge
        print(
            f"  SQL statements per message applied alone (in-process, {args.count_queries} more stays): "
            f"{per_admit:.1f} per admit (A01), {per_discharge:.1f} per discharge (A03, starting TCM), "
            f"{(per_admit + per_discharge) / 2:.1f} on average"
        )
        in_batch = queries_per_batched_message(short_code, mrns, args.count_queries, run)
        figures["queries_per_message_in_batch"] = in_batch
        print(
            f"  SQL statements per message in a batch of {args.count_queries} admits, then one of their "
            f"{args.count_queries} discharges: {in_batch[0]:.2f} per admit, {in_batch[1]:.2f} per discharge"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if exactly_once and accepted == total else 1


if __name__ == "__main__":
    sys.exit(main())
