"""Read queries for practitioners, restricted to the actor's organization.

Practitioners are directory data, not patient data, so reads are not audited (writes are, in services).
The entry points (views, JSON API, FHIR) declare PRACTITIONER_VIEW; these functions scope every query to
`actor.organization_id`, so a practitioner of another organization is indistinguishable from a missing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from caredesk.core.context import Actor
from caredesk.core.text import digits, name_key, prefix_upper_bound

from .errors import PractitionerNotFound
from .models import Practitioner

MAX_PAGE_SIZE = 200
_NPI_LIKE = re.compile(r"^\s*\d[\d\s-]{8,}\s*$")


@dataclass
class PractitionerQuery:
    text: str = ""  # free search: name fragment, NPI
    name: str = ""
    family: str = ""
    given: str = ""
    npi: str = ""
    specialty: str = ""
    location_id: int | None = None
    active_only: bool = False


@dataclass
class PractitionerPage:
    results: list[Practitioner]
    page: int
    page_size: int
    has_next: bool


def practitioner_queryset(actor: Actor) -> QuerySet[Practitioner]:
    """Practitioners of the actor's organization; none for an actor without one."""
    if actor.organization_id is None:
        return Practitioner.objects.none()
    return Practitioner.objects.filter(organization_id=actor.organization_id)


def _starts_with(column: str, fragment: str) -> Q:
    """`column` starts with `fragment`, as an index range scan (the keys are lower-case ASCII)."""
    return Q(**{f"{column}__gte": fragment, f"{column}__lt": prefix_upper_bound(fragment)})


def _name_condition(text: str) -> Q | None:
    """A name fragment as typed: "smi", "jane", "smith, ja", "jane smi", "de la cr". Each part matches
    the start of a key; None when the text holds nothing to search on."""
    if "," in text:
        family_part, given_part = text.split(",", 1)
        family, given = name_key(family_part), name_key(given_part)
        if not family and not given:
            return None
        condition = Q()
        if family:
            condition &= _starts_with("family_key", family)
        if given:
            condition &= _starts_with("given_key", given)
        return condition
    key = name_key(text)
    if not key:
        return None
    condition = _starts_with("family_key", key) | _starts_with("given_key", key)
    words = key.split(" ")
    # "jane smi" (given then family) and "smith ja" (family then given), for every split point.
    for split in range(1, len(words)):
        first, rest = " ".join(words[:split]), " ".join(words[split:])
        condition |= _starts_with("given_key", first) & _starts_with("family_key", rest)
        condition |= _starts_with("family_key", first) & _starts_with("given_key", rest)
    return condition


def search_practitioners(
    *, actor: Actor, query: PractitionerQuery, page: int = 1, page_size: int = 25
) -> PractitionerPage:
    """All given criteria must match. `text` that looks like an NPI (digits) matches the NPI exactly,
    otherwise it is a name fragment. Ordered by family name, given name."""
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    qs = practitioner_queryset(actor)

    text = query.text.strip()
    if text:
        if _NPI_LIKE.match(text):
            qs = qs.filter(npi=digits(text))
        else:
            condition = _name_condition(text)
            if condition is not None:
                qs = qs.filter(condition)
    if query.name.strip():
        condition = _name_condition(query.name)
        if condition is not None:
            qs = qs.filter(condition)
    if family := name_key(query.family):
        qs = qs.filter(_starts_with("family_key", family))
    if given := name_key(query.given):
        qs = qs.filter(_starts_with("given_key", given))
    if query.npi.strip():
        qs = qs.filter(npi=digits(query.npi))
    if query.specialty:
        qs = qs.filter(specialty=query.specialty)
    if query.location_id is not None:
        qs = qs.filter(locations__id=query.location_id)
    if query.active_only:
        qs = qs.filter(active=True)

    offset = (page - 1) * page_size
    rows = list(
        qs.order_by("family_key", "given_key", "id").prefetch_related("locations")[
            offset : offset + page_size + 1
        ]
    )
    return PractitionerPage(
        results=rows[:page_size], page=page, page_size=page_size, has_next=len(rows) > page_size
    )


def get_practitioner(*, actor: Actor, practitioner_id: int) -> Practitioner:
    """PractitionerNotFound (404) when missing or outside the actor's organization."""
    try:
        return (
            practitioner_queryset(actor)
            .select_related("user")
            .prefetch_related("locations")
            .get(pk=practitioner_id)
        )
    except Practitioner.DoesNotExist as exc:
        raise PractitionerNotFound(
            f"No practitioner with id {practitioner_id}.", details={"id": practitioner_id}
        ) from exc
