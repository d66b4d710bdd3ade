"""X12 claims at volume: 837P batches for 100,000 claim lines, and an 835 with 10,000 claim payments
parsed and posted (target <= 10 s on PostgreSQL). Run by bench/run_all.py on a scratch PostgreSQL database,
or by hand on any migrated database (it builds its own organization, so it can share one):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/caredesk_bench_x12 .venv/bin/python -m bench.x12_claims

Set-up goes through the services (organization, payer and plan, practitioner, the demo code list, patients
and their coverages); the claims are bulk-inserted as ready (two lines each), as a year of charge entry
would leave them. Then, timed:

1. 837P export: `interop.x12.claims.submit_ready_claims` (read the ready claims, build one file per payer
   and 5,000 claims, write it, mark its claims submitted) with pyx12 off; pyx12 is timed on a 500-claim
   batch apart (it validates every batch in `caredesk claims_export`; its rate is printed, as it dominates).
2. 835 import: an 835 paying 10,000 of those claims (paid, patient responsibility, write-offs, a few
   denials) is read (`parse_835` without pyx12) and posted (`billing.services.post_remittance`, one
   transaction, bulk writes): the target. pyx12's validation of the same file is timed apart, and the
   posted result checked (every claim paid or denied once, the ledger balanced).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caredesk.accounts.models import Organization
    from caredesk.core.context import Actor
    from caredesk.coverage.models import Coverage
    from caredesk.practitioners.models import Practitioner

TARGET_835_SECONDS = 10.0
VISIT = dt.date(2026, 11, 2)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caredesk.config.settings")
    import django

    django.setup()


def _world(patients: int) -> tuple[Organization, Actor, list[Coverage], Practitioner]:
    """An organization with everything a claim needs, through the services; returns (org, actor,
    coverages, practitioner)."""
    from caredesk.accounts.models import Location, Organization
    from caredesk.accounts.permissions import Role, permissions_for
    from caredesk.billing import services as billing
    from caredesk.core.context import system_actor
    from caredesk.coverage import services as coverage_services
    from caredesk.coverage.schemas import CoverageInput
    from caredesk.patients import services as patient_services
    from caredesk.patients.schemas import PatientInput
    from caredesk.practitioners.services import PractitionerInput, create_practitioner

    code = f"X{int(time.time() * 1000) % 10_000_000:07d}"
    org = Organization.objects.create(
        name=f"Bench Billing {code}", short_code=code, npi="1234567893", tax_id="12-3456789"
    )
    Location.objects.create(
        organization=org,
        name="Bench Clinic",
        address_line="1 Main St",
        city="Albany",
        state="NY",
        postal_code="12207-1234",
    )
    admin = system_actor(
        organization_id=org.pk, permissions=permissions_for(Role.ADMINISTRATOR), username="bench-admin"
    )
    actor = system_actor(
        organization_id=org.pk, permissions=permissions_for(Role.BILLING), username="bench-billing"
    )
    payer = coverage_services.create_payer(
        actor=actor, name="Acme Health", payer_id="60054", route="file_drop"
    )
    plan = coverage_services.create_plan(actor=actor, payer_id=payer.pk, name="Acme Gold PPO")
    practitioner = create_practitioner(
        actor=admin,
        data=PractitionerInput(
            given_name="Ann", family_name="Smith", npi="1245319599", specialty="family_medicine"
        ),
    )
    codes = Path(billing.__file__).parent / "data" / "demo_procedure_codes.csv"
    billing.load_procedure_codes(actor=actor, text=codes.read_text(), source="demo")
    coverages = []
    for number in range(patients):
        patient = patient_services.register_patient(
            actor=admin,
            data=PatientInput(
                given_name=f"Pat{number:05d}",
                family_name=f"Bench{number % 97:02d}",
                birth_date=dt.date(1950, 1, 1) + dt.timedelta(days=number * 37 % 20000),
                sex="female" if number % 2 else "male",
                address_line1=f"{number + 1} Elm St",
                city="Albany",
                state="NY",
                postal_code="12208",
            ),
            confirm_not_duplicate=True,
        )
        coverages.append(
            coverage_services.add_coverage(
                actor=actor,
                patient_id=patient.pk,
                data=CoverageInput(
                    plan_id=plan.pk,
                    member_id=f"W{number:09d}",
                    group_number="GRP42",
                    effective_from=dt.date(2024, 1, 1),
                ),
            )
        )
    return org, actor, coverages, practitioner


def _ready_claims(
    org: Organization,
    coverages: list[Coverage],
    practitioner: Practitioner,
    claims: int,
    status: str = "ready",
) -> None:
    """`claims` claims (ready, or `status`) of two lines each, bulk-inserted (E11.9 and I10; G0439 and
    G0444)."""
    from caredesk.billing.choices import ClaimStatus
    from caredesk.billing.models import ChargeLine, Claim, ClaimDiagnosis, ProcedureCode

    procedures = {
        p.code: p for p in ProcedureCode.objects.filter(organization=org, code__in=["G0439", "G0444"])
    }
    for start in range(0, claims, 5000):
        rows = [
            Claim(
                organization=org,
                patient_id=coverages[i % len(coverages)].patient_id,
                coverage=coverages[i % len(coverages)],
                rendering_provider=practitioner,
                billing_npi="1234567893",
                status=ClaimStatus(status),
                claim_number=f"B{org.pk}-{i:07d}",
            )
            for i in range(start, min(start + 5000, claims))
        ]
        Claim.objects.bulk_create(rows)
        ClaimDiagnosis.objects.bulk_create(
            [
                ClaimDiagnosis(claim=c, position=n, code=code)
                for c in rows
                for n, code in ((1, "E11.9"), (2, "I10"))
            ]
        )
        ChargeLine.objects.bulk_create(
            [
                line
                for c in rows
                for line in (
                    ChargeLine(
                        claim=c,
                        position=1,
                        procedure=procedures["G0439"],
                        pointer1=1,
                        pointer2=2,
                        charge=Decimal("120.00"),
                        service_date=VISIT,
                    ),
                    ChargeLine(
                        claim=c,
                        position=2,
                        procedure=procedures["G0444"],
                        modifiers=["25"],
                        pointer1=2,
                        units=Decimal("2"),
                        charge=Decimal("40.00"),
                        service_date=VISIT,
                    ),
                )
            ]
        )


def _835(claim_numbers: list[str]) -> str:
    """An 835 paying these claims (each charged 160.00): most paid 100 with a 20 copay and a 40 write-off,
    every 25th denied (CO-16)."""
    from caredesk.interop.x12.envelope import Parties, wrap
    from caredesk.interop.x12.segments import segment
    from caredesk.interop.x12.x835 import VERSION_835

    total = Decimal("0")
    claims: list[str] = []
    for n, number in enumerate(claim_numbers):
        if n % 25 == 24:
            claims += [
                segment("CLP", number, "4", "160", "0", "", "12", f"PCN{n}"),
                segment("CAS", "CO", "16", "160"),
            ]
        else:
            total += 100
            claims += [
                segment("CLP", number, "1", "160", "100", "20", "12", f"PCN{n}"),
                segment("CAS", "CO", "45", "40"),
                segment("CAS", "PR", "2", "20"),
            ]
        claims.append(segment("NM1", "QC", "1", "BENCH", "PAT", "", "", "", "MI", f"W{n:09d}"))
    body = [
        segment(
            "BPR",
            "I",
            str(total),
            "C",
            "ACH",
            "CCP",
            "01",
            "999999992",
            "DA",
            "123456",
            "1600054000",
            "",
            "01",
            "999988880",
            "DA",
            "98765",
            "20261120",
        ),
        segment("TRN", "1", f"EFT{time.time_ns() % 10**12}", "1600054000"),
        segment("DTM", "405", "20261120"),
        segment("N1", "PR", "ACME HEALTH"),
        segment("N3", "PO BOX 1"),
        segment("N4", "ALBANY", "NY", "12207"),
        segment("PER", "BL", "PROVIDER SERVICES", "TE", "5185550100"),
        segment("N1", "PE", "BENCH BILLING", "XX", "1234567893"),
        segment("LX", "1"),
        *claims,
    ]
    text = wrap(
        transaction="835",
        functional_code="HP",
        body=body,
        parties=Parties(sender_id="ACMEHEALTH", receiver_id="BENCH"),
        control_number=4321,
        when=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC),
        version=VERSION_835,
    )
    # The 835 guide marks ST03 "not used"; GS08 carries the version.
    return text.replace(f"*{VERSION_835}~", "~").replace("*X~", f"*X*{VERSION_835}~", 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=100_000, help="claim lines to export (default 100000)")
    parser.add_argument(
        "--payments", type=int, default=10_000, help="claim payments in the 835 (default 10000)"
    )
    parser.add_argument(
        "--patients", type=int, default=200, help="patients the claims belong to (default 200)"
    )
    parser.add_argument(
        "--remittance-only",
        action="store_true",
        help="skip the 837P export: the claims the 835 pays are inserted as submitted",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    _setup()
    from django.db import connection
    from django.db.models import Count

    from caredesk.billing import services as billing
    from caredesk.billing.choices import ClaimStatus, LedgerKind
    from caredesk.billing.models import Claim, LedgerEntry
    from caredesk.interop.x12.claim_837p import pyx12_problems_837p
    from caredesk.interop.x12.claims import submit_ready_claims
    from caredesk.interop.x12.x835 import parse_835, pyx12_problems_835

    claims = args.payments if args.remittance_only else args.lines // 2
    print(
        f"x12 claims bench on {connection.vendor}: {args.patients} patients, "
        f"{claims:,} claims, {claims * 2:,} lines"
    )
    started = time.perf_counter()
    org, actor, coverages, practitioner = _world(args.patients)
    _ready_claims(org, coverages, practitioner, claims, "submitted" if args.remittance_only else "ready")
    print(f"  set-up: {time.perf_counter() - started:.1f} s", flush=True)

    figures: dict[str, object] = {"database": connection.vendor}
    if not args.remittance_only:
        # 1. 837P export: pyx12 timed on a 500-claim batch first (it validates every batch in claims_export)
        from caredesk.interop.x12.claim_837p import build_837p
        from caredesk.interop.x12.claims import RECEIVER_ID, build_batches
        from caredesk.interop.x12.envelope import Parties

        _payer, _ids, sample_batch = build_batches(actor=actor, max_claims=500)[0]
        sample = build_837p(
            sample_batch, Parties(sender_id=sample_batch.submitter_id, receiver_id=RECEIVER_ID)
        )
        started = time.perf_counter()
        problems = pyx12_problems_837p(sample)
        pyx12_837_seconds = time.perf_counter() - started
        sample_claims = len(sample_batch.claims)
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            written = submit_ready_claims(actor=actor, out_dir=Path(out), validate=False)
            export_seconds = time.perf_counter() - started
            exported = sum(len(w.claim_ids) for w in written)
            sizes = sum(w.path.stat().st_size for w in written)
        lines_per_second = exported * 2 / export_seconds
        print(
            f"  837P export: {exported * 2:,} lines in {exported:,} claims, {len(written)} files "
            f"({sizes / 1e6:.1f} MB) "
            f"in {export_seconds:.1f} s = {lines_per_second:,.0f} lines/s "
            "(read, build, write, mark submitted)"
        )
        pyx12_lines_per_second = sample_claims * 2 / pyx12_837_seconds
        print(
            f"  pyx12 on a {sample_claims:,}-claim batch: {pyx12_837_seconds:.1f} s = "
            f"{pyx12_lines_per_second:,.0f} lines/s, "
            f"{'valid' if not problems else 'INVALID: ' + problems[0]}; "
            f"all {exported * 2:,} lines: "
            f"~{exported * 2 / pyx12_lines_per_second:.0f} s"
        )
        figures.update(
            {
                "export_lines": exported * 2,
                "export_claims": exported,
                "export_files": len(written),
                "export_seconds": round(export_seconds, 2),
                "export_lines_per_second": round(lines_per_second),
                "pyx12_837_lines_per_second": round(pyx12_lines_per_second),
            }
        )

    # 2. 835 import
    numbers = list(
        Claim.objects.filter(organization=org, status=ClaimStatus.SUBMITTED)
        .order_by("pk")
        .values_list("claim_number", flat=True)[: args.payments]
    )
    text = _835(numbers)
    cpu_started = time.process_time()
    started = time.perf_counter()
    remittance = parse_835(text, validate=False)
    parse_seconds = time.perf_counter() - started
    started = time.perf_counter()
    posted = billing.post_remittance(actor=actor, remittance=remittance, file_name="bench.835")
    post_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    total = parse_seconds + post_seconds
    started = time.perf_counter()
    pyx12_835 = pyx12_problems_835(text)
    pyx12_835_seconds = time.perf_counter() - started
    statuses = dict(
        Claim.objects.filter(claim_number__in=numbers, organization=org)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    payments = LedgerEntry.objects.filter(claim__organization=org, kind=LedgerKind.PAYMENT).count()
    denied_expected = len(numbers) // 25
    correct = (
        statuses.get(ClaimStatus.PAID, 0) == len(numbers) - denied_expected
        and statuses.get(ClaimStatus.DENIED, 0) == denied_expected
        and payments == len(numbers) - denied_expected
        and not posted.unmatched
    )
    verdict = "PASS" if total <= TARGET_835_SECONDS and correct else "FAIL"
    print(
        f"  835 with {len(numbers):,} claim payments: parse {parse_seconds:.2f} s + post "
        f"{post_seconds:.2f} s = {total:.2f} s = {len(numbers) / total:,.0f} payments/s "
        f"(target <= {TARGET_835_SECONDS:.0f} s) -> {verdict}"
    )
    print(
        f"    this process's CPU time for parse + post: {cpu_seconds:.2f} s (the rest of the wall clock is "
        f"the database and waiting for a CPU; load average now {os.getloadavg()[0]:.1f})"
    )
    print(
        f"    posted: {statuses.get(ClaimStatus.PAID, 0):,} paid, "
        f"{statuses.get(ClaimStatus.DENIED, 0):,} denied, "
        f"{payments:,} payment rows, {len(posted.unmatched)} unmatched: {'correct' if correct else 'WRONG'}"
    )
    print(
        f"  pyx12 on the 835 (run before posting by x12_import): {pyx12_835_seconds:.1f} s = "
        f"{len(numbers) / pyx12_835_seconds:,.0f} payments/s, "
        f"{'valid' if not pyx12_835 else 'INVALID: ' + pyx12_835[0]}"
    )
    figures |= {
        "remittance_payments": len(numbers),
        "remittance_parse_seconds": round(parse_seconds, 2),
        "remittance_post_seconds": round(post_seconds, 2),
        "remittance_seconds": round(total, 2),
        "remittance_payments_per_second": round(len(numbers) / total),
        "remittance_correct": correct,
        "remittance_cpu_seconds": round(cpu_seconds, 2),
        "load_average": round(os.getloadavg()[0], 1),
        "pyx12_835_seconds": round(pyx12_835_seconds, 2),
        "target_seconds": TARGET_835_SECONDS,
        "passed": verdict == "PASS",
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
