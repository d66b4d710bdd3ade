"""The billing reports: A/R aging by payer, denial rate by reason and collections per period. Every figure on
the page and in the CSV exports must agree with the ledger, summed here independently of the report code."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import payments, report_rules, services
from caredesk.billing.choices import ClaimStatus, LedgerKind
from caredesk.billing.models import Claim, LedgerEntry, RemittanceClaim
from caredesk.billing.schemas import Adjustment, ClaimPayment, LineInput, Remittance
from caredesk.coverage import services as coverage_services
from caredesk.coverage.schemas import CoverageInput

from .conftest import BillingClinic

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 20)
FORMULA_PAYER = '=HYPERLINK("http://evil.example","Click")'
ZERO = Decimal("0.00")


def _submitted(clinic: BillingClinic, served: dt.date, coverage_id: int | None = None) -> Claim:
    data = clinic.charges(
        lines=(LineInput(procedure_code="G0439", service_date=served, diagnosis_pointers=(1, 2)),),
        coverage_id=coverage_id or clinic.coverage.pk,
    )
    claim = services.enter_charges(actor=clinic.billing, data=data)
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="batch.837")
    claim.refresh_from_db()
    return claim


def _charge(claim: Claim) -> Decimal:
    return sum((line.charge for line in claim.lines.all()), ZERO)


def _post(clinic: BillingClinic, trace: str, *answers: ClaimPayment) -> None:
    services.post_remittance(
        actor=clinic.billing,
        remittance=Remittance(
            payer_name="Acme Health",
            payer_id="60054",
            payee_name="Riverside Health",
            payee_id="1234567893",
            trace_number=trace,
            payment_method="ACH",
            payment_date=AS_OF,
            total_paid=sum((a.paid for a in answers), ZERO),
            claims=answers,
        ),
    )


@dataclass
class Books:
    clinic: BillingClinic
    claims: dict[str, Claim]


@pytest.fixture
def books(clinic: BillingClinic) -> Books:
    """Five submitted claims of different ages and outcomes, a second (formula-named) payer, and a patient
    payment: enough for every bucket, two denial reasons and both kinds of collections."""
    payer = coverage_services.create_payer(
        actor=clinic.billing, name=FORMULA_PAYER, payer_id="EVIL1", route="file_drop"
    )
    plan = coverage_services.create_plan(actor=clinic.billing, payer_id=payer.pk, name="Trap plan")
    second = coverage_services.add_coverage(
        actor=clinic.billing,
        patient_id=clinic.patient.pk,
        data=CoverageInput(plan_id=plan.pk, member_id="EV1", order=2, effective_from=dt.date(2024, 1, 1)),
    )
    claims = {
        "unpaid": _submitted(clinic, dt.date(2026, 11, 2)),  # 18 days old
        "paid": _submitted(clinic, dt.date(2026, 9, 30)),  # 51 days
        "denied": _submitted(clinic, dt.date(2026, 8, 25)),  # 87 days
        "zero_paid": _submitted(clinic, dt.date(2026, 8, 1)),  # 111 days
        "other_payer": _submitted(clinic, dt.date(2026, 6, 1), coverage_id=second.pk),  # 172 days
    }
    paid = claims["paid"]
    denied = claims["denied"]
    zero = claims["zero_paid"]
    _post(
        clinic,
        "TRACE-1",
        ClaimPayment(
            paid.claim_number,
            "1",
            _charge(paid),
            Decimal("60.00"),
            patient_responsibility=Decimal("20.00"),
            adjustments=(
                Adjustment("CO", "45", _charge(paid) - Decimal("80.00")),
                Adjustment("PR", "2", Decimal("20.00")),
            ),
        ),
        ClaimPayment(
            denied.claim_number,
            "4",
            _charge(denied),
            ZERO,
            adjustments=(Adjustment("CO", "50", _charge(denied)),),
        ),
    )
    _post(
        clinic,
        "TRACE-2",
        ClaimPayment(
            zero.claim_number,
            "1",
            _charge(zero),
            ZERO,
            adjustments=(
                Adjustment("CO", "16", _charge(zero) - Decimal("5.00")),
                Adjustment("OA", "23", Decimal("5.00")),
            ),
        ),
    )
    payments.record_payment(
        actor=clinic.billing, patient_id=clinic.patient.pk, amount=Decimal("15.00"), method="cash"
    )
    return Books(clinic, claims)


# --- the ledger, summed independently ----------------------------------------------------------------


def _bucket(days: int) -> int:
    return 0 if days <= 30 else 1 if days <= 60 else 2 if days <= 90 else 3


def _expected_aging(as_of: dt.date) -> tuple[dict[str, list[Decimal]], Decimal]:
    """Insurance balance per payer name and bucket, straight from ledger rows; and the patients' total."""
    payers: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * 4)
    patient_total = ZERO
    for claim in Claim.objects.select_related("coverage__plan__payer"):
        rows = list(LedgerEntry.objects.filter(claim=claim))
        if not rows:
            continue
        by_kind: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for row in rows:
            by_kind[row.kind] += row.amount
        insurance = (
            by_kind[LedgerKind.CHARGE]
            - by_kind[LedgerKind.PAYMENT]
            - by_kind[LedgerKind.ADJUSTMENT]
            - by_kind[LedgerKind.PATIENT_RESPONSIBILITY]
        )
        served = min(line.service_date for line in claim.lines.all())
        if insurance:
            payers[claim.coverage.plan.payer.name][_bucket((as_of - served).days)] += insurance
        patient_total += by_kind[LedgerKind.PATIENT_RESPONSIBILITY]
    for row in LedgerEntry.objects.filter(kind=LedgerKind.PATIENT_PAYMENT):
        patient_total -= row.amount
    return dict(payers), patient_total


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def _client(clinic: BillingClinic, make_user, role: str = Role.BILLING) -> Client:
    client = Client()
    client.force_login(make_user(role, clinic.org))
    return client


