# Round-robin turns on PostgreSQL come from a sequence: nextval() never waits for
# another transaction, so raising an alert holds no lock that other workers queue on.

from django.db import migrations


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS sales_round_robin_turn")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS sales_round_robin_turn")


class Migration(migrations.Migration):

    dependencies = [
        ("sales", "0002_notifications_webhooks_assignment"),
    ]

    operations = [migrations.RunPython(create_sequence, drop_sequence, elidable=False)]
