"""The busy-time index covers what "busy between A and B" reads (resource, start, end, appointment), so the
slot search and the booking check answer from the index alone, without a table visit per booking row
(bench/slot_scale.py: 1,000,000+ appointments). The new index is built before the old one goes, so the
lookups never lack one. Reversible (the old index comes back). Index changes are CREATE / DROP INDEX on
SQLite too: the table is not rebuilt and migration 0002's triggers stay.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0006_surgery_planning")]

    operations = [
        migrations.AddIndex(
            model_name="appointmentresource",
            index=models.Index(
                condition=models.Q(("active", True)),
                fields=["resource", "starts_at", "ends_at", "appointment"],
                name="sched_booking_busy_span",
            ),
        ),
        migrations.RemoveIndex(model_name="appointmentresource", name="sched_booking_busy"),
    ]