# --- aging -------------------------------------------------------------------------------------------


def test_aging_agrees_with_the_ledger_on_the_page_and_in_the_csv(books: Books, make_user) -> None:
    clinic = books.clinic
    expected, patient_total = _expected_aging(AS_OF)
    # The fixture's claims land where they should: the unpaid Acme claim in 0-30 (the others of Acme are
    # settled or adjusted away), the other payer's claim in 90+.
    assert expected["Acme Health"][0] == _charge(books.claims["unpaid"])
    assert expected[FORMULA_PAYER][3] == _charge(books.claims["other_payer"])
    assert patient_total == Decimal("5.00")  # 20.00 responsibility less the 15.00 paid

    client = _client(clinic, make_user)
    page = client.get("/billing/reports/", {"as_of": AS_OF.isoformat()})
    assert page.status_code == 200
    report = page.context["aging"]
    shown = {row.label: row.amounts for row in report.payers}
    assert shown == expected
    assert report.patient.total == patient_total
    assert report.patient.amounts[1] == patient_total  # the 51-day-old claim's responsibility
    grand = sum((sum(v, ZERO) for v in expected.values()), ZERO) + patient_total
    assert f'data-testid="aging-total">{grand}<' in page.content.decode()

    exported = client.get("/billing/reports/aging.csv", {"as_of": AS_OF.isoformat()})
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("text/csv")
    rows = _csv_rows(exported)
    assert rows[0][:6] == ["payer", "payer record", "0-30 days", "31-60 days", "61-90 days", "90+ days"]
    by_label = {row[0]: row for row in rows[1:]}
    acme = by_label["Acme Health"]
    assert [Decimal(v) for v in acme[2:6]] == expected["Acme Health"]
    assert Decimal(by_label["Patient responsibility"][6]) == patient_total
    assert Decimal(by_label["Total"][6]) == grand
    # The payer's name starts with "=": the cell is written as text, never as a formula.
    guarded = [row for row in rows if "HYPERLINK" in row[0]]
    assert len(guarded) == 1
    assert guarded[0][0] == "'" + FORMULA_PAYER
    assert [Decimal(v) for v in guarded[0][2:6]] == expected[FORMULA_PAYER]


def test_aging_as_of_a_later_day_moves_balances_to_older_buckets(books: Books, make_user) -> None:
    later = AS_OF + dt.timedelta(days=45)
    expected, _ = _expected_aging(later)
    page = _client(books.clinic, make_user).get("/billing/reports/", {"as_of": later.isoformat()})
    assert {row.label: row.amounts for row in page.context["aging"].payers} == expected
    assert expected["Acme Health"][0] == ZERO  # the 18-day-old claim is now 63 days old
    assert expected["Acme Health"][2] == _charge(books.claims["unpaid"])


