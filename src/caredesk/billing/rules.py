"""Pure billing rules (no ORM): the claim state machine, the scrubber, fee arithmetic and the code-list CSV.

Each scrubber rule is its own function taking plain values and returning the problems it finds, in words
for the biller; `scrub` runs them all. A claim with any problem cannot be marked ready.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import simple_icd_10_cm as cm

from caredesk.practitioners.rules import npi_error

from .choices import ClaimStatus, LedgerKind, PaymentMethod
from .schemas import ClaimPayment

MAX_DIAGNOSES = 12
MAX_POINTERS = 4
MAX_MODIFIERS = 4

# ---------------------------------------------------------------------------------------------- lifecycle

TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimStatus.DRAFT: frozenset({ClaimStatus.READY}),
    ClaimStatus.READY: frozenset({ClaimStatus.DRAFT, ClaimStatus.SUBMITTED}),
    ClaimStatus.SUBMITTED: frozenset({ClaimStatus.ACCEPTED, ClaimStatus.REJECTED}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.DRAFT, ClaimStatus.CLOSED}),
    ClaimStatus.ACCEPTED: frozenset({ClaimStatus.PAID, ClaimStatus.DENIED}),
    ClaimStatus.PAID: frozenset({ClaimStatus.CLOSED}),
    ClaimStatus.DENIED: frozenset({ClaimStatus.APPEALED, ClaimStatus.CLOSED}),
    ClaimStatus.APPEALED: frozenset({ClaimStatus.PAID, ClaimStatus.DENIED, ClaimStatus.CLOSED}),
    ClaimStatus.CLOSED: frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def transition_error(current: str, target: str) -> str | None:
    """Why a claim in `current` cannot move to `target`; None when it can."""
    if current not in TRANSITIONS or target not in TRANSITIONS:
        return f"Unknown claim status {target if current in TRANSITIONS else current!r}."
    if can_transition(current, target):
        return None
    allowed = ", ".join(ClaimStatus(s).label.lower() for s in sorted(TRANSITIONS[current])) or "nothing"
    return (
        f"A claim that is {ClaimStatus(current).label.lower()} cannot become "
        f"{ClaimStatus(target).label.lower()}; it can become: {allowed}."
    )


# ---------------------------------------------------------------------------------------------- codes


def normalize_icd10(code: str) -> str:
    """Upper case with its dot (E119 → E11.9); unchanged apart from case when it is not a code."""
    compact = code.strip().upper().replace(".", "")
    return str(cm.add_dot(compact)) if cm.is_valid_item(compact) else code.strip().upper()


def icd10_problem(code: str) -> str | None:
    """Why `code` cannot go on a claim: unknown, or a category that has more specific codes under it."""
    compact = code.strip().upper().replace(".", "")
    if not compact or not cm.is_valid_item(compact) or cm.is_chapter_or_block(compact):
        return f"{code or '(empty)'} is not an ICD-10-CM code."
    if not cm.is_leaf(compact):
        return f"{normalize_icd10(code)} is not billable: choose a more specific code under it."
    return None


_PROCEDURE = re.compile(r"^[A-Z0-9]{5}$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")


def procedure_code_error(code: str) -> str | None:
    return None if _PROCEDURE.fullmatch(code) else f"{code or '(empty)'} is not a 5-character procedure code."


def modifier_error(modifier: str) -> str | None:
    return (
        None if _MODIFIER.fullmatch(modifier) else f"{modifier or '(empty)'} is not a 2-character modifier."
    )


@dataclass(frozen=True)
class CodeRow:
    code: str
    description: str
    system: str
    price: Decimal | None


class CodeListError(ValueError):
    """A procedure-code CSV we cannot load; the message names the line."""


def parse_code_list(text: str) -> list[CodeRow]:
    """Rows of a CSV with the columns code, description, system (hcpcs, cpt, local) and optional price.
    Lines starting with # are comments (the source of the list)."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if reader.fieldnames is None or not {"code", "description", "system"} <= set(reader.fieldnames):
        raise CodeListError("The CSV needs the columns code, description and system.")
    rows: list[CodeRow] = []
    seen: set[str] = set()
    for number, raw in enumerate(reader, start=2):
        code = (raw.get("code") or "").strip().upper()
        problem = procedure_code_error(code)
        if problem:
            raise CodeListError(f"Line {number}: {problem}")
        if code in seen:
            raise CodeListError(f"Line {number}: {code} appears twice.")
        seen.add(code)
        system = (raw.get("system") or "").strip().lower()
        if system not in {"hcpcs", "cpt", "local"}:
            raise CodeListError(f"Line {number}: the system must be hcpcs, cpt or local.")
        description = (raw.get("description") or "").strip()
        if not description:
            raise CodeListError(f"Line {number}: {code} has no description.")
        price_text = (raw.get("price") or "").strip()
        price = parse_money(price_text, f"Line {number}") if price_text else None
        rows.append(CodeRow(code=code, description=description[:200], system=system, price=price))
    return rows


