"""Goals gain a due date; goals and activities gain their own status (active, cancelled) with the reason and
the day they were cancelled, so cancelling one from the plan page keeps it."""

from django.db import migrations, models

STATUSES = [("active", "Active"), ("cancelled", "Cancelled")]


class Migration(migrations.Migration):
    dependencies = [
        ("careplans", "0003_care_team_members"),
    ]

    operations = [
        migrations.AddField(
            model_name="goal",
            name="due_on",
            field=models.DateField(
                blank=True, help_text="The date the target should be reached by", null=True
            ),
        ),
        migrations.AddField(
            model_name="goal",
            name="status",
            field=models.CharField(choices=STATUSES, default="active", max_length=10),
        ),
        migrations.AddField(
            model_name="goal",
            name="cancel_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="goal",
            name="cancelled_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="activity",
            name="status",
            field=models.CharField(choices=STATUSES, default="active", max_length=10),
        ),
        migrations.AddField(
            model_name="activity",
            name="cancel_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="activity",
            name="cancelled_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="goal",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["active", "cancelled"])), name="goal_status_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="activity",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["active", "cancelled"])), name="activity_status_valid"
            ),
        ),
    ]
