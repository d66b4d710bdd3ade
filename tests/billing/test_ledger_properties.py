"""Properties of the claim ledger, for any sequence of remittances posted on a claim:

- the balance is always charges - payments - adjustments, summed from the append-only ledger rows, and
  the patient's part is exactly the PR adjustments;
- posting the same remittances again (same payer and trace number) leaves the ledger as posting them once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim, LedgerEntry
from caredesk.billing.schemas import Adjustment, ClaimPayment, Remittance

from .conftest import BillingClinic

cents = st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=2)
adjustments = st.lists(
    st.builds(
        Adjustment,
        group=st.sampled_from(["CO", "PR", "OA", "PI", "CR"]),
        reason=st.sampled_from(["1", "2", "3", "16", "45", "50", "253"]),
        amount=cents,
    ),
    max_size=4,
)
payments = st.tuples(st.sampled_from(["1", "2", "4", "22", "19"]), cents, adjustments)
remittances = st.lists(st.lists(payments, min_size=1, max_size=3), min_size=1, max_size=5)


def _remittance(claim: Claim, number: int, rows: list[tuple[str, Decimal, list[Adjustment]]]) -> Remittance:
    return Remittance(
        payer_name="ACME HEALTH",
        payer_id="1600054000",
        payee_name="RIVERSIDE HEALTH",
        payee_id="1234567893",
        trace_number=f"PROP{number}",
        payment_method="ACH",
        payment_date=dt.date(2026, 11, 20),
        total_paid=sum((paid for _s, paid, _a in rows), Decimal("0")),
        claims=tuple(
            ClaimPayment(
                claim_number=claim.claim_number,
                status_code=status,
                charge=Decimal("100.00"),
                paid=paid,
                patient_responsibility=sum((a.amount for a in adj if a.group == "PR"), Decimal("0")),
                adjustments=tuple(adj),
            )
            for status, paid, adj in rows
        ),
    )


def _ledger(claim: Claim) -> list[tuple[str, Decimal, str, str]]:
    return list(
        LedgerEntry.objects.filter(claim=claim)
        .order_by("pk")
        .values_list("kind", "amount", "group", "reason")
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=remittances)
def test_the_balance_is_charges_less_payments_less_adjustments(
    clinic: BillingClinic, sequence: list[list[tuple[str, Decimal, list[Adjustment]]]]
) -> None:
    with transaction.atomic():
        claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
        services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
        services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="p.837")
        charges = sum((line.charge for line in claim.lines.all()), Decimal("0"))

        for number, rows in enumerate(sequence):
            services.post_remittance(actor=clinic.billing, remittance=_remittance(claim, number, rows))
        once = _ledger(claim)
        for number, rows in enumerate(sequence):  # the same files again
            again = services.post_remittance(
                actor=clinic.billing, remittance=_remittance(claim, number, rows)
            )
            assert again.duplicate
        assert _ledger(claim) == once

        every = [(paid, adj) for rows in sequence for _s, paid, adj in rows]
        paid = sum((p for p, _a in every), Decimal("0"))
        adjusted = sum((a.amount for _p, adj in every for a in adj if a.group != "PR"), Decimal("0"))
        patient = sum((a.amount for _p, adj in every for a in adj if a.group == "PR"), Decimal("0"))
        balance = services.claim_balance(actor=clinic.billing, claim_id=claim.pk)
        assert balance.charges == charges
        assert balance.payments == paid
        assert balance.adjustments == adjusted
        assert balance.patient_responsibility == patient
        assert balance.balance == charges - paid - adjusted
        transaction.set_rollback(True)