def is_cents(value: Decimal, *, limit: Decimal = Decimal("99999999.99")) -> bool:
    """A finite, non-negative amount with at most two decimals, within the columns' range."""
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0 or value > limit:
        return False
    return value == value.quantize(Decimal("0.01"))


def parse_money(text: str, where: str = "The amount") -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise CodeListError(f"{where}: {text!r} is not an amount.") from exc
    if not is_cents(value):
        raise CodeListError(f"{where}: {text!r} is not an amount in dollars and cents.")
    return value


def line_charge(unit_price: Decimal, units: Decimal) -> Decimal:
    return (unit_price * units).quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------------- scrubber


@dataclass(frozen=True)
class LineFacts:
    procedure_code: str
    modifiers: tuple[str, ...]
    diagnosis_pointers: tuple[int, ...]
    service_date: dt.date
    units: Decimal
    charge: Decimal


@dataclass(frozen=True)
class ClaimFacts:
    billing_npi: str
    rendering_npi: str
    diagnoses: tuple[str, ...]
    lines: tuple[LineFacts, ...]
    has_coverage: bool
    member_id: str
    relationship: str
    subscriber_given_name: str
    subscriber_family_name: str
    subscriber_birth_date: dt.date | None
    coverage_from: dt.date | None
    coverage_to: dt.date | None


def check_npis(facts: ClaimFacts) -> list[str]:
    problems = []
    for who, value in (("billing provider", facts.billing_npi), ("rendering provider", facts.rendering_npi)):
        if not value:
            problems.append(f"The {who} has no NPI.")
        elif (error := npi_error(value)) is not None:
            problems.append(f"The {who}'s NPI is not valid: {error}")
    return problems


def check_diagnoses(facts: ClaimFacts) -> list[str]:
    if not facts.diagnoses:
        return ["The claim has no diagnosis."]
    problems = [p for code in facts.diagnoses if (p := icd10_problem(code)) is not None]
    if len(facts.diagnoses) > MAX_DIAGNOSES:
        problems.append(
            f"The claim has {len(facts.diagnoses)} diagnoses; a claim carries at most {MAX_DIAGNOSES}."
        )
    return problems


def check_pointers(facts: ClaimFacts) -> list[str]:
    problems = []
    for number, line in enumerate(facts.lines, start=1):
        if not line.diagnosis_pointers:
            problems.append(f"Line {number} ({line.procedure_code}) points at no diagnosis.")
        elif len(line.diagnosis_pointers) > MAX_POINTERS:
            problems.append(f"Line {number} points at more than {MAX_POINTERS} diagnoses.")
        bad = [p for p in line.diagnosis_pointers if not 1 <= p <= len(facts.diagnoses)]
        if bad:
            problems.append(f"Line {number} points at diagnosis {bad[0]}, which the claim does not have.")
    return problems


