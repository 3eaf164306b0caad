"""Shapes of the leads API. Validation only: writes go through leads.services."""

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from rest_framework import serializers

from . import access
from .lifecycle.deals import DEAL_FIELDS
from .models import PROFILE_FIELDS, Deal, Lead, StageTransition
from .stages import Stage


class LeadSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    owner_username = serializers.CharField(source="owner.username", read_only=True, allow_null=True, default=None)
    stage_label = serializers.CharField(read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            *PROFILE_FIELDS,
            "anonymous_id",
            "stage",
            "stage_label",
            "stage_entered_at",
            "score",
            "likelihood",
            "cycle",
            "recycle_count",
            "owner",
            "owner_username",
            "last_engaged_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EventSerializer(serializers.Serializer):
    """An engagement event as the lead's detail shows it (the events app's rows, asked
    for through leads.details; leads does not import the events app)."""

    id = serializers.IntegerField(read_only=True)
    message_id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    occurred_at = serializers.DateTimeField(read_only=True)
    received_at = serializers.DateTimeField(read_only=True)
    properties = serializers.JSONField(read_only=True)
    source = serializers.CharField(read_only=True)


class TransitionSerializer(serializers.ModelSerializer):
    # The creating transition has no stage to come from: "" is part of the reply's shape.
    from_stage = serializers.ChoiceField(
        choices=Stage.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty on the transition that created the lead.",
    )

    class Meta:
        model = StageTransition
        fields = [
            "id",
            "cycle",
            "from_stage",
            "to_stage",
            "kind",
            "actor_kind",
            "actor_label",
            "reason",
            "reason_code",
            "occurred_at",
        ]
        read_only_fields = fields


class LikelihoodReasonSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text="The feature's stable name, e.g. `pricing_7d_2`.")
    label = serializers.CharField(help_text="How a person reads it, e.g. `Pricing page 2–3× in 7 days`.")
    contribution = serializers.FloatField(help_text="Its signed effect on the model's log-odds.")


class LeadDetailSerializer(LeadSerializer):
    likelihood_reasons = LikelihoodReasonSerializer(many=True, read_only=True)
    recent_events = EventSerializer(many=True, read_only=True)
    stage_history = TransitionSerializer(many=True, read_only=True)
    score_explanation = serializers.JSONField(read_only=True, allow_null=True)

    class Meta(LeadSerializer.Meta):
        fields = [
            *LeadSerializer.Meta.fields,
            "likelihood_reasons",
            "recent_events",
            "stage_history",
            "score_explanation",
        ]
        read_only_fields = fields


class LeadWriteSerializer(serializers.ModelSerializer):
    """Create (POST) and edit (PATCH) a lead's profile. The stage is set only at creation;
    afterwards it moves through /transitions."""

    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )
    # A lead is created at its first stage (leads.access.FIRST_STAGES); later stages are
    # reached by moves, each with its transition.
    stage = serializers.ChoiceField(
        choices=[(slug, label) for slug, label in Stage.choices if access.can_create_at_stage(slug)],
        required=False,
        write_only=True,
        error_messages={
            "invalid_choice": "A lead is created at demand_gen or lead_gen; later stages are reached by "
            "POST /api/v1/leads/{{id}}/transitions."
        },
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, write_only=True)

    class Meta:
        model = Lead
        fields = [*PROFILE_FIELDS, "owner", "stage", "reason"]
        extra_kwargs = {"email": {"validators": []}, "external_id": {"validators": []}}

    def validate_email(self, value):
        if not value:
            return None
        value = value.strip()
        taken = Lead.objects.alias(email_lower=Lower("email")).filter(email_lower=value.lower())
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("Another lead already has this email.")
        return value

    def validate_external_id(self, value):
        if not value:
            return None
        taken = Lead.objects.filter(external_id=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("Another lead already has this external id.")
        return value

    def validate(self, attrs):
        if self.instance is not None and ("stage" in attrs or "reason" in attrs):
            raise serializers.ValidationError({"stage": ["Move a lead through POST /api/v1/leads/{id}/transitions."]})
        return attrs


class DealInputSerializer(serializers.ModelSerializer):
    """A deal's fields on a stage move: exactly those the lifecycle's deal rules take
    (leads.lifecycle.deals.DEAL_FIELDS), so the schema never advertises a field the
    service refuses. Proposals are marked and lost reasons given by their own actions."""

    class Meta:
        model = Deal
        fields = list(DEAL_FIELDS)
        extra_kwargs = {"value": {"min_value": 0}}

    def to_internal_value(self, data):
        # DRF drops unknown keys silently; the lifecycle names them, so the API does too.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(DEAL_FIELDS))
            if unknown:
                raise serializers.ValidationError(
                    {key: [f"Unknown field; the deal takes {', '.join(DEAL_FIELDS)}."] for key in unknown}
                )
        return super().to_internal_value(data)


class TransitionRequestSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    reason_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    deal = DealInputSerializer(required=False)


class TransitionResultSerializer(serializers.Serializer):
    transition = TransitionSerializer()
    lead = LeadSerializer()


class LeadErrorSerializer(serializers.Serializer):
    error = serializers.DictField(help_text='{"code": "...", "message": "...", "fields": {"<field>": ["..."]}}')
