from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from leads import lifecycle

        from .erasure import erase_analytics_copies

        lifecycle.on_lead_erased(erase_analytics_copies)
