"""FHIR search parameters -> our query objects. Pure: no queries, no requests.

Rules (also stated in the CapabilityStatement):
- Supported parameters are ANDed. Each may appear once; comma-separated OR lists and modifiers (`:exact`,
  `:contains`, …) are refused with 400 (FHIR requires refusing unsupported modifiers).
- Unknown parameters are ignored and left out of the `self` link (FHIR's lenient handling), unless the
  client sends `Prefer: handling=strict`, which turns them into 400.
- `_count` (1..200, default 20) and `_page` (1-based) page the results; `_format` and `_pretty` are accepted
  and ignored (the answer is always JSON).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from caredesk.patients.schemas import PatientQuery
from caredesk.practitioners.selectors import PractitionerQuery

from .outcomes import FhirError
from .practitioner import NPI_SYSTEM

DEFAULT_COUNT = 20
MAX_COUNT = 200
MAX_OFFSET = 10_000  # results skipped to reach a page: deeper than this, narrow the search
MAX_VALUE_LENGTH = 200
IGNORED = frozenset({"_format", "_pretty"})
PAGING = frozenset({"_count", "_page"})
PHONE_SYSTEMS = frozenset({"phone", "sms", "fax"})
_DATE = re.compile(r"^(?P<prefix>[a-z]{2})?(?P<date>\d{4}(-\d{2}(-\d{2})?)?)$")
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")

PATIENT_PARAMS = ("name", "family", "given", "birthdate", "identifier", "telecom", "phone")
PRACTITIONER_PARAMS = ("name", "family", "given", "identifier")
CLINICAL_PARAMS = ("patient", "subject")


@dataclass
class Search:
    """The parameters of one search, checked."""

    values: dict[str, str] = field(default_factory=dict)
    used: list[tuple[str, str]] = field(default_factory=list)  # in the order given, for the self link
    count: int = DEFAULT_COUNT
    page: int = 1


def invalid(message: str, parameter: str, *, code: str = "invalid") -> FhirError:
    return FhirError.single(400, code, message, expression=(parameter,))


def _positive(name: str, value: str, limit: int) -> int:
    if not value.isdigit() or int(value) < 1:
        raise invalid(f"{name} must be a whole number of at least 1, not {value!r}.", name)
    return min(int(value), limit)


def parse(pairs: Iterable[tuple[str, str]], supported: Sequence[str], *, strict: bool = False) -> Search:
    """Check the query string's (name, value) pairs against the `supported` parameter names."""
    search = Search()
    seen: set[str] = set()
    for raw_name, raw_value in pairs:
        name, _, modifier = raw_name.partition(":")
        value = raw_value.strip()
        if name in IGNORED:
            continue
        if name not in supported and name not in PAGING:
            if strict:
                raise invalid(
                    f"The search parameter {raw_name!r} is not supported here.",
                    raw_name,
                    code="not-supported",
                )
            continue
        if modifier:
            raise invalid(
                f"The modifier :{modifier} is not supported on {name}.", raw_name, code="not-supported"
            )
        if name in seen:
            raise invalid(f"{name} may be given only once.", name, code="not-supported")
        seen.add(name)
        if "\x00" in value:
            raise invalid(f"{name} holds a null character.", name)
        if len(value) > MAX_VALUE_LENGTH:
            raise invalid(f"{name} is longer than {MAX_VALUE_LENGTH} characters.", name)
        if name == "_count":
            search.count = _positive(name, value, MAX_COUNT)
        elif name == "_page":
            search.page = _positive(name, value, MAX_OFFSET + 1)
        elif value:
            if _UNESCAPED_COMMA.search(value):
                raise invalid(
                    f"Lists of values (a,b) are not supported on {name}.", name, code="not-supported"
                )
            search.values[name] = value.replace("\\,", ",")
            search.used.append((name, value))
    if (search.page - 1) * search.count > MAX_OFFSET:
        raise invalid(f"Pages end after {MAX_OFFSET} results; narrow the search.", "_page", code="too-costly")
    return search


