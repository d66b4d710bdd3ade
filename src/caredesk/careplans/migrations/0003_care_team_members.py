"""A care plan's team becomes rows of its own: each role (choices.CareTeamRole), optionally filled by a
named staff user or practitioner of the organization. The roles kept so far in `CarePlan.care_team` (a JSON
list) are carried over as members without a name, in their order; going back writes the roles back into the
JSON list (the names are lost)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ROLES = [
    ("physician", "Primary care physician"),
    ("nurse", "Nurse"),
    ("coordinator", "Care coordinator"),
    ("pharmacist", "Pharmacist"),
    ("dietitian", "Dietitian"),
    ("educator", "Diabetes educator"),
    ("cardiologist", "Cardiologist"),
    ("pulmonologist", "Pulmonologist"),
    ("nephrologist", "Nephrologist"),
    ("respiratory_therapist", "Respiratory therapist"),
]


def roles_to_members(apps, schema_editor):
    CarePlan = apps.get_model("careplans", "CarePlan")
    CareTeamMember = apps.get_model("careplans", "CareTeamMember")
    known = {code for code, _ in ROLES}
    batch = []
    for plan_id, roles in CarePlan.objects.order_by("pk").values_list("pk", "care_team").iterator():
        for position, role in enumerate(r for r in (roles or []) if r in known):
            batch.append(CareTeamMember(plan_id=plan_id, position=position, role=role))
        if len(batch) >= 1000:
            CareTeamMember.objects.bulk_create(batch)
            batch = []
    CareTeamMember.objects.bulk_create(batch)


def members_to_roles(apps, schema_editor):
    CarePlan = apps.get_model("careplans", "CarePlan")
    CareTeamMember = apps.get_model("careplans", "CareTeamMember")
    roles: dict[int, list[str]] = {}
    for plan_id, role in CareTeamMember.objects.order_by("plan_id", "position", "pk").values_list(
        "plan_id", "role"
    ):
        roles.setdefault(plan_id, []).append(role)
    for plan_id, codes in roles.items():
        CarePlan.objects.filter(pk=plan_id).update(care_team=codes)


class Migration(migrations.Migration):
    dependencies = [
        ("careplans", "0002_activity_education_material"),
        ("practitioners", "0002_practitioner_given_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CareTeamMember",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("role", models.CharField(choices=ROLES, max_length=30)),
                (
                    "plan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="team_members",
                        to="careplans.careplan",
                    ),
                ),
                (
                    "practitioner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="practitioners.practitioner",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["position", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("role__in", [code for code, _ in ROLES])),
                        name="careteam_role_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("user__isnull", True), ("practitioner__isnull", True), _connector="OR"
                        ),
                        name="careteam_one_kind_of_member",
                    ),
                ],
            },
        ),
        migrations.RunPython(roles_to_members, members_to_roles),
        migrations.RemoveField(model_name="careplan", name="care_team"),
    ]
