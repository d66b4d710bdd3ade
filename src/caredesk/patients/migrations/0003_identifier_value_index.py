"""Index patient identifiers by value alone, for searches that give a value without its system
(FHIR `identifier=12345`, the search box). Reversible: RemoveIndex on the way down."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_search_key_collation")]

    operations = [
        migrations.AddIndex(
            model_name="patientidentifier",
            index=models.Index(fields=["value"], name="patient_identifier_value"),
        ),
    ]
