from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from leads.services import on_stage_change

        from .services import on_lead_stage_change

        # Closes an alert whose lead leaves MQL by any route, and sends lead.stage_changed.
        on_stage_change(on_lead_stage_change)
