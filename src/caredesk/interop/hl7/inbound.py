"""Inbound MLLP blocks in, one acknowledgement each out.

`Inbound.handle_many` (and `handle`, for one block) is synchronous and does its database work through
`transitions.services.receive_messages`, which has committed when it returns: the ACKs are built only
after that, so an acknowledged message is durable. Every block gets an answer: what cannot be parsed is
stored for review and answered AR.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from caredesk.accounts.models import Organization
from caredesk.core.context import Actor
from caredesk.transitions import services as transitions
from caredesk.transitions.schemas import IncomingMessage, MessageHeader, Receipt, Rejection

from . import adt
from .ack import build_ack
from .wire import decode, normalize

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened to one block: the ACK sent and the receipt it reflects."""

    ack: str
    receipt: Receipt


class Inbound:
    """The listener's organization, its clock and the feed actor; `handle` answers one block."""

    def __init__(self, organization: Organization) -> None:
        self.organization_id = organization.pk
        self.facility = organization.short_code.upper()
        self.organization = transitions.feed_organization(organization.pk)  # read once per listener
        self.zone: ZoneInfo = self.organization.zone
        self.actor: Actor = transitions.feed_actor(organization_id=organization.pk)

    @classmethod
    def for_short_code(cls, short_code: str) -> Inbound:
        return cls(Organization.objects.get(short_code__iexact=short_code))

    def handle(self, block: bytes) -> Outcome:
        return self.handle_many([block])[0]

    def handle_many(self, blocks: Sequence[bytes]) -> list[Outcome]:
        """Answer several blocks (from different connections) applied together: one call to
        `transitions.services.receive_messages`, which has committed when it returns; one outcome per
        block, in order."""
        read = [self._read(block) for block in blocks]
        receipts = transitions.receive_messages(
            actor=self.actor, messages=[incoming for _, incoming in read], organization=self.organization
        )
        return [self._answer(env, receipt) for (env, _), receipt in zip(read, receipts, strict=True)]

    def _read(self, block: bytes) -> tuple[adt.Envelope, IncomingMessage]:
        """The block as text, its envelope (what the ACK needs) and the event, or why it cannot be read."""
        text = normalize(decode(block))
        request_id = uuid.uuid4().hex  # one per message
        env = adt.Envelope()
        try:
            message = adt.parse(text)
            env = adt.envelope(message, self.zone)
            adt.check_supported(env)
            event = adt.event(message, env, self.zone)
        except adt.Unreadable as exc:
            header = env.header() if env.control_id or env.message_type else MessageHeader()
            rejection = Rejection(ack_code=exc.ack_code, error_code=exc.error_code, text=exc.text)
            return env, IncomingMessage(header=header, raw=text, rejection=rejection, request_id=request_id)
        return env, IncomingMessage(header=env.header(), raw=text, event=event, request_id=request_id)

    def _answer(self, env: adt.Envelope, receipt: Receipt) -> Outcome:
        if receipt.ack_code != "AA" and not receipt.duplicate:
            logger.warning(
                "HL7 %s %s answered %s: %s", env.trigger, env.control_id, receipt.ack_code, receipt.text
            )
        ack = build_ack(
            env,
            ack_code=receipt.ack_code,
            text=receipt.text,
            error_code=receipt.error_code,
            facility=self.facility,
        )
        return Outcome(ack=ack, receipt=receipt)
