"""What the coverage app calls to exchange eligibility (the `coverage.exchange.EligibilityExchange` port):
build the 270, check it, hand it to the payer's clearinghouse route, and read 271s."""

from __future__ import annotations

from django.conf import settings

from caredesk.coverage.schemas import EligibilityInquiry, EligibilityOutcome, Exchanged, InboxFile

from .clearinghouse import Clearinghouse, FileDropClearinghouse, TestPayerClearinghouse
from .envelope import Parties
from .validation import structure_problems
from .x270 import build_270
from .x271 import parse_271

ROUTES: dict[str, type[Clearinghouse]] = {
    "file_drop": FileDropClearinghouse,
    "test_payer": TestPayerClearinghouse,
}


def parties() -> Parties:
    return Parties(
        sender_id=settings.CAREDESK_X12_SENDER_ID,
        receiver_id=settings.CAREDESK_X12_RECEIVER_ID,
        production=settings.CAREDESK_X12_PRODUCTION,
    )


class X12EligibilityExchange:
    def __init__(self) -> None:
        self.file_drop = FileDropClearinghouse()

    def send(self, inquiry: EligibilityInquiry) -> Exchanged:
        text = build_270(inquiry, parties())
        problems = structure_problems(text)
        if problems:
            raise ValueError("The request could not be built correctly: " + "; ".join(problems[:3]))
        route = ROUTES.get(inquiry.route)
        if route is None:
            raise ValueError(f"The payer's clearinghouse route {inquiry.route!r} is not set up.")
        try:
            response = route().submit(inquiry.organization_id, inquiry.trace_number, text)
        except OSError as exc:
            raise ValueError(
                f"The request could not be handed to the clearinghouse: {exc.strerror or exc}."
            ) from exc
        return Exchanged(request_text=text, response_text=response or "")

    def read(self, response_text: str) -> list[EligibilityOutcome]:
        return parse_271(response_text)

    def collect(self, organization_id: int) -> list[InboxFile]:
        return self.file_drop.collect(organization_id)

    def archive(self, organization_id: int, name: str, *, accepted: bool, note: str = "") -> None:
        self.file_drop.archive(organization_id, name, accepted=accepted, note=note)
