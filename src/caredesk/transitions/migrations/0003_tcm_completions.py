# TCM: which logged contact and which fulfilled appointment completed an episode's contact and visit.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("scheduling", "0005_waitlist"),
        ("transitions", "0002_discharge_checklist_transfer_packages"),
    ]

    operations = [
        migrations.AddField(
            model_name="tcmepisode",
            name="contact_communication",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="messaging.communication",
            ),
        ),
        migrations.AddField(
            model_name="tcmepisode",
            name="contact_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="tcmepisode",
            name="visit_appointment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="scheduling.appointment",
            ),
        ),
        migrations.AddField(
            model_name="tcmepisode",
            name="visit_on",
            field=models.DateField(blank=True, null=True),
        ),
    ]
