from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported in ready(), not at the top: an AppConfig module is loaded before models are.
        from celery.signals import worker_ready

        from leads import details, lifecycle

        from . import listeners, schema  # noqa: F401  schema registers the OpenAPI description of API keys

        lifecycle.on_leads_merged(listeners.move_events_to_survivor)
        lifecycle.on_lead_erased(listeners.erase_events)
        details.provide(details.RECENT_EVENTS, listeners.recent_events)
        worker_ready.connect(_ring_at_worker_start, weak=False, dispatch_uid="events-ring-at-start")


def _ring_at_worker_start(sender=None, **kwargs):
    """A worker that starts (after a crash, a deploy) processes what the intake holds:
    events a dead worker claimed are free again, their doorbell long gone."""
    from .doorbell import ring_processing_doorbell  # a signal handler defined before the app registry is ready

    ring_processing_doorbell(countdown=0)
