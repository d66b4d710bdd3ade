"""The organization-wide set-up version (SetupVersion) and the triggers that draw a new one, in the same
transaction, whenever a row of the set-up the slot search and the booking check read is inserted,
updated or deleted. Processes cache that set-up under the version (scheduling.setup_cache).

The organization of a row: its own `organization_id`; for a template's windows, the template's; for a
visit type's requirements and its practitioners (the many-to-many table), the visit type's. The new
version is a random 63-bit number (never counted up: a number drawn inside a transaction that rolled back
must not come back for other data).

PostgreSQL: one plpgsql function, AFTER ... FOR EACH ROW triggers on every table. SQLite: three AFTER
triggers per table (insert, update, delete). Django alters a SQLite table by rebuilding it, which drops
its triggers: a later migration that alters one of these tables must create them again
(tests/scheduling/test_setup_cache.py fails if one is missing). Existing organizations get a version row
here. Reversible: the triggers, the function and the table go.
"""

from django.db import migrations, models

# table -> how to find the organization of a row (`{row}` is NEW or OLD)
TABLES = {
    "accounts_location": "{row}.organization_id",
    "practitioners_practitioner": "{row}.organization_id",
    "scheduling_resource": "{row}.organization_id",
    "scheduling_visittype": "{row}.organization_id",
    "scheduling_visittyperequirement": (
        "(SELECT organization_id FROM scheduling_visittype WHERE id = {row}.visit_type_id)"
    ),
    "scheduling_visittype_practitioners": (
        "(SELECT organization_id FROM scheduling_visittype WHERE id = {row}.visittype_id)"
    ),
    "scheduling_availabilitytemplate": "{row}.organization_id",
    "scheduling_availabilitywindow": (
        "(SELECT organization_id FROM scheduling_availabilitytemplate WHERE id = {row}.template_id)"
    ),
    "scheduling_availabilityexception": "{row}.organization_id",
    "credentialing_statelicense": "{row}.organization_id",
    "credentialing_dearegistration": "{row}.organization_id",
    "credentialing_privilege": "{row}.organization_id",
    "credentialing_credentialingconfig": "{row}.organization_id",
}
PREFIX = "sched_setup_changed"

PG_BUMP = """
CREATE OR REPLACE FUNCTION sched_setup_bump(org bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF org IS NOT NULL THEN
    INSERT INTO scheduling_setupversion (organization_id, version)
    VALUES (org, floor(random() * 9.2e18)::bigint)
    ON CONFLICT (organization_id) DO UPDATE SET version = EXCLUDED.version;
  END IF;
END $$"""


def _pg_function(table: str, expression: str) -> str:
    new, old = expression.format(row="NEW"), expression.format(row="OLD")
    return f"""
CREATE OR REPLACE FUNCTION {PREFIX}_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' THEN PERFORM sched_setup_bump({new}); END IF;
  IF TG_OP <> 'INSERT' THEN PERFORM sched_setup_bump({old}); END IF;
  RETURN NULL;
END $$"""


def _sqlite_triggers(table: str, expression: str) -> list[str]:
    statements = []
    for operation, rows in (("insert", ["NEW"]), ("update", ["NEW", "OLD"]), ("delete", ["OLD"])):
        bumps = "".join(
            f"""
  INSERT INTO scheduling_setupversion (organization_id, version)
  SELECT org, random() FROM (SELECT {expression.format(row=row)} AS org) WHERE org IS NOT NULL
  ON CONFLICT (organization_id) DO UPDATE SET version = excluded.version;"""  # noqa: S608 (names from TABLES, no input)
            for row in rows
        )
        statements.append(
            f"CREATE TRIGGER {PREFIX}_{table}_{operation} AFTER {operation.upper()} ON {table}\n"
            f"BEGIN{bumps}\nEND"
        )
    return statements


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BUMP)
        for table, expression in TABLES.items():
            schema_editor.execute(_pg_function(table, expression))
            schema_editor.execute(
                f"CREATE TRIGGER {PREFIX} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {PREFIX}_{table}()"
            )
        schema_editor.execute(
            "INSERT INTO scheduling_setupversion (organization_id, version) "
            "SELECT id, floor(random() * 9.2e18)::bigint FROM accounts_organization"
        )
    elif vendor == "sqlite":
        for table, expression in TABLES.items():
            for statement in _sqlite_triggers(table, expression):
                schema_editor.execute(statement)
        schema_editor.execute(
            "INSERT INTO scheduling_setupversion (organization_id, version) "
            "SELECT id, random() FROM accounts_organization"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {PREFIX} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {PREFIX}_{table}()")
        schema_editor.execute("DROP FUNCTION IF EXISTS sched_setup_bump(bigint)")
    elif vendor == "sqlite":
        for table in TABLES:
            for operation in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {PREFIX}_{table}_{operation}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_patient_link"),
        ("credentialing", "0001_initial"),
        ("practitioners", "0002_practitioner_given_key"),
        ("scheduling", "0010_waitlist_opening_per_freed_time"),
    ]

    operations = [
        migrations.CreateModel(
            name="SetupVersion",
            fields=[
                ("organization_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
