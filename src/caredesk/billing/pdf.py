"""Patient-facing money documents as PDF (reportlab's platypus layout): a payment receipt and a statement
with the account's lines, payments, aging and amount due."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .choices import PaymentMethod, PaymentPurpose

if TYPE_CHECKING:
    from .models import PatientPayment
    from .patient_accounts import Account


def money(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


_GRID = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
    ]
)


def _document(buffer: io.BytesIO, title: str, author: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer, pagesize=LETTER, title=title, author=author, leftMargin=0.8 * inch, rightMargin=0.8 * inch
    )


def render_receipt(*, payment: PatientPayment, patient_name: str, organization: str) -> bytes:
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    buffer = io.BytesIO()
    document = _document(buffer, f"Receipt {payment.receipt_number}", organization)
    received = payment.received_at.astimezone(dt.UTC)
    rows = [
        ["Receipt", payment.receipt_number],
        ["Patient", patient_name],
        ["Received", f"{received:%B %d, %Y %H:%M} UTC"],
        ["For", PaymentPurpose(payment.purpose).label],
        ["Paid by", PaymentMethod(payment.method).label],
    ]
    if payment.reference:
        rows.append(["Reference", payment.reference])
    rows += [["Amount paid", money(payment.amount)], ["Taken by", payment.actor_name]]
    table = Table(rows, colWidths=[1.6 * inch, 4.6 * inch])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey)]))
    story: list[object] = [
        _p(f"{organization}", styles["Title"]),
        _p("Payment receipt", styles["Heading2"]),
        table,
        Spacer(1, 12),
        _p("Thank you. Keep this receipt for your records.", body),
    ]
    document.build(story)
    return buffer.getvalue()


def render_statement(
    *,
    account: Account,
    patient_name: str,
    patient_address: str,
    mrn: str,
    organization: str,
    today: dt.date,
) -> bytes:
    styles = getSampleStyleSheet()
    body, heading = styles["BodyText"], styles["Heading2"]
    buffer = io.BytesIO()
    document = _document(buffer, f"Statement for {patient_name}", organization)
    story: list[object] = [
        _p(f"{organization}", styles["Title"]),
        _p(f"Statement of {today:%B %d, %Y}", heading),
        _p(f"{patient_name} (account {mrn})\n{patient_address}", body),
        Spacer(1, 12),
        _p(f"Amount due: {money(account.balance)}", styles["Heading1"]),
        _p("Account activity", heading),
    ]
    rows: list[list[object]] = [["Date", "Description", "Amount", "Balance"]]
    for line in account.lines:
        rows.append(
            [f"{line.day:%Y-%m-%d}", _p(line.description, body), money(line.amount), money(line.balance)]
        )
    if len(rows) == 1:
        rows.append(["", "No activity", "", money(Decimal("0.00"))])
    table = Table(rows, colWidths=[0.95 * inch, 3.65 * inch, 0.95 * inch, 0.95 * inch], repeatRows=1)
    table.setStyle(_GRID)
    table.setStyle(TableStyle([("ALIGN", (2, 1), (3, -1), "RIGHT")]))
    story += [table, Spacer(1, 12), _p("Payment history", heading)]
    if account.payments:
        paid: list[list[object]] = [["Date", "Receipt", "Method", "Amount"]]
        for payment in account.payments:
            paid.append(
                [
                    f"{payment.received_at.astimezone(dt.UTC):%Y-%m-%d}",
                    payment.receipt_number,
                    PaymentMethod(payment.method).label,
                    money(payment.amount),
                ]
            )
        paid_table = Table(paid, colWidths=[0.95 * inch, 1.6 * inch, 1.6 * inch, 1.2 * inch], repeatRows=1)
        paid_table.setStyle(_GRID)
        story.append(paid_table)
    else:
        story.append(_p("No payments received.", body))
    story += [Spacer(1, 12), _p("Aging of the amount due", heading)]
    aging_rows: list[list[str]] = [
        [label for label, _ in account.aging.rows()] + ["Amount due"],
        [money(amount) for _, amount in account.aging.rows()] + [money(account.balance)],
    ]
    aging_table = Table(aging_rows, colWidths=[1.25 * inch] * 5)
    aging_table.setStyle(_GRID)
    aging_table.setStyle(TableStyle([("ALIGN", (0, 1), (-1, -1), "RIGHT")]))
    story += [
        aging_table,
        Spacer(1, 12),
        _p(
            "Please pay the amount due at the front desk or call our billing office with questions "
            "about this statement.",
            body,
        ),
    ]
    document.build(story)
    return buffer.getvalue()
