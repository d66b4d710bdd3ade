"""Pure rules of patient education: ICD-10-CM and procedure code lists, which materials fit a patient's
conditions, and which language to hand out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

#: An ICD-10-CM code or prefix without the dot: a letter, a digit, then up to five letters or digits.
ICD10_PREFIX = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,5}$")
#: A CPT (5 digits, or 4 digits and a letter) or HCPCS level II (a letter and 4 digits) code.
PROCEDURE_CODE = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
MAX_CODES = 20


def normalize_icd10(code: str) -> str:
    """`e11.9 ` -> `E119`: codes compare without the dot, in capitals."""
    return code.strip().upper().replace(".", "")


def parse_codes(text: str, *, kind: str) -> tuple[list[str], list[str]]:
    """A comma- or space-separated list -> (codes, the entries that are not codes). `kind` is "icd10"
    (prefixes allowed, dots dropped) or "procedure"."""
    codes: list[str] = []
    bad: list[str] = []
    for part in re.split(r"[\s,;]+", text or ""):
        if not part:
            continue
        if kind == "icd10":
            code = normalize_icd10(part)
            ok = bool(ICD10_PREFIX.match(code))
        else:
            code = part.strip().upper()
            ok = bool(PROCEDURE_CODE.match(code))
        if not ok:
            bad.append(part)
        elif code not in codes:
            codes.append(code)
    return codes, bad


def fits(material_codes: Iterable[str], patient_codes: Iterable[str]) -> bool:
    """Whether a material written for `material_codes` (prefixes) fits a patient with these codes."""
    prefixes = [normalize_icd10(c) for c in material_codes if c]
    codes = [normalize_icd10(c) for c in patient_codes if c]
    return any(code.startswith(prefix) for code in codes for prefix in prefixes)


def language_order(preferred: str, available: Sequence[str], fallback: str = "en") -> list[str]:
    """The languages to try, best first: the patient's (a region such as `es-MX` counts as `es`), then
    the fallback; only those available."""
    base = (preferred or "").split("-")[0].strip().lower()
    wanted = [lang for lang in (base, fallback) if lang]
    return [lang for lang in dict.fromkeys(wanted) if lang in available]
