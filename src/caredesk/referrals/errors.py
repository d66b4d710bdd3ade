"""Coded errors of the referrals app (core.errors maps them to 4xx in each entry point)."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class ReferralNotFound(NotFound):
    code = "referral_not_found"


class ReceiverNotFound(NotFound):
    code = "receiver_not_found"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class StaleReferral(Conflict):
    code = "stale_referral"


class InvalidDiagnosis(ValidationFailed):
    code = "invalid_diagnosis"