def check_lines(facts: ClaimFacts) -> list[str]:
    if not facts.lines:
        return ["The claim has no charge lines."]
    problems = []
    for number, line in enumerate(facts.lines, start=1):
        if (error := procedure_code_error(line.procedure_code)) is not None:
            problems.append(f"Line {number}: {error}")
        if len(line.modifiers) > MAX_MODIFIERS:
            problems.append(f"Line {number} has more than {MAX_MODIFIERS} modifiers.")
        problems += [f"Line {number}: {e}" for m in line.modifiers if (e := modifier_error(m)) is not None]
        if line.units <= 0:
            problems.append(f"Line {number} has no units.")
        if line.charge <= 0:
            problems.append(f"Line {number} has no charge amount.")
    return problems


def check_subscriber(facts: ClaimFacts) -> list[str]:
    if not facts.has_coverage:
        return ["The patient has no coverage to bill."]
    problems = []
    if not facts.member_id.strip():
        problems.append("The coverage has no member ID: add it from the insurance card.")
    if facts.relationship != "self":
        if not facts.subscriber_given_name.strip() or not facts.subscriber_family_name.strip():
            problems.append("The subscriber's name is missing.")
        if facts.subscriber_birth_date is None:
            problems.append("The subscriber's birth date is missing.")
    return problems


def check_coverage_dates(facts: ClaimFacts) -> list[str]:
    if not facts.has_coverage or facts.coverage_from is None:
        return []
    problems = []
    for number, line in enumerate(facts.lines, start=1):
        if line.service_date < facts.coverage_from or (
            facts.coverage_to is not None and line.service_date > facts.coverage_to
        ):
            end = facts.coverage_to.isoformat() if facts.coverage_to else "open"
            problems.append(
                f"Line {number}'s service date {line.service_date.isoformat()} is outside the coverage "
                f"({facts.coverage_from.isoformat()} to {end})."
            )
    return problems


SCRUBBER_RULES = (
    check_npis,
    check_diagnoses,
    check_pointers,
    check_lines,
    check_subscriber,
    check_coverage_dates,
)


def scrub(facts: ClaimFacts) -> list[str]:
    """Every problem that blocks the claim, in the rules' order; empty when it may be submitted."""
    problems: list[str] = []
    for rule in SCRUBBER_RULES:
        problems += rule(facts)
    return problems


# ---------------------------------------------------------------------------------------------- remittance

# Claim Adjustment Reason Codes (X12 CARC list, maintained by the X12 Claim Adjustment Status Code
# Maintenance Committee), a common subset in short plain words; any other code is shown by its number.
CARC_TEXT: dict[str, str] = {
    "1": "deductible amount",
    "2": "coinsurance amount",
    "3": "co-payment amount",
    "4": "the procedure code is inconsistent with the modifier used, or a modifier is missing",
    "5": "the procedure code or bill type is inconsistent with the place of service",
    "11": "the diagnosis is inconsistent with the procedure",
    "16": "the claim lacks information or has billing errors needed for adjudication",
    "18": "exact duplicate claim or service",
    "22": "this care may be covered by another payer (coordination of benefits)",
    "23": "the impact of prior payer adjudication",
    "27": "expenses incurred after coverage terminated",
    "29": "the time limit for filing has expired",
    "31": "the patient cannot be identified as our insured",
    "45": "the charge exceeds the fee schedule or maximum allowable amount",
    "50": "not deemed a medical necessity by the payer",
    "96": "non-covered charge",
    "97": "the benefit is included in the payment for another service already adjudicated",
    "109": "not covered by this payer; submit to the correct payer",
    "119": "the benefit maximum for this period has been reached",
    "197": "precertification or authorization was absent",
    "204": "this service is not covered under the patient's current benefit plan",
    "242": "services not provided by network or primary care providers",
    "253": "sequestration reduction in federal payment",
    "A1": "claim or service denied",
    "A7": "presumptive payment adjustment",
}
GROUP_TEXT = {
    "CO": "contractual obligation",
    "PR": "patient responsibility",
    "OA": "other adjustment",
    "PI": "payer initiated reduction",
    "CR": "correction and reversal",
}
PAID_STATUSES = frozenset({"1", "2", "3", "19", "20", "21"})  # processed as primary/secondary/tertiary
DENIED_STATUS = "4"
REVERSAL_STATUS = "22"


