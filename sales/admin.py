from django.contrib import admin

from .models import SalesAlert


@admin.register(SalesAlert)
class SalesAlertAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "cycle", "crossing", "score", "status", "assignee", "raised_at", "due_at"]
    list_filter = ["status", "overdue", "decayed_below_recycle", "assignee"]
    search_fields = ["lead__email"]
    raw_id_fields = ["lead", "assignee", "acted_by"]
