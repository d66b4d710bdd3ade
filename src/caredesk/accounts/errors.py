"""Coded errors of the account use cases (sign-in, two-factor)."""

from __future__ import annotations

from caredesk.core.errors import Conflict, DomainError, NotFound, ValidationFailed


class WrongCode(ValidationFailed):
    """A one-time code that does not match (or is malformed)."""

    code = "otp_wrong_code"


class TooManyAttempts(DomainError):
    """Verification is throttled after wrong codes; try again after a short wait."""

    code = "otp_throttled"
    http_status = 429


class DeviceNotFound(NotFound):
    code = "otp_device_not_found"


class LastRequiredDevice(Conflict):
    """A role that must use two-factor sign-in cannot remove its last authenticator."""

    code = "otp_last_required_device"


class NoDevice(Conflict):
    """There is no confirmed authenticator to verify against."""

    code = "otp_no_device"
