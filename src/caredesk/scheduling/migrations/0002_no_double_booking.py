"""The database refuses to double-book a resource: two active AppointmentResource rows of one resource
whose [starts_at, ends_at) ranges overlap cannot both exist, whatever the application does.

PostgreSQL: an exclusion constraint (btree_gist) over resource (=) and tstzrange(starts_at, ends_at)
(&&), for active rows only. A concurrent booking that loses the race fails with SQLSTATE 23P01
(exclusion_violation), which the services turn into SlotConflict.

SQLite: BEFORE INSERT / BEFORE UPDATE triggers raise a constraint error when an overlapping active row
exists. Writers are serialized anyway (settings start every transaction IMMEDIATE), so the services'
own check inside the booking transaction already sees every committed booking; the triggers are the
database's last word, as on PostgreSQL. Datetimes are stored as UTC text of one format, so text
comparison orders them.

Django alters a SQLite table by rebuilding it, which drops its triggers: a later migration that alters
this table must create them again (tests/scheduling/test_database_guard.py fails if they are missing).

Other databases: nothing (the services' check alone). Reversible: the constraint and triggers are
dropped; the btree_gist extension stays (other schemas may use it, and it costs nothing).
"""

from django.db import migrations
from django.db.models import Func, Q

CONSTRAINT = "sched_booking_no_overlap"
SQLITE_UP = [
    """CREATE TRIGGER sched_booking_no_overlap_insert BEFORE INSERT ON scheduling_appointmentresource
       WHEN NEW.active
       BEGIN
         SELECT RAISE(ABORT, 'sched_booking_no_overlap: the resource is already booked at an overlapping time')
         WHERE EXISTS (SELECT 1 FROM scheduling_appointmentresource AS other
                       WHERE other.resource_id = NEW.resource_id AND other.active
                         AND other.starts_at < NEW.ends_at AND other.ends_at > NEW.starts_at);
       END""",
    """CREATE TRIGGER sched_booking_no_overlap_update
       BEFORE UPDATE OF resource_id, starts_at, ends_at, active ON scheduling_appointmentresource
       WHEN NEW.active
       BEGIN
         SELECT RAISE(ABORT, 'sched_booking_no_overlap: the resource is already booked at an overlapping time')
         WHERE EXISTS (SELECT 1 FROM scheduling_appointmentresource AS other
                       WHERE other.resource_id = NEW.resource_id AND other.active AND other.id <> NEW.id
                         AND other.starts_at < NEW.ends_at AND other.ends_at > NEW.starts_at);
       END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS sched_booking_no_overlap_insert",
    "DROP TRIGGER IF EXISTS sched_booking_no_overlap_update",
]


class TsTzRange(Func):
    function = "TSTZRANGE"


def _exclusion_constraint():
    # Imported here, not at the top: django.contrib.postgres needs the PostgreSQL driver, which a
    # SQLite-only installation may lack.
    from django.contrib.postgres.constraints import ExclusionConstraint
    from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators

    return ExclusionConstraint(
        name=CONSTRAINT,
        index_type="gist",
        expressions=[
            ("resource", RangeOperators.EQUAL),
            (
                TsTzRange("starts_at", "ends_at", RangeBoundary(), output_field=DateTimeRangeField()),
                RangeOperators.OVERLAPS,
            ),
        ],
        condition=Q(active=True),
    )


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        schema_editor.add_constraint(
            apps.get_model("scheduling", "AppointmentResource"), _exclusion_constraint()
        )
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.remove_constraint(
            apps.get_model("scheduling", "AppointmentResource"), _exclusion_constraint()
        )
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
