from django.contrib import admin

from . import services
from .models import AttributionChange, CampaignSpend, ChannelRule


@admin.register(ChannelRule)
class ChannelRuleAdmin(admin.ModelAdmin):
    list_display = ["position", "field", "match", "values", "channel", "active", "updated_at"]
    list_editable = ["active"]
    exclude = ["updated_by", "updated_at"]

    def save_model(self, request, obj, form, change):
        services.save_channel_rule(rule=obj, user=request.user)

    def delete_model(self, request, obj):
        services.delete_channel_rule(rule=obj, user=request.user)


@admin.register(CampaignSpend)
class CampaignSpendAdmin(admin.ModelAdmin):
    list_display = ["campaign", "month", "amount", "currency", "channel", "updated_by", "updated_at"]
    list_filter = ["month"]
    search_fields = ["campaign"]

    def has_change_permission(self, request, obj=None):
        return False  # spend is entered on /analytics/attribution/spend/ or by the API, which keep the trail

    def has_add_permission(self, request):
        return False


@admin.register(AttributionChange)
class AttributionChangeAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "subject", "key", "user", "actor_label"]
    list_filter = ["subject"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