def _token(value: str) -> tuple[str | None, str]:
    """`system|code` -> (system, code); `|code` -> ("", code); `code` -> (None, code)."""
    if "|" not in value:
        return None, value
    system, _, code = value.partition("|")
    return system, code


def _birth_date(value: str) -> dt.date:
    match = _DATE.match(value)
    if match is None:
        raise invalid(f"birthdate must be a date such as 1970-01-31, not {value!r}.", "birthdate")
    prefix = match.group("prefix") or "eq"
    if prefix != "eq":
        raise invalid(
            f"The date prefix {prefix!r} is not supported; search one birth date.",
            "birthdate",
            code="not-supported",
        )
    text = match.group("date")
    if len(text) != 10:
        raise invalid("birthdate needs a full date (YYYY-MM-DD).", "birthdate", code="not-supported")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise invalid(f"{text} is not a calendar date.", "birthdate") from exc


def _own_mrn(value: str, mrn_system: str) -> bool:
    """Whether a bare identifier value has the shape of this organization's MRNs (`RSH0000042`)."""
    prefix = mrn_system.rsplit(":", 1)[-1].upper()
    text = value.strip().upper()
    return bool(prefix) and text.startswith(prefix) and text[len(prefix) :].isdigit()


def patient_query(search: Search, *, mrn_system: str) -> PatientQuery:
    """`identifier` with the organization's MRN system (or a bare value shaped like one of its MRNs)
    searches the MRN, which also finds the record a merged MRN now lives on; any other identifier
    searches the patients' other identifiers. `telecom` / `phone` match a phone number's digits."""
    values = search.values
    query = PatientQuery(
        name=values.get("name", ""), family=values.get("family", ""), given=values.get("given", "")
    )
    if "birthdate" in values:
        query.birth_date = _birth_date(values["birthdate"])
    if "identifier" in values:
        system, code = _token(values["identifier"])
        if not code:
            raise invalid(
                "identifier needs a value (system|value or value).", "identifier", code="not-supported"
            )
        if system == mrn_system or (system is None and _own_mrn(code, mrn_system)):
            query.mrn = code
        elif system:
            query.identifier = f"{system}|{code}"
        else:
            query.identifier = code
    for name in ("telecom", "phone"):
        if name in values:
            system, number = _token(values[name])
            if system and system not in PHONE_SYSTEMS:
                raise invalid(
                    f"Only phone numbers can be searched, not {system}.", name, code="not-supported"
                )
            if not any(ch.isdigit() for ch in number):
                raise invalid(f"{name} must be a phone number.", name)
            if query.phone and query.phone != number:
                raise invalid("telecom and phone disagree.", name)
            query.phone = number
    return query


def practitioner_query(search: Search) -> PractitionerQuery | None:
    """None when the criteria cannot match anything (an identifier of a system other than the NPI's)."""
    values = search.values
    query = PractitionerQuery(
        name=values.get("name", ""), family=values.get("family", ""), given=values.get("given", "")
    )
    if "identifier" in values:
        system, code = _token(values["identifier"])
        if not code:
            raise invalid(
                "identifier needs a value (system|value or value).", "identifier", code="not-supported"
            )
        if system and system != NPI_SYSTEM:
            return None
        if not code.isdigit():
            return None
        query.npi = code
    return query


def patient_reference(search: Search) -> tuple[str, str]:
    """The `patient` (or `subject`) a chart search is about: `123` or `Patient/123` -> ("patient", "123")."""
    name = "patient" if "patient" in search.values else "subject"
    value = search.values.get(name, "")
    if not value:
        raise invalid("Search by patient: patient=<id> is required.", "patient", code="required")
    resource_type, _, reference_id = value.rpartition("/")
    if resource_type and resource_type.rsplit("/", 1)[-1] != "Patient":
        raise invalid(f"{name} must refer to a Patient.", name)
    return name, reference_id
