"""A trigram index for job titles, so the lead search can look words up in titles as
it does in names, email and company (UPPER(col::text), what icontains compares)."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS lead_job_title_trgm ON leads_lead USING gin (UPPER(job_title::text) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS lead_job_title_trgm")


class Migration(migrations.Migration):
    dependencies = [("leads", "0005_lead_likelihood")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
