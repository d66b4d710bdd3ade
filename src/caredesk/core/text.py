"""Text normalization shared by search and duplicate detection."""

from __future__ import annotations

import re

from unidecode import unidecode

_NON_KEY = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
_NON_DIGIT = re.compile(r"\D+")


def name_key(value: str) -> str:
    """Lower-case ASCII form of a name for case- and accent-insensitive matching.

    'Zoë O'Brien' -> 'zoe obrien'.
    """
    folded = unidecode(value or "").lower()
    folded = folded.replace("'", "").replace("-", " ")
    return _SPACES.sub(" ", _NON_KEY.sub(" ", folded)).strip()


def digits(value: str) -> str:
    """Only the digits of a phone number or identifier."""
    return _NON_DIGIT.sub("", value or "")


def phone_key(value: str) -> str:
    """Last ten digits of a North American number (drops a leading country code 1)."""
    d = digits(value)
    if len(d) == 11 and d.startswith("1"):
        d = d[1:]
    return d


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (for index range scans)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


#: A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> str:
    """A CSV cell that a spreadsheet program shows as text instead of running it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
