"""Account use cases: building the Actor, API tokens, the audit rows of sign-in and sign-out, two-factor
sign-in (TOTP authenticators)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, NotFound, ValidationFailed
from caredesk.core.middleware import client_ip

from .errors import DeviceNotFound, LastRequiredDevice, NoDevice, TooManyAttempts, WrongCode
from .models import ApiToken, Organization, User
from .permissions import Role, permissions_for

TOKEN_PREFIX = "cd_"  # noqa: S105 - a public prefix, not a secret


def actor_for_user(
    user: User, *, ip: str | None = None, request_id: str | None = None, channel: str = "web"
) -> Actor:
    """The Actor for a signed-in user. A user without an organization (or an inactive one) gets no
    permissions at all: deny by default."""
    perms = permissions_for(user.role) if user.is_active and user.organization_id else frozenset()
    kwargs = {"request_id": request_id} if request_id else {}
    return Actor(
        user_id=user.pk,
        username=user.username,
        role=user.role,
        organization_id=user.organization_id,
        permissions=perms,
        patient_id=user.patient_id if user.role == Role.PATIENT else None,
        ip=ip,
        channel=channel,
        **kwargs,
    )


def actor_for_request(request: HttpRequest, *, channel: str = "web") -> Actor:
    user = request.user
    assert isinstance(user, User)
    return actor_for_user(
        user, ip=client_ip(request), request_id=getattr(request, "request_id", None), channel=channel
    )


def organization_by_code(code: str) -> Organization:
    """The organization with this short code, in any case (a command's --organization, a webhook's
    ?organization=); NotFound names the code."""
    organization = (
        Organization.objects.filter(short_code__iexact=code.strip()).first() if code.strip() else None
    )
    if organization is None:
        raise NotFound(f"No organization with the short code {code!r}.", code="unknown_organization")
    return organization


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, actor: Actor, username: str, name: str = "default") -> tuple[ApiToken, str]:
    """Create a bearer token for `username`. Returns the row and the secret (shown once, never stored).
    An actor without an organization (the command line) records the row in the token owner's
    organization, so that organization's administrators see it in their trail."""
    try:
        user = User.objects.get(username=username, is_active=True)
    except User.DoesNotExist as exc:
        raise NotFound(f"No active user named {username!r}", code="user_not_found") from exc
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:10], token_hash=_hash_token(secret))
    if actor.organization_id is None:
        actor = replace(actor, organization_id=user.organization_id)
    audit.record(
        actor=actor,
        action=AuditAction.API_TOKEN_CREATED,
        obj=token,
        detail={"for_user": user.username, "name": name},
    )
    return token, secret


