"""On PostgreSQL, give the name search keys the "C" collation so their B-tree indexes serve prefix
range scans byte-wise (the keys are lower-case ASCII, see core.text.name_key). SQLite already compares
byte-wise. Reversible: the down step returns the columns to the database's default collation."""

from django.db import migrations

COLUMNS = ["family_key", "given_key"]


def to_c(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE patients_patient ALTER COLUMN {column} TYPE varchar(100) COLLATE "C"'
        )


def to_default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE patients_patient ALTER COLUMN {column} TYPE varchar(100) COLLATE "default"'
        )


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(to_c, to_default)]
