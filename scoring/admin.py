from django.contrib import admin

from .models import RescoreMark


@admin.register(RescoreMark)
class RescoreMarkAdmin(admin.ModelAdmin):
    list_display = ["lead", "marked_at", "leased_until", "attempts"]
    raw_id_fields = ["lead"]
