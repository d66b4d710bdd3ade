"""The navigation bar's menus: each role sees the pages its permissions open, grouped, and nothing else;
the page being shown is marked."""

from __future__ import annotations

from caredesk.accounts.context_processors import nav_groups
from caredesk.accounts.permissions import Role, permissions_for


def _labels(role: str, path: str = "/") -> dict[str, list[str]]:
    return {g.label: [link.label for link in g.links] for g in nav_groups(permissions_for(role), path)}


def test_a_coordinator_sees_the_desk_grouped_and_no_administration() -> None:
    menus = _labels(Role.COORDINATOR)
    assert menus["Worklist"] == ["Worklist"]
    assert {"Referrals", "Transitions"} <= set(menus["Care"])
    assert "Schedule" in menus["Scheduling"]
    assert "Audit trail" not in menus.get("Operations", [])
    assert "My record" not in menus


def test_a_patient_sees_only_the_portal() -> None:
    menus = _labels(Role.PATIENT)
    assert list(menus) == ["My record", "My appointments", "My care plans", "My health information"]


def test_the_page_shown_is_marked_by_its_closest_link() -> None:
    groups = nav_groups(permissions_for(Role.FRONT_DESK), "/scheduling/waitlist/12/")
    current = [(g.label, link.label) for g in groups for link in g.links if link.current]
    assert current == [("Scheduling", "Waitlist")]  # not the schedule, whose address is a prefix
    assert [g.label for g in groups if g.current] == ["Scheduling"]
    assert not any(
        link.current for g in nav_groups(permissions_for(Role.FRONT_DESK), "/") for link in g.links
    )


def test_no_permissions_no_menus() -> None:
    assert nav_groups(frozenset(), "/worklist/") == []
