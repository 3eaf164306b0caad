"""One trigram index for the lead search, on the upper-cased joined text of the five
searched columns (leads.selectors.LeadSearchText compiles to exactly this expression),
in place of one index per column. A search word is then one indexed LIKE instead of an
OR over five indexes, and writing a lead updates one GIN index instead of five.
PostgreSQL only."""

from django.db import migrations

OLD_FIELDS = ["email", "first_name", "last_name", "company", "job_title"]
SEARCH_TEXT = (
    "UPPER(COALESCE(\"first_name\", '') || ' ' || COALESCE(\"last_name\", '') || ' ' || "
    "COALESCE(\"email\", '') || ' ' || COALESCE(\"company\", '') || ' ' || COALESCE(\"job_title\", ''))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS lead_search_text_trgm ON leads_lead USING gin ({SEARCH_TEXT} gin_trgm_ops)"
    )
    for field in OLD_FIELDS:
        schema_editor.execute(f"DROP INDEX IF EXISTS lead_{field}_trgm")
    # A finer histogram of the joined text: LIKE '%word%' is estimated by matching the
    # histogram's entries, and at the default 100 a short word (two digits) was guessed
    # 5x too rare, so the planner sorted 2,340 matches instead of walking created_at.
    schema_editor.execute("ALTER INDEX lead_search_text_trgm ALTER COLUMN 1 SET STATISTICS 1000")
    # An expression index has no statistics until ANALYZE; without them the planner
    # guesses one matching row for every search word and picks a bitmap scan plus a sort
    # even for a word in every lead.
    schema_editor.execute("ANALYZE leads_lead")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in OLD_FIELDS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS lead_{field}_trgm ON leads_lead USING gin (UPPER({field}::text) gin_trgm_ops)"
        )
    schema_editor.execute("DROP INDEX IF EXISTS lead_search_text_trgm")


class Migration(migrations.Migration):
    dependencies = [("leads", "0007_lead_change_trail")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
