from django.apps import AppConfig


class AttributionConfig(AppConfig):
    name = "attribution"
    verbose_name = "Attribution"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from leads.panels import register_lead_panel
        from leads.services import on_stage_change

        from .services import on_lead_stage_change
        from .views import touch_path_panel

        # Deals opened, won or lost change the SQL and customer conversions.
        on_stage_change(on_lead_stage_change)
        # The lead detail page shows each cycle's touch path with its credits.
        register_lead_panel(touch_path_panel)
