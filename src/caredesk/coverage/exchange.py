"""The port through which eligibility requests leave and answers come back.

The coverage app owns the use cases and the records; building 270s, reading 271s and talking to
clearinghouses is interop's job (interop.x12), and domain apps never import interop. So the coverage app
names what it needs here, and settings.CAREDESK_ELIGIBILITY_EXCHANGE names the class that provides it
(`caredesk.interop.x12.exchange.X12EligibilityExchange`): dependencies still point one way.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from .schemas import EligibilityInquiry, EligibilityOutcome, Exchanged, InboxFile


class EligibilityExchange(Protocol):
    def send(self, inquiry: EligibilityInquiry) -> Exchanged:
        """Send one request (raises ValueError with a plain message when it cannot be built or sent)."""
        ...

    def read(self, response_text: str) -> list[EligibilityOutcome]:
        """Read a response file (raises ValueError naming the segment and line when it is malformed)."""
        ...

    def collect(self, organization_id: int) -> list[InboxFile]:
        """Response files waiting in the organization's file-drop inbox."""
        ...

    def archive(self, organization_id: int, name: str, *, accepted: bool, note: str = "") -> None:
        """Move an inbox file out of the way once it is recorded (or refused, with why)."""
        ...


@cache
def _exchange_class(path: str) -> type[EligibilityExchange]:
    found: type[EligibilityExchange] = import_string(path)
    return found


def get_exchange() -> EligibilityExchange:
    return _exchange_class(settings.CAREDESK_ELIGIBILITY_EXCHANGE)()
