"""Reading the charge-entry form: diagnoses and numbered line fields (code_N, modifiers_N, pointers_N,
units_N, date_N, charge_N) into a ChargesInput. What cannot be read is an InvalidCharges on its field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.http import QueryDict

from .errors import InvalidCharges
from .schemas import ChargesInput, LineInput

MAX_LINES = 50


def _int(value: str, field: str, label: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise InvalidCharges(f"{label} is not a number.", field=field)
    return int(text)


def _decimal(value: str, field: str, label: str) -> Decimal | None:
    text = value.strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidCharges(f"{label} is not a number.", field=field) from exc
    if not number.is_finite():
        raise InvalidCharges(f"{label} is not a number.", field=field)
    return number


def _date(value: str, field: str, label: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidCharges(f"{label} is not a date (YYYY-MM-DD).", field=field) from exc


def _parts(value: str) -> list[str]:
    return [p for p in (x.strip() for x in value.replace(";", ",").split(",")) if p]


def diagnosis_codes(value: str) -> tuple[str, ...]:
    """The diagnoses field: codes separated by commas or semicolons, upper-cased."""
    return tuple(d.upper()[:10] for d in _parts(value))


def line_numbers(data: QueryDict) -> list[int]:
    numbers = sorted({int(k[5:]) for k in data if k.startswith("code_") and k[5:].isdigit() and len(k) < 9})
    return [n for n in numbers if data.get(f"code_{n}", "").strip()][:MAX_LINES]


def read_charges(data: QueryDict, patient_id: int) -> ChargesInput:
    lines = []
    for n in line_numbers(data):
        label = f"Line {n}"
        pointers = tuple(
            p
            for p in (
                _int(x, f"pointers_{n}", f"{label}'s pointer") for x in _parts(data.get(f"pointers_{n}", ""))
            )
            if p is not None
        )
        lines.append(
            LineInput(
                procedure_code=data.get(f"code_{n}", "").strip().upper()[:10],
                service_date=_date(data.get(f"date_{n}", ""), f"date_{n}", f"{label}'s date"),
                diagnosis_pointers=pointers,
                modifiers=tuple(m.upper()[:4] for m in _parts(data.get(f"modifiers_{n}", ""))),
                units=_decimal(data.get(f"units_{n}", ""), f"units_{n}", f"{label}'s units") or Decimal("1"),
                charge=_decimal(data.get(f"charge_{n}", ""), f"charge_{n}", f"{label}'s charge"),
            )
        )
    rendering = _int(data.get("rendering_provider_id", ""), "rendering_provider_id", "The rendering provider")
    return ChargesInput(
        patient_id=patient_id,
        rendering_provider_id=rendering or 0,
        diagnoses=diagnosis_codes(data.get("diagnoses", "")),
        lines=tuple(lines),
        coverage_id=_int(data.get("coverage_id", ""), "coverage_id", "The coverage"),
        other_coverage_id=_int(data.get("other_coverage_id", ""), "other_coverage_id", "The other coverage"),
        appointment_id=_int(data.get("appointment_id", ""), "appointment_id", "The visit"),
        place_of_service=data.get("place_of_service", "11").strip()[:2] or "11",
    )
