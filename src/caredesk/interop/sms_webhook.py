"""The SMS gateway's inbound webhook: a patient's text answering a reminder ("C" confirms, "X" cancels),
POSTed by the gateway and handed to the same use case as `caredesk sms_reply`
(`scheduling.services.record_sms_reply`, audited there as APPOINTMENT_REPLY_RECORDED).

    POST /interop/sms/replies/?organization=CODE
    Authorization: Bearer <CAREDESK_SMS_WEBHOOK_SECRET>      (or X-Caredesk-Webhook-Secret: <secret>)
    from=+15550147788&text=C                                (Twilio-style From / Body are accepted too)

It is a machine endpoint, declared `public` for the permission matrix like the calendar feed: no session,
no CSRF token; the shared secret is the credential. The secret comes from the environment
(`CAREDESK_SMS_WEBHOOK_SECRET`, never the repository) and is compared in constant time; a request without
it, or with another, answers 401 and changes nothing. Without a configured secret the endpoint is off (503).

Answers are JSON and never name the patient: 200 `{"recorded": true, "appointment_id", "outcome"}`;
200 `{"recorded": false, "code", "message"}` when the text is not an answer or nothing upcoming was texted
to that number (the gateway delivered it correctly: nothing to retry); 400 for a missing field or an
unknown organization.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from caredesk.accounts import services as accounts
from caredesk.accounts.decorators import public
from caredesk.core.errors import DomainError, NotFound
from caredesk.scheduling import services as scheduling
from caredesk.scheduling import tasks as scheduling_tasks

SECRET_HEADER = "X-Caredesk-Webhook-Secret"  # noqa: S105  (a header name, not a secret)
MAX_TEXT = 1600  # a long (concatenated) SMS; anything longer is not a reply


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="caredesk-sms-webhook"'
    return response


def _presented_secret(request: HttpRequest) -> str:
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return request.headers.get(SECRET_HEADER, "").strip()


def _authentic(request: HttpRequest, secret: str) -> bool:
    presented = _presented_secret(request)
    return bool(presented) and hmac.compare_digest(presented.encode(), secret.encode())


def _field(request: HttpRequest, *names: str) -> str:
    return next((request.POST[name] for name in names if request.POST.get(name)), "").strip()


@public
@csrf_exempt
@require_http_methods(["POST"])
def sms_reply(request: HttpRequest) -> JsonResponse:
    """Record one inbound SMS from the gateway (see the module docstring)."""
    secret: str = getattr(settings, "CAREDESK_SMS_WEBHOOK_SECRET", "") or ""
    if not secret:
        return _error(503, "webhook_not_configured", "The SMS webhook is not configured on this server.")
    if not _authentic(request, secret):
        return _error(401, "unauthorized", "The webhook secret is missing or wrong.")
    code = (request.GET.get("organization") or request.POST.get("organization") or "").strip()
    from_number = _field(request, "from", "From")
    text = _field(request, "text", "Body")
    if not code or not from_number or not text:
        return _error(400, "missing_field", "Send organization, from and text.")
    if len(text) > MAX_TEXT or len(from_number) > 40:
        return _error(400, "too_long", "That is not an SMS reply.")
    try:
        organization = accounts.organization_by_code(code)
    except NotFound as exc:
        return _error(400, exc.code, exc.message)
    actor = scheduling_tasks.task_actor(organization.pk, channel="api")
    try:
        reply = scheduling.record_sms_reply(actor=actor, from_number=from_number, text=text)
    except DomainError as exc:
        return JsonResponse({"recorded": False, "code": exc.code, "message": exc.message})
    return JsonResponse({"recorded": True, "appointment_id": reply.appointment_id, "outcome": reply.outcome})
