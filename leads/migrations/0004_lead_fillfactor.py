"""Leave room on each page of leads_lead so updates of unindexed columns stay HOT.

Ingest moves `last_engaged_at` (in no index) forward on hundreds of leads per batch.
With full pages each such update went to another page and added an entry to every
one of the table's 17 indexes (four of them trigram GIN), and those index entries
bloated the identity lookups of the next batches. With 30% of each page kept free,
PostgreSQL puts the new row version on the same page (a heap-only tuple) and touches
no index.

Only pages written from now on are filled to 70%; an existing table gets there as
rows are rewritten, or at once with VACUUM FULL (or pg_repack) in a quiet moment.
"""

from django.db import migrations

FILLFACTOR = 70


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE leads_lead SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE leads_lead RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_lead_search_trigram_indexes")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
