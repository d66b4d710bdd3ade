"""The navigation bar: what the signed-in user may open, grouped the way the desk works."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from .permissions import Permission, permissions_for


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool = False


@dataclass(frozen=True)
class NavGroup:
    """A menu of the navigation bar; a group with one link shows as that link alone."""

    label: str
    links: tuple[NavLink, ...]

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


# (group label, ((link label, url name, permission needed), ...)), in the bar's order. The worklist, the
# coordinator's home, stands alone; the portal's pages are the patient's whole bar.
_MENU: tuple[tuple[str, tuple[tuple[str, str, Permission], ...]], ...] = (
    (
        "Patients",
        (
            ("Patient lookup", "patients:search", Permission.PATIENT_SEARCH),
            ("Register patient", "patients:register", Permission.PATIENT_CREATE),
        ),
    ),
    ("Worklist", (("Worklist", "worklist:list", Permission.TASK_VIEW),)),
    (
        "Scheduling",
        (
            ("Schedule", "scheduling:calendar", Permission.SCHEDULE_VIEW),
            ("Waitlist", "scheduling:waitlist_overview", Permission.APPOINTMENT_BOOK),
            ("Surgery", "scheduling:surgery", Permission.SCHEDULE_MANAGE),
        ),
    ),
    (
        "Care",
        (
            ("Referrals", "referrals:list", Permission.REFERRAL_VIEW),
            ("Orders", "orders:list", Permission.ORDER_VIEW),
            ("Transitions", "transitions:encounters", Permission.ENCOUNTER_VIEW),
            ("CCM", "careplans:ccm", Permission.CCM_REPORT),
            ("Education", "education:library", Permission.EDUCATION_VIEW),
        ),
    ),
    (
        "Billing",
        (
            ("Eligibility", "coverage:batches", Permission.ELIGIBILITY_CHECK),
            ("Payers", "coverage:payers", Permission.PAYER_MANAGE),
            ("Claims", "billing:claims", Permission.BILLING_VIEW),
        ),
    ),
    (
        "Operations",
        (
            ("Practitioners", "practitioners:list", Permission.PRACTITIONER_VIEW),
            ("Credentialing", "credentialing:index", Permission.CREDENTIAL_VIEW),
            ("Supplies", "inventory:stock", Permission.INVENTORY_VIEW),
            ("Audit trail", "audit:list", Permission.AUDIT_VIEW),
            ("Admin", "admin:index", Permission.ADMIN_SITE),
        ),
    ),
    ("My record", (("My record", "patients:portal_home", Permission.PORTAL_OWN_RECORD),)),
    ("My appointments", (("My appointments", "scheduling:my_appointments", Permission.PORTAL_OWN_RECORD),)),
    ("My care plans", (("My care plans", "careplans:mine", Permission.PORTAL_OWN_RECORD),)),
    (
        "My health information",
        (("My health information", "education:mine", Permission.PORTAL_OWN_RECORD),),
    ),
)


def nav_groups(permissions: frozenset[str], path: str) -> list[NavGroup]:
    """The menus `permissions` open, each with only the links they allow; the link whose page `path` is,
    or lies under most closely (the waitlist, not the schedule, for /scheduling/waitlist/3/), is current."""
    allowed = [
        (label, [(name, reverse(url_name)) for name, url_name, needed in entries if needed in permissions])
        for label, entries in _MENU
    ]
    under = [url for _label, urls in allowed for _name, url in urls if _under(path, url)]
    current = max(under, key=len, default=None)
    return [
        NavGroup(label, tuple(NavLink(name, url, url == current) for name, url in urls))
        for label, urls in allowed
        if urls
    ]


def _under(path: str, url: str) -> bool:
    return path == url or (url != "/" and url.endswith("/") and path.startswith(url))


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the navigation bar may show: the signed-in user's menus, and their permissions as a set of
    strings (`perms_set`, with `P` naming them) for pages that show or hide their own buttons."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"perms_set": frozenset(), "P": Permission, "nav_groups": []}
    perms = permissions_for(user.role) if user.organization_id else frozenset()
    return {
        "perms_set": perms,
        "P": {p.name: p.value for p in Permission},
        "nav_groups": nav_groups(perms, request.path),
    }