# --- denials -----------------------------------------------------------------------------------------


def test_denial_rate_by_reason_agrees_with_the_remittances_and_ledger(books: Books, make_user) -> None:
    today = timezone.localdate()
    # Independently: a claim payment is a denial when CLP02 is 4, or nothing was paid, nothing moved to
    # the patient and the payer adjusted something.
    answers = list(RemittanceClaim.objects.exclude(status_code="22"))
    denied = [
        a
        for a in answers
        if a.status_code == "4"
        or (
            a.paid == 0
            and a.patient_responsibility == 0
            and LedgerEntry.objects.filter(remittance_claim=a, kind=LedgerKind.ADJUSTMENT, amount__gt=0)
            .exclude(group="PR")
            .exists()
        )
    ]
    by_reason: dict[str, tuple[int, Decimal]] = {}
    for answer in denied:
        for entry in LedgerEntry.objects.filter(remittance_claim=answer, kind=LedgerKind.ADJUSTMENT).exclude(
            group="PR"
        ):
            count, amount = by_reason.get(entry.reason, (0, ZERO))
            by_reason[entry.reason] = (count + 1, amount + entry.amount)
    assert len(answers) == 3
    assert len(denied) == 2
    assert set(by_reason) == {"50", "16", "23"}

    client = _client(books.clinic, make_user, Role.COORDINATOR)
    criteria = {"start": today.isoformat(), "end": today.isoformat()}
    page = client.get("/billing/reports/", criteria)
    report = page.context["denials"]
    assert (report.adjudicated, report.denied) == (3, 2)
    assert {r.reason: (r.claims, r.amount) for r in report.rows} == by_reason
    html = page.content.decode()
    assert "not deemed a medical necessity by the payer" in html  # CARC 50 in plain words
    assert "the claim lacks information or has billing errors" in html  # CARC 16

    rows = _csv_rows(client.get("/billing/reports/denials.csv", criteria))
    assert rows[0] == [
        "reason",
        "description",
        "denied claims",
        "amount",
        "rate percent",
        "adjudicated claims",
    ]
    exported = {row[0]: row for row in rows[1:]}
    for reason, (count, amount) in by_reason.items():
        assert int(exported[reason][2]) == count
        assert Decimal(exported[reason][3]) == amount
        assert Decimal(exported[reason][4]) == (Decimal(count * 100) / 3).quantize(Decimal("0.1"))
    assert exported["all"][2] == "2"
    assert exported["all"][4] == "66.7"

    # Another window holds none of it.
    earlier = {"start": "2025-01-01", "end": "2025-01-31"}
    assert client.get("/billing/reports/", earlier).context["denials"].adjudicated == 0


# --- collections -------------------------------------------------------------------------------------


def test_collections_by_month_and_week_agree_with_the_ledger(books: Books, make_user) -> None:
    today = timezone.localdate()
    insurance = sum((e.amount for e in LedgerEntry.objects.filter(kind=LedgerKind.PAYMENT)), ZERO)
    patient = sum((e.amount for e in LedgerEntry.objects.filter(kind=LedgerKind.PATIENT_PAYMENT)), ZERO)
    assert (insurance, patient) == (Decimal("60.00"), Decimal("15.00"))
    client = _client(books.clinic, make_user)
    start = today - dt.timedelta(days=70)
    for period in ("month", "week"):
        criteria = {"start": start.isoformat(), "end": today.isoformat(), "period": period}
        report = client.get("/billing/reports/", criteria).context["collections"]
        current = report_rules.period_start(today, period)
        assert report.rows[-1].start == current
        assert (report.rows[-1].insurance, report.rows[-1].patient) == (insurance, patient)
        assert all(r.total == 0 for r in report.rows[:-1])
        assert report.rows[0].start == report_rules.period_start(start, period)
        rows = _csv_rows(client.get("/billing/reports/collections.csv", criteria))
        assert rows[0] == [period, "insurance payments", "patient payments", "total"]
        assert rows[-1] == ["Total", str(insurance), str(patient), str(insurance + patient)]
        assert len(rows) == len(report.rows) + 2


