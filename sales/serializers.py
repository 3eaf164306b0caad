from django.utils import timezone
from rest_framework import serializers

from funnel.api_errors import ErrorDetailSerializer, ErrorEnvelopeSerializer  # noqa: F401  the envelope's one shape


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(source="get_username")


class QueueLeadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    email = serializers.EmailField(allow_null=True)
    company = serializers.CharField()
    job_title = serializers.CharField()
    stage = serializers.CharField()
    score = serializers.IntegerField()


class QueueAlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    score = serializers.IntegerField()
    contributions = serializers.JSONField(help_text="The score's explanation when the alert was raised.")
    raised_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    sla_seconds_left = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    decayed_below_recycle = serializers.BooleanField()
    assignee = PersonSerializer(allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True, required=False)
    last_activity_kind = serializers.CharField(allow_null=True, required=False)
    lead = QueueLeadSerializer()

    def get_sla_seconds_left(self, alert) -> int | None:
        if alert.due_at is None:
            return None
        return int((alert.due_at - self.context.get("now", timezone.now())).total_seconds())

    def get_overdue(self, alert) -> bool:
        return bool(alert.overdue or (alert.due_at and alert.due_at <= self.context.get("now", timezone.now())))


class QueuePageSerializer(serializers.Serializer):
    results = QueueAlertSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class RejectRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=50, help_text="A code from the configured reject reasons.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class QueueActionResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    acted_by = PersonSerializer(allow_null=True)
    acted_at = serializers.DateTimeField(allow_null=True)
    reject_reason = serializers.CharField(allow_blank=True)
    reject_note = serializers.CharField(allow_blank=True)
    lead = QueueLeadSerializer()
