from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported in ready(), not at the top: an AppConfig module is loaded before models are.
        from leads import details, lifecycle

        from . import listeners, schema  # noqa: F401  schema registers the OpenAPI description of API keys

        lifecycle.on_leads_merged(listeners.move_events_to_survivor)
        lifecycle.on_lead_erased(listeners.erase_events)
        details.provide(details.RECENT_EVENTS, listeners.recent_events)
