"""Audit action codes no longer repeat the registry as field choices, so new codes need no migration."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_worklist_transitions_audit_codes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.PositiveSmallIntegerField(),
        ),
    ]
