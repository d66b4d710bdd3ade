"""Pure rules of orders: the status machine, input checks (codes, ICD-10-CM diagnoses), where a service
happens for the licensing check, and how the credential and prior-authorization checks combine into one
answer in plain words. No ORM here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from caredesk.patients.rules import icd10_description, normalize_icd10

from .choices import OrderStatus

S = OrderStatus

#: Status changes a person may make with `change_status` (placing a draft goes through the checks).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.DRAFT: (S.CANCELLED,),
    S.ACTIVE: (S.IN_PROGRESS, S.COMPLETED, S.REVOKED),
    S.IN_PROGRESS: (S.COMPLETED, S.REVOKED),
    S.COMPLETED: (),
    S.CANCELLED: (),
    S.REVOKED: (),
}
NEEDS_REASON = (S.CANCELLED, S.REVOKED)
MAX_DIAGNOSES = 12
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")


def allowed_targets(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def transition_error(status: str, target: str) -> str | None:
    """Why an order in `status` cannot be moved to `target` (None when it can)."""
    if target not in S.values:
        return f"{target!r} is not an order status."
    if target == S.ACTIVE and status == S.DRAFT:
        return "A draft is placed with the place action, which runs the checks."
    if target not in allowed_targets(status):
        return f"An order that is {S(status).label.lower()} cannot become {S(target).label.lower()}."
    return None


def note_error(target: str, note: str) -> str | None:
    if target in NEEDS_REASON and not note.strip():
        return f"Say why the order is {S(target).label.lower()}."
    if target == S.COMPLETED and not note.strip():
        return "Record the result or completion notes."
    return None


def code_problem(code: str) -> str | None:
    if not code:
        return "The order code is required."
    if len(code) > 40 or not _CODE.fullmatch(code):
        return "An order code is letters, digits, dashes and dots (at most 40), e.g. 4548-4 or 72148."
    return None


def split_codes(text: str) -> list[str]:
    """Codes typed in one box: separated by commas, semicolons or white space."""
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


@dataclass(frozen=True)
class Diagnoses:
    coded: list[dict[str, str]]
    invalid: list[str]


def diagnoses(codes: Iterable[str]) -> Diagnoses:
    """ICD-10-CM codes as typed -> [{"code": "E11.9", "description": ...}] (each once, in order) and the
    ones that are not codes of the tabular list."""
    coded: list[dict[str, str]] = []
    invalid: list[str] = []
    seen: set[str] = set()
    for raw in codes:
        text = (raw or "").strip()
        if not text:
            continue
        code = normalize_icd10(text)
        if code is None:
            invalid.append(text)
        elif code not in seen:
            seen.add(code)
            coded.append({"code": code, "description": icd10_description(code)})
    return Diagnoses(coded, invalid)


def service_state(*, telehealth: bool, location_state: str, patient_state: str) -> str:
    """Where the service happens, for the licensing check: the facility's state, or for telehealth the
    state the patient is in."""
    return ((patient_state if telehealth else location_state) or "").strip().upper()


@dataclass(frozen=True)
class Alternative:
    id: int
    name: str


@dataclass(frozen=True)
class OrderCheck:
    """Both checks' answer. `reasons` in plain words (empty when ok); `alternatives`: practitioners who
    would pass the credential check; `authorization_id`: the prior authorization that covers it."""

    ok: bool
    reasons: list[str] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    authorization_needed: bool = False
    authorization_id: int | None = None
    credential_reasons: list[str] = field(default_factory=list)


def combine(
    *,
    credential_reasons: Sequence[str],
    alternatives: Sequence[Alternative],
    authorization_needed: bool,
    authorization_ok: bool,
    authorization_reason: str,
    authorization_id: int | None,
) -> OrderCheck:
    reasons = list(credential_reasons)
    if authorization_needed and not authorization_ok:
        reasons.append(authorization_reason or "A prior authorization is needed and none is on file.")
    return OrderCheck(
        ok=not reasons,
        reasons=reasons,
        alternatives=list(alternatives) if credential_reasons else [],
        authorization_needed=authorization_needed,
        authorization_id=authorization_id if authorization_ok else None,
        credential_reasons=list(credential_reasons),
    )


def refusal(check: OrderCheck, what: str, *, override_refused: bool = False) -> str:
    """The message of a blocked order: what, the reasons, who would pass."""
    message = f"{what} cannot be placed: " + " ".join(check.reasons)
    if check.credential_reasons:
        if check.alternatives:
            message += " Who could order it: " + ", ".join(a.name for a in check.alternatives) + "."
        else:
            message += " No other practitioner here would pass."
    if override_refused:
        message += " Only an administrator can place an order past these checks."
    return message
