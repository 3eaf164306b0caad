"""The default rule set: a demo request (+40) and a few pricing-page views (+6 each)
within days cross the MQL threshold of 50; a single blog view (+1) does not."""

from django.db import migrations

from scoring.defaults import DEFAULT_RULES


def load(apps, schema_editor):
    ScoringSettings = apps.get_model("scoring", "ScoringSettings")
    ScoringRule = apps.get_model("scoring", "ScoringRule")
    RuleVersion = apps.get_model("scoring", "RuleVersion")
    ScoringSettings.objects.get_or_create(pk=1)
    if ScoringRule.objects.exists():
        return
    for label, kind, event_type, conditions, points, cap, half_life in DEFAULT_RULES:
        fields = dict(
            label=label, kind=kind, event_type=event_type, conditions=conditions,
            points=points, daily_cap=cap, half_life_days=half_life,
        )
        rule = ScoringRule.objects.create(version=1, **fields)
        RuleVersion.objects.create(rule=rule, version=1, changed_by_label="default rule set", **fields)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0002_rules_versions_history_jobs")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
