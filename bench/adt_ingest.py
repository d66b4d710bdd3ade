"""ADT ingest over MLLP: messages per second sustained with ACKs, each applied exactly once.

Starts `caredesk hl7_listen` as its own process against the database the environment selects (run by
bench/run_all.py on a scratch database that holds the demo, or by hand):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/caredesk_bench .venv/bin/python -m bench.adt_ingest

`--visits` inpatient stays are admitted (A01) and discharged home (A03, which starts TCM: three worklist
tasks per discharge), for registered patients matched by MRN. `--connections` senders each keep one
message in flight (send, wait for the ACK, send the next: MLLP's usual discipline), the listener applies
them with `--workers` threads. Throughput is messages acknowledged AA per second of wall clock, from the
first send to the last ACK.

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
import socket
import subprocess
import sys
import threading
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


def _read_ack(sock: socket.socket, buffer: bytearray) -> str:
    while (end := buffer.find(FS + CR)) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the listener closed the connection")
        buffer.extend(chunk)
    frame = bytes(buffer[: end + 2])
    del buffer[: end + 2]
    text = frame.strip(VT + FS + CR).decode("utf-8", "replace")
    msa = next((line for line in text.split("\r") if line.startswith("MSA|")), "")
    return msa.split("|")[1] if "|" in msa else "??"


def _sender(port: int, messages: list[bytes], codes: list[str], failures: list[str]) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            buffer = bytearray()
            for payload in messages:
                sock.sendall(payload)
                codes.append(_read_ack(sock, buffer))
    except Exception as exc:  # reported in the figures
        failures.append(repr(exc))


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


def _send_all(port: int, per_connection: list[list[bytes]]) -> tuple[float, list[str], list[str]]:
    codes: list[list[str]] = [[] for _ in per_connection]
    failures: list[str] = []
    threads = [
        threading.Thread(target=_sender, args=(port, batch, codes[i], failures))
        for i, batch in enumerate(per_connection)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, [c for batch in codes for c in batch], failures


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visits", type=int, default=2000, help="stays: two messages each (default 2000)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent MLLP senders (default 16)")
    parser.add_argument(
        "--processes", type=int, default=2, help="listener processes on the port (default 2: one per core)"
    )
    parser.add_argument("--workers", type=int, default=4, help="listener threads per process (default 4)")
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
            "-v0",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(listener, args.processes)
        seconds, codes, failures = _send_all(port, per_connection)
        rng = random.Random(7)
        resend = rng.sample(range(len(admits)), min(100, len(admits)))
        _, resend_codes, resend_failures = _send_all(port, [[admits[i] for i in resend]])
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
        "seconds": round(seconds, 3),
        "acknowledged_aa": accepted,
        "other_acks": sorted({c for c in codes if c != "AA"}),
        "failures": failures + resend_failures,
        "messages_per_second": round(rate, 1),
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
        f"  exactly once: {stored} messages stored for {total} sent, {encounters} encounters and "
        f"{episodes} TCM episodes for {args.visits} stays; {len(resend)} resent control ids answered "
        f"{resend_codes.count('AA')} AA and applied no second time"
        + (f"; failures: {figures['failures']}" if figures["failures"] else "")
    )
    if args.count_queries > 0:
        per_admit, per_discharge = queries_per_message(short_code, mrns, args.count_queries, run)
        figures["queries_per_admit"], figures["queries_per_discharge"] = per_admit, per_discharge
        print(
            f"  SQL statements per message (in-process, {args.count_queries} more stays): "
            f"{per_admit:.1f} per admit (A01), {per_discharge:.1f} per discharge (A03, starting TCM), "
            f"{(per_admit + per_discharge) / 2:.1f} on average"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if exactly_once and accepted == total else 1


if __name__ == "__main__":
    sys.exit(main())
