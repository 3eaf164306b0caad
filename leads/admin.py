from django.contrib import admin

from .models import Activity, Deal, Lead, LeadMerge, StageTransition


class StageTransitionInline(admin.TabularInline):
    model = StageTransition
    extra = 0
    can_delete = False
    fields = ["occurred_at", "cycle", "from_stage", "to_stage", "kind", "actor_label", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "email",
        "first_name",
        "last_name",
        "company",
        "stage",
        "score",
        "cycle",
        "owner",
        "created_at",
    ]
    list_filter = ["stage", "source", "utm_campaign", "owner"]
    search_fields = ["email", "first_name", "last_name", "company", "anonymous_id", "external_id"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "merged_into"]
    # The stage and score are written by their services, not typed in here.
    readonly_fields = ["stage", "stage_entered_at", "score", "cycle", "recycle_count", "mql_armed", "mql_crossings"]
    inlines = [StageTransitionInline]
    show_full_result_count = False


@admin.register(StageTransition)
class StageTransitionAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "cycle", "from_stage", "to_stage", "kind", "actor_label", "occurred_at"]
    list_filter = ["to_stage", "kind", "actor_kind"]
    search_fields = ["lead__email", "reason", "actor_label"]
    raw_id_fields = ["lead", "actor_user"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False  # append-only history

    def has_add_permission(self, request):
        return False


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "cycle", "value", "currency", "status", "expected_close_date", "closed_at"]
    list_filter = ["status", "currency"]
    search_fields = ["lead__email", "next_step"]
    raw_id_fields = ["lead", "owner"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "kind", "user", "occurred_at", "outcome"]
    list_filter = ["kind", "user"]
    search_fields = ["lead__email", "note", "outcome"]
    raw_id_fields = ["lead", "user"]


@admin.register(LeadMerge)
class LeadMergeAdmin(admin.ModelAdmin):
    list_display = ["id", "survivor", "merged", "actor_label", "events_moved", "merged_at"]
    search_fields = ["survivor__email"]
    raw_id_fields = ["survivor", "merged", "actor_user"]