def carc_text(group: str, reason: str) -> str:
    """`CO-16 the claim lacks information …` for a CAS group and CARC."""
    words = CARC_TEXT.get(reason, f"reason code {reason}")
    return f"{group}-{reason} {words}"


def remittance_target(payment: ClaimPayment) -> str | None:
    """The claim status a claim payment points to: paid (the payer paid part of it), denied (CLP02 4, or
    nothing paid, nothing left to the patient and a payer adjustment), accepted (processed, nothing paid,
    the balance moved to the patient); None for a reversal (CLP02 22) or a status we do not act on."""
    if payment.status_code == REVERSAL_STATUS:
        return None
    if payment.status_code == DENIED_STATUS:
        return ClaimStatus.DENIED
    if payment.status_code not in PAID_STATUSES:
        return None
    if payment.paid > 0:
        return ClaimStatus.PAID
    payer_adjusted = any(a.group != "PR" and a.amount > 0 for a in payment.all_adjustments)
    if payment.patient_responsibility == 0 and payer_adjusted:
        return ClaimStatus.DENIED
    return ClaimStatus.ACCEPTED


def status_path(current: str, target: str) -> list[str] | None:
    """The allowed steps from `current` to `target` (through accepted when the claim is still submitted);
    [] when it is there already, None when the lifecycle has no such path."""
    if current == target:
        return []
    if can_transition(current, target):
        return [target]
    if can_transition(current, ClaimStatus.ACCEPTED) and can_transition(ClaimStatus.ACCEPTED, target):
        return [ClaimStatus.ACCEPTED, target]
    return None


def denial_reasons(payment: ClaimPayment) -> str:
    """The payer's reasons in plain words (the non-PR adjustments first), for the claim's timeline."""
    seen: list[str] = []
    ordered = sorted(payment.all_adjustments, key=lambda a: a.group == "PR")
    for adjustment in ordered:
        text = carc_text(adjustment.group, adjustment.reason)
        if text not in seen:
            seen.append(text)
    return "; ".join(seen) or "no reason code given"


@dataclass(frozen=True)
class Posting:
    kind: str  # a LedgerKind value
    amount: Decimal
    group: str = ""
    reason: str = ""


def claim_postings(payment: ClaimPayment) -> list[Posting]:
    """The ledger rows of one claim payment: the payment, then each CAS adjustment — group PR as patient
    responsibility, every other group as an adjustment. Amounts keep their sign (a reversal is negative)."""
    rows = [Posting(kind=LedgerKind.PAYMENT, amount=payment.paid)] if payment.paid else []
    for adjustment in payment.all_adjustments:
        if not adjustment.amount:
            continue
        kind = LedgerKind.PATIENT_RESPONSIBILITY if adjustment.group == "PR" else LedgerKind.ADJUSTMENT
        rows.append(
            Posting(kind=kind, amount=adjustment.amount, group=adjustment.group, reason=adjustment.reason)
        )
    return rows


@dataclass(frozen=True)
class Balance:
    charges: Decimal
    payments: Decimal
    adjustments: Decimal
    patient_responsibility: Decimal

    @property
    def balance(self) -> Decimal:
        """What is still owed on the claim (by the payer or the patient)."""
        return self.charges - self.payments - self.adjustments

    @property
    def insurance_balance(self) -> Decimal:
        """The part still expected from the payer: the balance less what was moved to the patient."""
        return self.balance - self.patient_responsibility


