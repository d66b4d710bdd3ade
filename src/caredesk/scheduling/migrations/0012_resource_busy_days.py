"""Busy days (ResourceBusyDay): each resource's busy minutes per UTC day, which the booking services write
in the same transaction as the bookings (services.refresh_busy_days) and the slot search reads first.

The services only ever make a row exact. Anything else that removes or changes a booking row (an
appointment deleted, a bulk update) must not leave a row busier than the bookings: triggers delete the
rows of the days an old booking range met, on every UPDATE or DELETE of scheduling_appointmentresource
(a missing row counts as a free day: the search then reads that day's bookings). The services write the
rows again afterwards in the same transaction. Inserts need nothing: a row that misses a booking is
freer than the bookings, which only costs speed.

Empty until `caredesk rebuild_busy_days` runs (at this deploy). Django rebuilds a SQLite table to alter
it, which drops its triggers: a later migration that alters scheduling_appointmentresource must create
them again (tests/scheduling/test_busy_days.py fails without them). Reversible: triggers and table go.
"""

import django.db.models.deletion
from django.db import migrations, models

PG_UP = [
    """CREATE OR REPLACE FUNCTION sched_busy_day_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM scheduling_resourcebusyday
  WHERE resource_id = OLD.resource_id
    AND day BETWEEN (OLD.starts_at AT TIME ZONE 'UTC')::date
                AND ((OLD.ends_at - interval '1 microsecond') AT TIME ZONE 'UTC')::date;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER sched_busy_day_forget AFTER UPDATE OR DELETE ON scheduling_appointmentresource
       FOR EACH ROW EXECUTE FUNCTION sched_busy_day_forget()""",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS sched_busy_day_forget ON scheduling_appointmentresource",
    "DROP FUNCTION IF EXISTS sched_busy_day_forget()",
]
SQLITE_FORGET = """
  DELETE FROM scheduling_resourcebusyday
  WHERE resource_id = OLD.resource_id
    AND day BETWEEN date(OLD.starts_at) AND date(OLD.ends_at, '-1 second');"""
SQLITE_UP = [
    f"CREATE TRIGGER sched_busy_day_forget_update AFTER UPDATE ON scheduling_appointmentresource\n"
    f"BEGIN{SQLITE_FORGET}\nEND",
    f"CREATE TRIGGER sched_busy_day_forget_delete AFTER DELETE ON scheduling_appointmentresource\n"
    f"BEGIN{SQLITE_FORGET}\nEND",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS sched_busy_day_forget_update",
    "DROP TRIGGER IF EXISTS sched_busy_day_forget_delete",
]


def forwards(apps, schema_editor):
    statements = {"postgresql": PG_UP, "sqlite": SQLITE_UP}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = {"postgresql": PG_DOWN, "sqlite": SQLITE_DOWN}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0011_setup_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="ResourceBusyDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField(help_text="UTC day")),
                (
                    "busy",
                    models.TextField(blank=True, help_text="Start and end of each busy range, epoch minutes"),
                ),
                (
                    "resource",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="scheduling.resource",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("resource", "day"), name="sched_busy_day_once")
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
