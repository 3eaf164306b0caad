from django.contrib import admin, messages
from django.utils import timezone

from .models import (
    LikelihoodModel,
    LikelihoodTraining,
    RescoreJob,
    RescoreMark,
    RuleVersion,
    ScoreChange,
    ScoringRule,
    ScoringSettings,
    ThresholdVersion,
)
from .rules import EDITABLE_FIELDS, RuleInvalid, create_rule, delete_rule, update_rule, update_thresholds
from .services import start_full_rescore


@admin.register(RescoreMark)
class RescoreMarkAdmin(admin.ModelAdmin):
    list_display = ["lead", "marked_at", "generation", "settled_generation", "leased_until", "rescored_at"]
    raw_id_fields = ["lead"]


class RuleVersionInline(admin.TabularInline):
    model = RuleVersion
    extra = 0
    can_delete = False
    fields = [
        "version",
        "position",
        "label",
        "points",
        "daily_cap",
        "half_life_days",
        "active",
        "changed_by_label",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    """Edits go through scoring.rules, so each save is a new version and rescores everyone."""

    list_display = [
        "position",
        "label",
        "kind",
        "event_type",
        "points",
        "daily_cap",
        "half_life_days",
        "active",
        "version",
    ]
    list_filter = ["kind", "active"]
    fields = EDITABLE_FIELDS
    inlines = [RuleVersionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(archived_at__isnull=True)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name, getattr(obj, name)) for name in EDITABLE_FIELDS}
        try:
            if change:
                saved = update_rule(rule=ScoringRule.objects.get(pk=obj.pk), changes=data, user=request.user)
            else:
                saved = create_rule(data=data, user=request.user)
        except RuleInvalid as error:
            messages.error(request, f"Not saved: {error}")
            return
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        delete_rule(rule=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            delete_rule(rule=rule, user=request.user)


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(admin.ModelAdmin):
    """Threshold changes go through scoring.rules.update_thresholds: a version each."""

    list_display = ["mql_threshold", "recycle_threshold", "version", "default_half_life_days", "updated_at"]
    readonly_fields = ["version", "updated_at"]

    def has_add_permission(self, request):
        return not ScoringSettings.objects.exists()

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        if {"mql_threshold", "recycle_threshold"} & set(form.changed_data):
            try:
                update_thresholds(
                    mql_threshold=obj.mql_threshold, recycle_threshold=obj.recycle_threshold, user=request.user
                )
            except RuleInvalid as error:
                messages.error(request, f"Thresholds not saved: {error}")
        if "default_half_life_days" in form.changed_data:
            ScoringSettings.objects.filter(pk=obj.pk).update(
                default_half_life_days=obj.default_half_life_days, updated_at=timezone.now()
            )
            start_full_rescore(cause="default half-life changed")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ThresholdVersion)
class ThresholdVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "mql_threshold", "recycle_threshold", "changed_by_label", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScoreChange)
class ScoreChangeAdmin(admin.ModelAdmin):
    list_display = ["lead", "old_score", "new_score", "cause", "at"]
    raw_id_fields = ["lead"]
    list_select_related = ["lead"]


@admin.register(RescoreJob)
class RescoreJobAdmin(admin.ModelAdmin):
    list_display = ["id", "cause", "status", "done", "total", "created_at", "finished_at"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by their service (here: likelihood training), shown, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LikelihoodModel)
class LikelihoodModelAdmin(ReadOnlyAdmin):
    """The trained versions (the model page, /scoring/model/, shows the current one in full)."""

    list_display = [
        "version",
        "trained_at",
        "published",
        "published_at",
        "train_snapshots",
        "train_positives",
        "holdout_snapshots",
        "holdout_positives",
        "seconds",
    ]
    list_filter = ["published"]
    exclude = ["feature_names", "feature_labels", "coefficients"]  # long lists: the model page shows them


@admin.register(LikelihoodTraining)
class LikelihoodTrainingAdmin(ReadOnlyAdmin):
    list_display = ["id", "cause", "status", "percent", "model", "requested_by", "created_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["model", "requested_by"]