def balance_of(totals: dict[str, Decimal]) -> Balance:
    """A balance from the ledger's sums per kind. The sums are rounded to cents: SQLite adds decimal
    columns in binary floating point (-42.52 + 43.49 comes back as 0.969999999999999)."""

    def total(kind: str) -> Decimal:
        return cents(totals.get(kind) or Decimal("0.00"))

    return Balance(
        charges=total(LedgerKind.CHARGE),
        payments=total(LedgerKind.PAYMENT),
        adjustments=total(LedgerKind.ADJUSTMENT),
        patient_responsibility=total(LedgerKind.PATIENT_RESPONSIBILITY),
    )


def cents(value: Decimal) -> Decimal:
    """A database sum of money rounded to cents (exact on PostgreSQL; float noise on SQLite)."""
    return Decimal(value).quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------------- patient money

MAX_PAYMENT = Decimal("99999999.99")  # the column holds 10 digits, 2 after the point


def payment_problem(amount: object, method: str, reference: str) -> tuple[str, str] | None:
    """Why a patient payment cannot be taken, as (field, message); None when it can. The amount is a
    Decimal in dollars and cents, more than zero; a card payment needs the terminal's reference."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return "amount", "The amount is not a number: enter dollars and cents."
    if amount <= 0:
        return "amount", "The amount must be more than zero."
    if amount != amount.quantize(Decimal("0.01")):
        return "amount", "The amount has more than two decimals: enter dollars and cents."
    if amount > MAX_PAYMENT:
        return "amount", "The amount is too large."
    if method not in {m.value for m in PaymentMethod}:
        return "method", "The method must be cash, card or check."
    if method == PaymentMethod.CARD and not reference.strip():
        return "reference", "A card payment needs the card reference (authorization or transaction number)."
    if len(reference) > 60:
        return "reference", "The reference is longer than 60 characters."
    return None


def parse_amount(text: str) -> Decimal | None:
    """A typed amount ("25", "25.00", "$1,025.50") as Decimal; None when it is not a number."""
    cleaned = text.strip().replace("$", "").replace(",", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


AGING_LABELS = ("0-30 days", "31-60 days", "61-90 days", "Over 90 days")


@dataclass(frozen=True)
class Aging:
    """What the patient owes, by the age of what they were billed for. A credit left after every
    debit was paid shows, negative, in the current bucket, so the buckets always add up to the balance."""

    current: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal

    @property
    def total(self) -> Decimal:
        return self.current + self.days_31_60 + self.days_61_90 + self.over_90

    def rows(self) -> list[tuple[str, Decimal]]:
        amounts = (self.current, self.days_31_60, self.days_61_90, self.over_90)
        return list(zip(AGING_LABELS, amounts, strict=True))


def statement_cycle(day: dt.date) -> dt.date:
    """The statement cycle `day` falls in, named by its first day: statements go out once a calendar month."""
    return day.replace(day=1)


def bucket_of(days: int) -> int:
    """0 for 0 to 30 days old, 1 for 31 to 60, 2 for 61 to 90, 3 for older."""
    if days <= 30:
        return 0
    if days <= 60:
        return 1
    if days <= 90:
        return 2
    return 3


def age_balance(moves: list[tuple[dt.date, Decimal]], today: dt.date) -> Aging:
    """Age a patient's account: `moves` are dated amounts, positive what they were billed (charges,
    patient responsibility), negative what they paid or was taken back. Credits pay the oldest debits
    first; each debit still open sits in the bucket of its age on `today`."""
    debits = sorted(((day, amount) for day, amount in moves if amount > 0), key=lambda item: item[0])
    credit = -sum((amount for _day, amount in moves if amount < 0), Decimal("0.00"))
    open_debits: list[tuple[dt.date, Decimal]] = []
    for day, amount in debits:
        paid = min(amount, max(credit, Decimal("0.00")))
        credit -= paid
        open_debits.append((day, amount - paid))
    buckets = [Decimal("0.00")] * 4
    for day, amount in open_debits:
        buckets[bucket_of(max((today - day).days, 0))] += amount
    buckets[0] -= credit
    return Aging(*buckets)
