from django.contrib import admin

from .models import Notification, SalesAlert, WebhookDelivery, WebhookEndpoint


@admin.register(SalesAlert)
class SalesAlertAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "cycle", "crossing", "score", "status", "assignee", "raised_at", "due_at"]
    list_filter = ["status", "overdue", "decayed_below_recycle", "assignee"]
    search_fields = ["lead__email"]
    raw_id_fields = ["lead", "assignee", "acted_by"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "kind", "title", "created_at", "read_at"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "alert"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "url", "is_active", "created_at"]
    # The secret is set once through /settings/ and never shown again, not even here.
    exclude = ["secret_encrypted"]
    readonly_fields = ["secret_hint", "created_by", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "event_type", "endpoint", "status", "last_status_code", "attempts", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["delivery_id"]
    raw_id_fields = ["endpoint"]