# --- the page ----------------------------------------------------------------------------------------


def test_the_page_draws_accessible_charts_and_is_linked_from_the_claims(books: Books, make_user) -> None:
    client = _client(books.clinic, make_user)
    assert 'href="/billing/reports/"' in client.get("/billing/claims/").content.decode()
    html = client.get("/billing/reports/", {"as_of": AS_OF.isoformat()}).content.decode()
    for chart in ("aging", "denials", "collections"):
        assert f'data-testid="{chart}-chart"' in html
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
        assert f'<title id="{chart}-title">' in html
        assert f'<desc id="{chart}-desc">' in html
        assert f'data-testid="{chart}-table"' in html
    # One bar per aging row (two payers and the patients), its value in the bar's title.
    assert html.count("<title>Acme Health: ") == 1
    assert "<title>Patient responsibility: 5.00</title>" in html
    assert AuditEvent.objects.filter(action=AuditAction.BILLING_REPORT_VIEW).count() == 3
    client.get("/billing/reports/aging.csv")
    assert AuditEvent.objects.filter(action=AuditAction.BILLING_REPORT_EXPORT).count() == 1


def test_bad_criteria_answer_400_and_other_roles_are_refused(books: Books, make_user) -> None:
    client = _client(books.clinic, make_user)
    before = AuditEvent.objects.count()
    bad = client.get("/billing/reports/", {"start": "2026-13-01"})
    assert bad.status_code == 400
    assert "start must be a date" in bad.content.decode()
    assert client.get("/billing/reports/", {"start": "2026-05-01", "end": "2026-04-01"}).status_code == 400
    assert client.get("/billing/reports/collections.csv", {"period": "decade"}).status_code == 400
    assert (
        client.get("/billing/reports/denials.csv", {"start": "2020-01-01", "end": "2026-01-01"}).status_code
        == 400
    )
    assert AuditEvent.objects.count() == before  # nothing was read, nothing recorded
    assert _client(books.clinic, make_user, Role.FRONT_DESK).get("/billing/reports/").status_code == 403


def test_another_organization_sees_none_of_it(books: Books, other_clinic: BillingClinic, make_user) -> None:
    client = _client(other_clinic, make_user)
    page = client.get("/billing/reports/", {"as_of": AS_OF.isoformat()})
    assert page.context["aging"].total == ZERO
    assert page.context["denials"].adjudicated == 0
    assert page.context["collections"].total == ZERO


# --- the arithmetic ----------------------------------------------------------------------------------


def test_patient_payments_pay_the_oldest_balance_first_and_a_surplus_is_a_credit() -> None:
    owed = [(10, Decimal("30.00")), (100, Decimal("20.00")), (45, Decimal("10.00"))]
    assert report_rules.patient_buckets(owed, Decimal("25.00")) == [
        Decimal("30.00"),
        Decimal("5.00"),
        ZERO,
        ZERO,
    ]
    assert report_rules.patient_buckets(owed, Decimal("70.00")) == [Decimal("-10.00"), ZERO, ZERO, ZERO]
    assert [report_rules.bucket_index(d) for d in (-3, 0, 30, 31, 60, 61, 90, 91)] == [0, 0, 0, 1, 1, 2, 2, 3]


def test_bars_stack_their_series_and_scale_to_the_largest_row() -> None:
    drawn = report_rules.bars(
        [
            ("Jan", [Decimal("30.00"), Decimal("10.00")]),
            ("Feb", [Decimal("20.00"), ZERO]),
            ("Rate", [Decimal("33.3")]),
        ],
        width=400,
    )
    assert [(s.x, s.width) for s in drawn[0].segments] == [(0, 300), (300, 100)]
    assert [(s.x, s.width) for s in drawn[1].segments] == [(0, 200), (200, 0)]
    assert [b.y for b in drawn] == [0, 26, 52]
    assert (drawn[0].value, drawn[0].text_x) == (Decimal("40.00"), 404)
    assert str(drawn[2].value) == "33.3"
    assert report_rules.bars([("Credit", [Decimal("-5.00")])])[0].segments[0].width == 0
