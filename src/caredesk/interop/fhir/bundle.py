"""Searchset Bundles. Pure: the caller gives the resources, their URLs and the page links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from .common import compact, instant


@dataclass(frozen=True)
class PageLinks:
    """Where a search page lives: the resource's search URL, the criteria used, and the paging."""

    base_url: str  # e.g. https://host/fhir/Patient
    criteria: Sequence[tuple[str, str]]
    count: int
    page: int
    has_next: bool

    def url(self, page: int) -> str:
        params = [*self.criteria, ("_count", str(self.count)), ("_page", str(page))]
        return f"{self.base_url}?{urlencode(params)}"


def known_total(page: int, count: int, shown: int, has_next: bool) -> int | None:
    """The total when the last page is in hand (nothing after it, and it is not past the end), else None:
    counting every match would cost more than the page itself."""
    if has_next or (shown == 0 and page > 1):
        return None
    return (page - 1) * count + shown


def searchset(
    resources: Sequence[FHIRAbstractModel],
    *,
    resource_url: str,
    links: PageLinks,
    total: int | None = None,
) -> Bundle:
    """`resource_url` is the base for each entry's fullUrl (`https://host/fhir`); `total` when counted."""
    link_rows = [{"relation": "self", "url": links.url(links.page)}]
    if links.page > 1:
        link_rows.append({"relation": "previous", "url": links.url(links.page - 1)})
    if links.has_next:
        link_rows.append({"relation": "next", "url": links.url(links.page + 1)})
    entries = [
        {
            "fullUrl": f"{resource_url}/{resource.get_resource_type()}/{resource.id}",  # type: ignore[attr-defined]
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    data = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(timezone.now()),
        "total": total,
        "link": link_rows,
        "entry": entries,
    }
    return Bundle.model_validate(compact(data))