def user_for_token(secret: str) -> User | None:
    """The active user behind a bearer token, or None. Tokens idle longer than the configured number of
    days, expired or revoked tokens are refused."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    try:
        token = ApiToken.objects.select_related("user").get(
            token_hash=_hash_token(secret), revoked_at__isnull=True
        )
    except ApiToken.DoesNotExist:
        return None
    now = timezone.now()
    if token.expires_at and token.expires_at <= now:
        return None
    idle_limit = timedelta(days=settings.CAREDESK_API_TOKEN_IDLE_DAYS)
    if token.last_used_at and now - token.last_used_at > idle_limit:
        return None
    if not token.user.is_active:
        return None
    # Touch at most once a minute to keep reads cheap.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- sign-in, sign-out and the audit rows of a session ---------------------------------------------


def _user_ref(user_id: int | None) -> tuple[str, str]:
    """(object_type, object_id) of an audit row about a user account."""
    return ("accounts.user", str(user_id)) if user_id is not None else ("", "")


def record_sign_in(*, actor: Actor, second_factor: str) -> None:
    """LOGIN: the password was right. `second_factor` says what comes next: "verify" (the user has an
    authenticator), "enroll" (their role must set one up) or "none"."""
    object_type, object_id = _user_ref(actor.user_id)
    audit.record(
        actor=actor,
        action=AuditAction.LOGIN,
        object_type=object_type,
        object_id=object_id,
        detail={"second_factor": second_factor},
    )


def record_sign_in_failed(*, username: str, ip: str | None, request_id: str | None, locked_out: bool) -> None:
    """LOGIN_FAILED for a refused password sign-in. Nobody is signed in, so the row names no actor; it
    carries the username that was tried and, when that account exists, its organization (so that
    organization's administrators see attempts on their accounts in the trail). `locked_out` is true when
    the account is (now) locked: this attempt reached the limit or came while the lock was on."""
    tried = username.strip()[:150]
    user = User.objects.filter(username=tried).only("pk", "organization_id").first() if tried else None
    actor = Actor(
        user_id=None,
        username=tried or "(blank)",
        role="anonymous",
        organization_id=user.organization_id if user is not None else None,
        ip=ip,
        request_id=request_id or uuid.uuid4().hex,
        channel="web",
    )
    object_type, object_id = _user_ref(user.pk if user is not None else None)
    audit.record(
        actor=actor,
        action=AuditAction.LOGIN_FAILED,
        object_type=object_type,
        object_id=object_id,
        detail={"username": tried, "known_user": user is not None, "locked_out": locked_out},
    )


def record_sign_out(*, actor: Actor, idle: bool = False) -> None:
    """LOGOUT when the user signs out; SESSION_IDLE_TIMEOUT when the idle limit ended the session."""
    object_type, object_id = _user_ref(actor.user_id)
    audit.record(
        actor=actor,
        action=AuditAction.SESSION_IDLE_TIMEOUT if idle else AuditAction.LOGOUT,
        object_type=object_type,
        object_id=object_id,
        detail={"idle_limit_seconds": settings.SESSION_IDLE_TIMEOUT_SECONDS} if idle else {},
    )


# --- two-factor sign-in (TOTP) ---------------------------------------------------------------------

DEFAULT_DEVICE_NAME = "Authenticator app"
_KEY_BYTES = 20  # 160-bit secrets, as RFC 4226 recommends


@dataclass(frozen=True)
class TotpEnrollment:
    """What an authenticator app needs to add the account: the secret (hex for storage, base32 for
    typing in) and the otpauth:// URL a QR code carries."""

    key: str
    base32: str
    otpauth_url: str

    @property
    def base32_grouped(self) -> str:
        """The base32 secret in groups of four, easier to type."""
        return " ".join(self.base32[i : i + 4] for i in range(0, len(self.base32), 4))


def two_factor_required(user: User) -> bool:
    """Whether the user's role must use two-factor sign-in (CAREDESK_2FA_REQUIRED_ROLES)."""
    return user.role in settings.CAREDESK_2FA_REQUIRED_ROLES


def totp_devices(user: User) -> list[TOTPDevice]:
    """The user's confirmed authenticators, oldest first."""
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at", "pk"))


def new_totp_key() -> str:
    """A fresh random TOTP secret, hex encoded (kept in the session until the user confirms it)."""
    return secrets.token_hex(_KEY_BYTES)


def is_totp_key(value: object) -> bool:
    """A well-formed secret as new_totp_key() makes them."""
    if not isinstance(value, str) or len(value) != 2 * _KEY_BYTES:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def totp_enrollment(*, user: User, key: str) -> TotpEnrollment:
    """The secret and otpauth URL for adding `key` to an authenticator app (nothing is saved)."""
    device = TOTPDevice(user=user, key=key)
    return TotpEnrollment(
        key=key,
        base32=base64.b32encode(device.bin_key).decode("ascii").rstrip("="),
        otpauth_url=device.config_url,
    )


def _require_self(actor: Actor, user: User) -> None:
    """Two-factor use cases act on the signed-in user's own authenticators only."""
    if actor.user_id is None or actor.user_id != user.pk:
        raise Forbidden("You can manage only your own authenticators.")


def _token_number(token: str) -> int | None:
    cleaned = "".join(token.split())
    return int(cleaned) if cleaned.isdigit() and len(cleaned) in (6, 8) else None


def enroll_totp_device(
    *, actor: Actor, user: User, key: str, token: str, name: str = DEFAULT_DEVICE_NAME
) -> TOTPDevice:
    """Add an authenticator: the code the app shows for `key` proves it was set up. Saves a confirmed
    device whose last accepted time step is this code's (so the same code cannot be replayed) and writes
    TWO_FACTOR_ENROLLED. WrongCode when the code does not match; nothing is saved then."""
    _require_self(actor, user)
    if not is_totp_key(key):
        raise ValidationFailed("The setup secret is missing or damaged; start again.", field="token")
    name = " ".join(name.split())[:64] or DEFAULT_DEVICE_NAME
    device = TOTPDevice(user=user, key=key, name=name, confirmed=True)
    number = _token_number(token)
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time()
    if number is None or not generator.verify(number, device.tolerance):
        raise WrongCode(
            "That code does not match. Check the time on your phone and enter the current code.",
            field="token",
        )
    device.last_t = generator.t()
    device.drift = generator.drift
    with transaction.atomic():
        device.save()
        audit.record(
            actor=actor,
            action=AuditAction.TWO_FACTOR_ENROLLED,
            obj=device,
            detail={"device": device.name},
        )
    return device


def verify_totp(*, actor: Actor, user: User, token: str) -> TOTPDevice:
    """Check the code of one of the user's authenticators after the password. Returns the device that
    accepted it (TWO_FACTOR_VERIFIED). A wrong code writes TWO_FACTOR_FAILED and raises WrongCode; after
    wrong codes each device refuses further tries for a growing delay (TooManyAttempts). Unlike most use
    cases, a refusal still commits: the failure count and its audit row are the point."""
    _require_self(actor, user)
    with transaction.atomic():
        devices = list(
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk")
        )
        if not devices:
            raise NoDevice("You have no authenticator to verify; add one first.")
        open_devices = [d for d in devices if d.verify_is_allowed()[0]]
        accepted = next((d for d in open_devices if d.verify_token(token)), None)
        if accepted is not None:
            audit.record(
                actor=actor,
                action=AuditAction.TWO_FACTOR_VERIFIED,
                obj=accepted,
                detail={"device": accepted.name},
            )
            return accepted
        object_type, object_id = _user_ref(user.pk)
        audit.record(
            actor=actor,
            action=AuditAction.TWO_FACTOR_FAILED,
            object_type=object_type,
            object_id=object_id,
            detail={"throttled": not open_devices},
        )
    if not open_devices:
        raise TooManyAttempts("Too many wrong codes. Wait a minute, then enter the current code.")
    raise WrongCode(
        "That code is not right. Enter the current code from your authenticator app.", field="token"
    )


def remove_totp_device(*, actor: Actor, user: User, device_id: int) -> None:
    """Remove one of the user's own authenticators (TWO_FACTOR_REMOVED). DeviceNotFound for anything that
    is not theirs; LastRequiredDevice when their role must use two-factor sign-in and it is the last one."""
    _require_self(actor, user)
    with transaction.atomic():
        devices = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))
        device = next((d for d in devices if d.pk == device_id), None)
        if device is None:
            raise DeviceNotFound("No such authenticator on your account.")
        if len(devices) == 1 and two_factor_required(user):
            raise LastRequiredDevice(
                "Your role must use two-factor sign-in: add another authenticator before removing this one."
            )
        audit.record(
            actor=actor,
            action=AuditAction.TWO_FACTOR_REMOVED,
            obj=device,
            detail={"device": device.name},
        )
        device.delete()
