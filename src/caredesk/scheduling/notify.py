"""How scheduling reaches patients: e-mail through Django's mail backend, SMS through a gateway.

The gateway is a port (`SmsGateway`); `settings.CAREDESK_SMS_GATEWAY` names the class to use. The one
provided, `FileSmsGateway`, appends one JSON line per message to `settings.CAREDESK_SMS_OUTBOX` (a file a
real gateway's adapter, or a person testing, can read). Callers check the patient's consents first.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsGateway(Protocol):
    def send(self, *, to: str, body: str) -> str:
        """Send one SMS; returns the gateway's message id. Raises OSError when it cannot."""
        ...


class FileSmsGateway:
    """Writes each SMS as one JSON line ({"id", "to", "body", "queued_at"}) to the outbox file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or settings.CAREDESK_SMS_OUTBOX)

    def send(self, *, to: str, body: str) -> str:
        message_id = uuid.uuid4().hex
        line = {"id": message_id, "to": to, "body": body, "queued_at": timezone.now().isoformat()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(line, ensure_ascii=False) + "\n")
        return message_id


def sms_gateway() -> SmsGateway:
    gateway: SmsGateway = import_string(settings.CAREDESK_SMS_GATEWAY)()
    return gateway


def send_email(*, to: str, subject: str, body: str) -> None:
    """One plain-text e-mail through the configured mail backend (DEFAULT_FROM_EMAIL)."""
    send_mail(subject, body, None, [to], fail_silently=False)
