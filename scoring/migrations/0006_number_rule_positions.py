"""Rules keep the order they had (by id) as their positions 1, 2, …; every version of a
rule carries the rule's position. The thresholds in force become threshold version 1."""

from django.db import migrations


def number(apps, schema_editor):
    ScoringRule = apps.get_model("scoring", "ScoringRule")
    RuleVersion = apps.get_model("scoring", "RuleVersion")
    ScoringSettings = apps.get_model("scoring", "ScoringSettings")
    ThresholdVersion = apps.get_model("scoring", "ThresholdVersion")
    for position, rule_id in enumerate(ScoringRule.objects.order_by("id").values_list("id", flat=True), start=1):
        ScoringRule.objects.filter(pk=rule_id).update(position=position)
        RuleVersion.objects.filter(rule_id=rule_id).update(position=position)
    current = ScoringSettings.objects.filter(pk=1).first()
    if current is not None and not ThresholdVersion.objects.exists():
        ThresholdVersion.objects.create(
            version=current.version,
            mql_threshold=current.mql_threshold,
            recycle_threshold=current.recycle_threshold,
            changed_by_label="thresholds before versioning",
            created_at=current.updated_at,
        )


class Migration(migrations.Migration):
    dependencies = [("scoring", "0005_rule_positions_and_threshold_versions")]

    operations = [migrations.RunPython(number, migrations.RunPython.noop)]
