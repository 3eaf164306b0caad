from django.contrib import admin

from leads import access

from .models import Notification, SalesAlert, WebhookDelivery, WebhookEndpoint


@admin.register(SalesAlert)
class SalesAlertAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "cycle", "crossing", "score", "status", "assignee", "raised_at", "due_at"]
    list_filter = ["status", "overdue", "decayed_below_recycle", "assignee"]
    search_fields = ["lead__email"]
    raw_id_fields = ["lead", "assignee", "acted_by"]

    # Alerts are raised by crossings and acted on through the queue's services (which
    # check leads.access and leave a trail); here they are read.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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

    def has_view_permission(self, request, obj=None):
        return access.can_manage_keys(request.user) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return access.can_manage_keys(request.user) and super().has_change_permission(request, obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "event_type", "endpoint", "status", "last_status_code", "attempts", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["delivery_id"]
    raw_id_fields = ["endpoint"]
