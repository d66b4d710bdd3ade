"""Search by given name as well as family name: a `given_key` column beside `family_key`, both filled for
existing rows, both with the "C" collation on PostgreSQL (so their B-tree indexes serve prefix range scans
byte-wise; the keys are lower-case ASCII), and indexes scoped by organization. Reversible."""

import re

from django.db import migrations, models
from unidecode import unidecode

KEY_COLUMNS = ["family_key", "given_key"]


def _key(value):
    # The same folding as caredesk.core.text.name_key at the time of writing (migrations import no app code).
    folded = unidecode(value or "").lower().replace("'", "").replace("-", " ")
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]+", " ", folded)).strip()


def fill_keys(apps, schema_editor):
    Practitioner = apps.get_model("practitioners", "Practitioner")
    for practitioner in Practitioner.objects.all().only("pk", "given_name", "family_name"):
        Practitioner.objects.filter(pk=practitioner.pk).update(
            family_key=_key(practitioner.family_name)[:100], given_key=_key(practitioner.given_name)[:100]
        )


def to_c_collation(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in KEY_COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE practitioners_practitioner ALTER COLUMN {column} TYPE varchar(100) COLLATE "C"'
        )


def to_default_collation(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in KEY_COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE practitioners_practitioner ALTER COLUMN {column} TYPE varchar(100) COLLATE "default"'
        )


class Migration(migrations.Migration):
    dependencies = [("practitioners", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="practitioner",
            name="given_key",
            field=models.CharField(default="", editable=False, max_length=100),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RunPython(to_c_collation, to_default_collation),
        migrations.AddIndex(
            model_name="practitioner",
            index=models.Index(
                fields=["organization", "family_key", "given_key"], name="practitioner_family_key"
            ),
        ),
        migrations.AddIndex(
            model_name="practitioner",
            index=models.Index(fields=["organization", "given_key"], name="practitioner_given_key"),
        ),
    ]
