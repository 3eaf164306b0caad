from django import forms
from django.contrib import admin

from . import access, services
from .actors import Actor
from .models import Activity, Deal, Lead, LeadChange, LeadMerge, StageTransition


class LeadChangeInline(admin.TabularInline):
    model = LeadChange
    extra = 0
    can_delete = False
    fields = ["occurred_at", "kind", "field", "old_value", "new_value", "actor_label", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LeadAdminForm(forms.ModelForm):
    def clean_owner(self):
        owner = self.cleaned_data.get("owner")
        if owner is not None and not access.is_valid_owner(owner):
            raise forms.ValidationError("Pick an active sales rep or sales manager.")
        return owner


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
    raw_id_fields = ["owner"]
    form = LeadAdminForm
    # The stage and score are written by their services, not typed in here; merging and
    # erasing are the services' too (the lead pages and the API).
    readonly_fields = [
        "stage",
        "stage_entered_at",
        "score",
        "cycle",
        "recycle_count",
        "mql_armed",
        "mql_crossings",
        "merged_into",
        "erased_at",
        "last_engaged_at",
        "created_at",
    ]
    inlines = [StageTransitionInline, LeadChangeInline]
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return access.can_read_leads(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return access.can_edit_leads(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return access.can_edit_leads(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # a person leaves by erasure (leads.services.erase_lead), which keeps the counts

    def save_model(self, request, obj, form, change):
        """Through the services, so an edit in the admin leaves its trail like any other."""
        actor = Actor.for_user(request.user)
        fields = {
            name: form.cleaned_data[name] for name in form.changed_data if name in services.IDENTITY_AND_PROFILE_FIELDS
        }
        if change:
            if fields:
                services.update_lead(lead=Lead.objects.get(pk=obj.pk), actor=actor, **fields)
            obj.refresh_from_db()
        else:
            created = services.create_lead(actor=actor, **fields)
            obj.pk = created.pk
            obj.refresh_from_db()


@admin.register(LeadChange)
class LeadChangeAdmin(admin.ModelAdmin):
    """The trail, read-only: rows are written by the services that make the changes."""

    list_display = ["id", "lead", "kind", "field", "old_value", "new_value", "actor_label", "occurred_at"]
    list_filter = ["kind", "actor_kind"]
    search_fields = ["lead__email", "actor_label", "field"]
    raw_id_fields = ["lead", "actor_user"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

    # Deals are opened, edited and closed by the sales services, which leave the trail.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
