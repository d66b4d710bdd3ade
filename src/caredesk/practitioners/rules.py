"""Pure rules about practitioners (no ORM)."""

from __future__ import annotations

import re

_NPI_RE = re.compile(r"^[12]\d{9}$")


def npi_check_digit(first_nine: str) -> int:
    """CMS NPI check digit: Luhn over the 9 digits as if prefixed by 80840 (adds the constant 24)."""
    total = 24
    for index, char in enumerate(reversed(first_nine)):
        d = int(char)
        if index % 2 == 0:  # the rightmost digit is doubled
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    """10 digits, first digit 1 or 2, and a correct check digit (CMS 'Requirements for NPI Check Digit')."""
    if not _NPI_RE.match(value or ""):
        return False
    return npi_check_digit(value[:9]) == int(value[9])


def npi_error(value: str) -> str | None:
    """Why `value` is not a usable NPI, in words for the person who typed it; None when it is valid."""
    if not _NPI_RE.match(value or ""):
        return "An NPI is 10 digits and starts with 1 or 2."
    if not is_valid_npi(value):
        return f"NPI {value} fails its check digit."
    return None
