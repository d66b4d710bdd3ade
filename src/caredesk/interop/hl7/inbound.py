"""One inbound MLLP block in, one acknowledgement out.

`Inbound.handle` is synchronous and does its database work through `transitions.services.receive_message`,
which has committed when it returns: the ACK is built only after that, so an acknowledged message is
durable. Every block gets an answer: what cannot be parsed is stored for review and answered AR.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from caredesk.accounts.models import Organization
from caredesk.core.context import Actor
from caredesk.transitions import services as transitions
from caredesk.transitions.schemas import MessageHeader, Receipt, Rejection

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
        text = normalize(decode(block))
        actor = dataclasses.replace(self.actor, request_id=uuid.uuid4().hex)  # one id per message
        env = adt.Envelope()
        try:
            message = adt.parse(text)
            env = adt.envelope(message, self.zone)
            adt.check_supported(env)
            event = adt.event(message, env, self.zone)
        except adt.Unreadable as exc:
            header = env.header() if env.control_id or env.message_type else MessageHeader()
            rejection = Rejection(ack_code=exc.ack_code, error_code=exc.error_code, text=exc.text)
            receipt = transitions.receive_message(
                actor=actor, header=header, raw=text, rejection=rejection, organization=self.organization
            )
        else:
            receipt = transitions.receive_message(
                actor=actor, header=env.header(), raw=text, event=event, organization=self.organization
            )
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
