"""The anesthesia provider the surgery planner assigns to each case of a plan (nullable: plans drafted
before, or in an organization without anesthesia providers on file, have none). Reversible."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0007_booking_busy_span"),
    ]

    operations = [
        migrations.AddField(
            model_name="surgeryplanitem",
            name="anesthetist",
            field=models.ForeignKey(
                blank=True,
                help_text="The anesthesia provider (a practitioner resource of category anesthesia)",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="scheduling.resource",
            ),
        ),
    ]
