from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from celery.signals import worker_ready

        worker_ready.connect(_sweep_at_worker_start, weak=False, dispatch_uid="scoring-sweep-at-start")


def _sweep_at_worker_start(sender=None, **kwargs):
    """A worker that starts (after a crash, a deploy) picks up what was left: marks whose
    lease ran out and marks whose doorbell never reached a broker."""
    from .services import sweep

    try:
        sweep()
    except Exception:  # noqa: BLE001 - a failed sweep must not stop the worker; beat sweeps again
        import logging

        logging.getLogger(__name__).exception("The start-up sweep failed; the periodic sweep will retry.")
    finally:
        from django.db import connections

        # The sweep ran in the worker's main process; its connection is not needed there.
        connections.close_all()
