from django.contrib import admin

from .models import ApiKey, EngagementEvent


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "secret_hash", "last_used_at"]
    raw_id_fields = ["user", "created_by"]


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "lead", "occurred_at", "source", "message_id"]
    list_filter = ["type", "source"]
    search_fields = ["message_id", "lead__email"]
    raw_id_fields = ["lead", "api_key"]
    show_full_result_count = False
