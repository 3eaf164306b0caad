from django.contrib import admin

from leads import access

from .models import ApiKey, EngagementEvent


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "secret_hash", "last_used_at"]
    raw_id_fields = ["user", "created_by"]

    # Keys are an admin's (leads.access.can_manage_keys), whatever model permissions a
    # staff user was given; they are made on /settings/ so the secret is shown once.
    def has_view_permission(self, request, obj=None):
        return access.can_manage_keys(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return access.can_manage_keys(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return access.can_manage_keys(request.user) and super().has_delete_permission(request, obj)


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "lead", "occurred_at", "source", "message_id"]
    list_filter = ["type", "source"]
    search_fields = ["message_id", "lead__email"]
    raw_id_fields = ["lead", "api_key"]
    show_full_result_count = False
