"""The front desk at check-in, in a real browser on the seeded demo clinic: the appointment page shows the
co-pay due, the desk checks the patient in, takes the co-pay in cash and opens the receipt."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from caredesk.billing.models import LedgerEntry, PatientPayment
from caredesk.coverage.models import Coverage
from caredesk.scheduling import clock

from .test_scheduling import _plan

pytestmark = pytest.mark.e2e


def test_check_in_shows_the_copay_and_the_desk_takes_it_in_cash(page: Page, sign_in, monkeypatch) -> None:
    plan = _plan()
    coverage = (
        Coverage.objects.filter(
            organization=plan.location.organization,
            status="active",
            order=1,
            plan__copay__isnull=False,
            patient__status="active",
        )
        .select_related("plan", "patient")
        .order_by("pk")
        .first()
    )
    assert coverage is not None, "the demo gives some patients a plan with a co-pay"
    appointment = plan.book(plan.starts[1], coverage.patient)
    early = dt.datetime.combine(plan.day, dt.time(7, 30), tzinfo=ZoneInfo(plan.location.timezone))
    monkeypatch.setattr(clock, "now", lambda: early.astimezone(dt.UTC))

    sign_in("frontdesk")
    page.goto(f"/scheduling/appointments/{appointment.pk}/")
    expect(page.get_by_test_id("copay")).to_contain_text("Co-pay due: $")
    due = page.get_by_label("Amount ($)").input_value()
    assert Decimal(due) > 0
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_test_id("payment-copay")).to_contain_text(f"${due}")

    page.get_by_label("Method").select_option("cash")
    page.get_by_test_id("record-payment").click()
    expect(page.get_by_test_id("payment-recorded")).to_contain_text(f"${due}")

    receipt = page.request.get(page.get_by_test_id("receipt-link").get_attribute("href") or "")
    assert receipt.status == 200
    assert receipt.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.body())).pages)
    assert f"${Decimal(due):,.2f}" in text
    assert coverage.patient.family_name in text
    payment = PatientPayment.objects.get(appointment_id=appointment.pk)
    assert (payment.amount, payment.method) == (Decimal(due), "cash")
    assert LedgerEntry.objects.filter(payment=payment, amount=Decimal(due)).exists()
