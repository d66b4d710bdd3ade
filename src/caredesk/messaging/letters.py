"""Letters from templates: the facts a letter tells (plain values, gathered by services.py), the text a
template makes of them, and the letter as PDF (reportlab) under the organization's letterhead.

Templates are Django templates of plain text in `messaging/templates/messaging/letters/<code>.txt`; the
first line is `Subject: …` (the log entry's subject), the rest the letter (the log entry's body, kept as
sent, so printing the letter again gives the same text).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.template.loader import render_to_string
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from .choices import LetterTemplate

SUBJECT_PREFIX = "Subject:"


@dataclass(frozen=True)
class Letterhead:
    organization: str
    address: str = ""
    phone: str = ""

    @property
    def lines(self) -> list[str]:
        return [line for line in (self.address, f"Phone {self.phone}" if self.phone else "") if line]


@dataclass(frozen=True)
class Addressee:
    name: str
    salutation: str
    address: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppointmentFacts:
    day: str  # "Tuesday, December 1, 2026", in the location's time zone
    time: str  # "9:30 AM EST"
    visit_type: str
    location: str
    address: str = ""
    phone: str = ""
    with_whom: str = ""


@dataclass(frozen=True)
class ReferralFacts:
    to: str
    specialty: str
    reason: str
    urgency: str
    urgent: bool
    phone: str = ""
    address: str = ""
    appointment: str = ""


@dataclass(frozen=True)
class LetterFacts:
    template: str
    letterhead: Letterhead
    patient: Addressee
    today: dt.date
    appointment: AppointmentFacts | None = None
    referral: ReferralFacts | None = None
    balance: Decimal | None = None
    statement_date: dt.date | None = None
    note: str = ""


@dataclass(frozen=True)
class ComposedLetter:
    subject: str
    text: str


def when(moment: dt.datetime, zone: dt.tzinfo) -> tuple[str, str]:
    """An aware time as the day and the time of day in `zone` ("Tuesday, December 1, 2026", "9:30 AM EST")."""
    local = moment.astimezone(zone)
    hour = local.strftime("%I").lstrip("0")
    return f"{local:%A, %B} {local.day}, {local.year}", f"{hour}:{local:%M %p} {local.tzname()}"


def money(amount: Decimal) -> str:
    return f"${amount.quantize(Decimal('0.01')):,}"


def long_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def compose(facts: LetterFacts) -> ComposedLetter:
    """The letter's subject and text from its template (the template must be one of LetterTemplate)."""
    code = LetterTemplate(facts.template).value
    context: dict[str, Any] = {
        "organization": {
            "name": facts.letterhead.organization,
            "phone": facts.letterhead.phone,
        },
        "patient": facts.patient,
        "appointment": facts.appointment,
        "referral": facts.referral,
        "balance": money(facts.balance) if facts.balance is not None else "",
        "statement_date": long_date(facts.statement_date) if facts.statement_date else "",
        "note": facts.note,
    }
    rendered = render_to_string(f"messaging/letters/{code}.txt", context).strip()
    first, _, rest = rendered.partition("\n")
    subject = first.removeprefix(SUBJECT_PREFIX).strip() if first.startswith(SUBJECT_PREFIX) else ""
    body = rest if subject else rendered
    paragraphs = [" ".join(part.split()) for part in body.split("\n\n")]
    lines = [long_date(facts.today), "", facts.patient.name, *facts.patient.address, ""]
    text = "\n".join(lines) + "\n" + "\n\n".join(p for p in paragraphs if p)
    text += f"\n\nSincerely,\n\nYour care team at {facts.letterhead.organization}"
    return ComposedLetter(subject=subject or LetterTemplate(code).label, text=text)


def render_pdf(*, letterhead: Letterhead, text: str, title: str) -> bytes:
    """The letter under the letterhead: the text's blank-line separated blocks become paragraphs, its
    single line breaks are kept."""
    styles = getSampleStyleSheet()
    body = ParagraphStyle("letter", parent=styles["BodyText"], fontSize=11, leading=15)
    head = ParagraphStyle("letterhead", parent=styles["Heading2"], spaceAfter=2)
    small = ParagraphStyle("letterhead-lines", parent=styles["BodyText"], fontSize=9, leading=11)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        title=title,
        author=letterhead.organization,
        leftMargin=inch,
        rightMargin=inch,
        topMargin=0.8 * inch,
    )
    story: list[Any] = [Paragraph(escape(letterhead.organization), head)]
    story += [Paragraph(escape(line), small) for line in letterhead.lines]
    story.append(Spacer(1, 24))
    for block in text.split("\n\n"):
        story.append(Paragraph("<br/>".join(escape(line) for line in block.split("\n")), body))
        story.append(Spacer(1, 6))
    document.build(story)
    return buffer.getvalue()
