# The rule editor's previews moved to the scoring app (scoring 0007 takes over the
# table analytics_rulepreview as it is); only Django's state changes here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0003_rule_preview_lease"),
        ("scoring", "0007_rule_preview_moved_from_analytics"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="RulePreview")],
        ),
    ]
