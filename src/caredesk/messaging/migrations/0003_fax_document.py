"""A fax may carry the chart document that was faxed (faxes only); the staff-to-staff party."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_letters"),
        ("patients", "0003_identifier_value_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="communication",
            name="document",
            field=models.ForeignKey(
                blank=True,
                help_text="The chart document faxed (faxes only)",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="patients.document",
            ),
        ),
        migrations.AlterField(
            model_name="communication",
            name="party",
            field=models.CharField(
                choices=[
                    ("patient", "Patient"),
                    ("caregiver", "Caregiver / family"),
                    ("practitioner", "Practitioner / office"),
                    ("payer", "Payer"),
                    ("pharmacy", "Pharmacy"),
                    ("staff", "Staff (internal, between colleagues)"),
                    ("other", "Other"),
                ],
                default="patient",
                max_length=15,
            ),
        ),
        migrations.AddConstraint(
            model_name="communication",
            constraint=models.CheckConstraint(
                condition=models.Q(("document__isnull", True), ("channel", "fax"), _connector="OR"),
                name="communication_document_only_on_faxes",
            ),
        ),
    ]
