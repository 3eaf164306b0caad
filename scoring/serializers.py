"""Shapes of /api/v1/scoring-rules. Input is validated by scoring.rules.validate_rule,
so the API and the admin accept exactly the same rules; these classes shape the output
and document the input in the OpenAPI schema."""

from rest_framework import serializers

from .models import ConditionOp, RescoreJob, RuleKind, ScoringRule


class ConditionSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="An event property (behaviour) or a lead field / attributes.<key> (fit).")
    op = serializers.ChoiceField(choices=ConditionOp.choices)
    value = serializers.JSONField(help_text="A value; for contains / in a list of values; for gte a number.")


class ScoringRuleSerializer(serializers.ModelSerializer):
    conditions = ConditionSerializer(many=True)

    class Meta:
        model = ScoringRule
        fields = [
            "id",
            "label",
            "kind",
            "event_type",
            "conditions",
            "points",
            "daily_cap",
            "half_life_days",
            "active",
            "position",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ScoringRuleInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    event_type = serializers.CharField(required=False, allow_blank=True, help_text="Behaviour rules only.")
    conditions = ConditionSerializer(many=True, required=False)
    points = serializers.IntegerField(min_value=-1000, max_value=1000)
    daily_cap = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    half_life_days = serializers.FloatField(required=False, allow_null=True, help_text="Empty: the global default.")
    active = serializers.BooleanField(required=False)


class RescoreJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = RescoreJob
        fields = ["id", "cause", "status", "total", "done", "percent", "created_at", "updated_at", "finished_at"]
        read_only_fields = fields


class ScoringRuleListSerializer(serializers.Serializer):
    results = ScoringRuleSerializer(many=True)
    count = serializers.IntegerField()
    rescore_job = RescoreJobSerializer(allow_null=True, help_text="The latest full rescore and its progress.")
