"""An organization's scheduling set-up, read once per process and kept until it changes.

The slot search and the booking service read the same set-up every time: the visit type, its
requirements and who offers it, the locations, the active resources, the templates with their windows,
the exceptions, and what the credential check reads (credentialing.CredentialSetup). All of it is kept
here per organization under the organization's set-up version (models.SetupVersion), which database
triggers draw anew in the same transaction as any write to those tables (migration 0011). Each search or
booking reads the version (one query, `for_organization`): the copy kept is used when it carries that
version, else the set-up is read again (13 queries) and kept. So a committed change made by any process
is seen by the next search or booking of every process, and a search inside the changing transaction
sees the change too.

What is kept is shared between the threads of a process: plain values, and model instances handed out
as copies (`visit_type`, `location`). An organization without a version row yet (no set-up written since
the migration) is read every time and not kept.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from caredesk.accounts.models import Location
from caredesk.credentialing import services as credentialing

from . import clock, rules
from .models import (
    AvailabilityException,
    AvailabilityTemplate,
    AvailabilityWindow,
    Resource,
    SetupVersion,
    VisitType,
    VisitTypeRequirement,
)

# Exceptions that ended this long before the set-up was read are not kept: a search or booking that
# starts before then reads them from the database.
EXCEPTIONS_KEPT_BEFORE = dt.timedelta(days=2)


@dataclass(frozen=True)
class TemplateRow:
    id: int
    location_id: int
    resource_id: int
    template: rules.WeeklyTemplate  # equal templates are one object (Schedule.available expands once)


@dataclass(frozen=True)
class ExceptionRow:
    resource_id: int | None
    location_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    interval: rules.Interval


@dataclass
class Setup:
    organization_id: int
    version: int | None
    visit_types: dict[int, VisitType]
    requirements: dict[int, tuple[rules.Requirement, ...]]
    offered: dict[int, frozenset[int]]
    locations: tuple[Location, ...]  # by name, in the database's order
    resources: list[rules.ResourceInfo]  # active ones (resource_infos)
    templates: tuple[TemplateRow, ...]  # templates with windows, by id
    exceptions: tuple[ExceptionRow, ...]
    exceptions_since: dt.datetime  # every exception that ends after this is in `exceptions`
    credentials: credentialing.CredentialSetup
    _locations_by_id: dict[int, Location] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._locations_by_id = {location.pk: location for location in self.locations}

    def visit_type(self, visit_type_id: int, *, active_only: bool = True) -> VisitType | None:
        """A copy of the visit type (None when unknown here, or inactive with `active_only`)."""
        found = self.visit_types.get(visit_type_id)
        if found is None or (active_only and not found.active):
            return None
        return copy.copy(found)

    def location(self, location_id: int) -> Location | None:
        found = self._locations_by_id.get(location_id)
        return copy.copy(found) if found is not None else None

    def all_locations(self) -> list[Location]:
        return [copy.copy(location) for location in self.locations]

    def search_templates(
        self, wanted: dict[int, set[int]], first_day: dt.date, last_day: dt.date
    ) -> dict[int, dict[int, list[rules.WeeklyTemplate]]]:
        """selectors._search_templates from the set-up."""
        out: dict[int, dict[int, list[rules.WeeklyTemplate]]] = {}
        for row in self.templates:
            resources = wanted.get(row.location_id)
            if resources is None or row.resource_id not in resources:
                continue
            template = row.template
            if template.effective_from > last_day or (
                template.effective_until is not None and template.effective_until < first_day
            ):
                continue
            out.setdefault(row.location_id, {}).setdefault(row.resource_id, []).append(template)
        return out

    def templates_at(
        self, resource_ids: Sequence[int], location_id: int, first_day: dt.date, last_day: dt.date
    ) -> dict[int, list[rules.WeeklyTemplate]]:
        """selectors.load_templates from the set-up (templates without windows, which make no working
        time, are left out)."""
        return self.search_templates({location_id: set(resource_ids)}, first_day, last_day).get(
            location_id, {}
        )

    def search_exceptions(
        self, plans: Sequence[tuple[int, Sequence[int], dt.datetime, dt.datetime]]
    ) -> dict[int, dict[int, list[rules.Interval]]] | None:
        """selectors._search_exceptions from the set-up; None when a plan starts before what is kept."""
        if any(start < self.exceptions_since for _location, _ids, start, _end in plans):
            return None
        out: dict[int, dict[int, list[rules.Interval]]] = {}
        for location_id, ids, start, end in plans:
            shared: list[rules.Interval] = []
            own: dict[int, list[rules.Interval]] = defaultdict(list)
            wanted = set(ids)
            for row in self.exceptions:
                if not (row.ends_at > start and row.starts_at < end):
                    continue
                if row.resource_id is None:
                    if row.location_id is None or row.location_id == location_id:
                        shared.append(row.interval)
                elif row.resource_id in wanted:
                    own[row.resource_id].append(row.interval)
            out[location_id] = {i: own.get(i, []) + shared for i in ids}
        return out


_kept: dict[int, Setup] = {}


def current_version(organization_id: int) -> int | None:
    """The organization's set-up version (one query); None before any set-up was written."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT version FROM {SetupVersion._meta.db_table} WHERE organization_id = %s",  # noqa: S608
            [organization_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row is not None else None


def for_organization(organization_id: int) -> Setup:
    """The organization's set-up as it is now: the kept copy when its version is current."""
    version = current_version(organization_id)
    kept = _kept.get(organization_id)
    if kept is not None and version is not None and kept.version == version:
        return kept
    setup = load(organization_id, version)
    if version is not None:
        _kept[organization_id] = setup
    else:
        _kept.pop(organization_id, None)
    return setup


def forget() -> None:
    """Drop every kept set-up (tests that swap databases)."""
    _kept.clear()


def resource_infos(organization_id: int) -> list[rules.ResourceInfo]:
    """The organization's active resources as values, in a stable order (kind, name, id)."""
    return [
        rules.ResourceInfo(
            id=row["id"],
            kind=row["kind"],
            name=row["name"],
            location_id=row["location_id"],
            practitioner_id=row["practitioner_id"],
            category=row["category"],
        )
        for row in Resource.objects.filter(organization_id=organization_id, active=True)
        .order_by("kind", "name", "id")
        .values("id", "kind", "name", "location_id", "practitioner_id", "category")
    ]


def load(organization_id: int, version: int | None) -> Setup:
    """Read the organization's set-up (13 queries), after its version was read."""
    visit_types = {
        visit_type.pk: visit_type for visit_type in VisitType.objects.filter(organization_id=organization_id)
    }
    requirements: dict[int, list[rules.Requirement]] = defaultdict(list)
    for requirement in VisitTypeRequirement.objects.filter(visit_type__organization_id=organization_id):
        requirements[requirement.visit_type_id].append(
            rules.Requirement(
                kind=requirement.kind, resource_id=requirement.resource_id, category=requirement.category
            )
        )
    offered: dict[int, set[int]] = defaultdict(set)
    through: Any = VisitType.practitioners.through
    for visit_type_id, practitioner_id in through.objects.filter(
        visittype__organization_id=organization_id
    ).values_list("visittype_id", "practitioner_id"):
        offered[visit_type_id].add(practitioner_id)
    resources = resource_infos(organization_id)
    since = clock.now() - EXCEPTIONS_KEPT_BEFORE
    exceptions = tuple(
        ExceptionRow(
            resource_id,
            location_id,
            starts_at,
            ends_at,
            (rules.to_minute(starts_at), rules.to_minute_ceil(ends_at)),
        )
        for resource_id, location_id, starts_at, ends_at in AvailabilityException.objects.filter(
            organization_id=organization_id, ends_at__gt=since
        )
        .order_by("pk")
        .values_list("resource_id", "location_id", "starts_at", "ends_at")
    )
    return Setup(
        organization_id=organization_id,
        version=version,
        visit_types=visit_types,
        requirements={
            visit_type_id: tuple(requirements.get(visit_type_id, ())) for visit_type_id in visit_types
        },
        offered={visit_type_id: frozenset(offered.get(visit_type_id, ())) for visit_type_id in visit_types},
        locations=tuple(Location.objects.filter(organization_id=organization_id).order_by("name")),
        resources=resources,
        templates=_templates(organization_id),
        exceptions=exceptions,
        exceptions_since=since,
        credentials=credentialing.load_credential_setup(organization_id),
    )


def _templates(organization_id: int) -> tuple[TemplateRow, ...]:
    """Every template of the organization that has windows, by id; equal windows and equal templates
    are one object each."""
    rows = list(
        AvailabilityTemplate.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pk", "location_id", "resource_id", "effective_from", "effective_until")
    )
    windows: dict[int, list[rules.WeeklyWindow]] = defaultdict(list)
    shared_windows: dict[tuple[Any, ...], rules.WeeklyWindow] = {}
    for template_id, weekday, start, end, interval, reserved, held in (
        AvailabilityWindow.objects.filter(template__organization_id=organization_id)
        .order_by("template_id", "weekday", "start_time", "pk")
        .values_list(
            "template_id",
            "weekday",
            "start_time",
            "end_time",
            "week_interval",
            "reserved_for_id",
            "reserved_for_surgeon_id",
        )
    ):
        values = (weekday, start, end, interval, reserved, held)
        window = shared_windows.get(values)
        if window is None:
            window = shared_windows[values] = rules.WeeklyWindow(
                weekday, start, end, interval, reserved, held
            )
        windows[template_id].append(window)
    shared_templates: dict[tuple[Any, ...], rules.WeeklyTemplate] = {}
    out = []
    for template_id, location_id, resource_id, since, until in rows:
        if template_id not in windows:
            continue
        same = (since, until, *map(id, windows[template_id]))
        template = shared_templates.get(same)
        if template is None:
            template = shared_templates[same] = rules.WeeklyTemplate(
                since, until, tuple(windows[template_id])
            )
        out.append(TemplateRow(template_id, location_id, resource_id, template))
    return tuple(out)
