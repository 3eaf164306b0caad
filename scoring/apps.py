import logging

from django.apps import AppConfig
from django.db import connections


class ScoringConfig(AppConfig):
    name = "scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported in ready(), not at the top: an AppConfig module is loaded before models are.
        from celery.signals import worker_ready

        from leads import details, lifecycle

        from .erasure import erase_scoring_copies
        from .selectors import score_explanation, score_explanation_and_history, score_history
        from .services import mark_for_rescore, rescore_stored_evidence

        # New evidence for a lead's score (events stored or moved by a merge, an import):
        # mark it for rescoring in the same transaction.
        lifecycle.on_evidence_changed(mark_for_rescore)
        # A worker committed those events: rescore them in that worker, now.
        lifecycle.on_evidence_stored(rescore_stored_evidence)
        # Rule previews name the leads they list: an erased lead's name goes.
        lifecycle.on_lead_erased(erase_scoring_copies)
        # The lead's page and API show the score's explanation and history.
        details.provide(details.SCORE_EXPLANATION, score_explanation)
        details.provide(details.SCORE_HISTORY, score_history)
        details.provide(details.SCORE_EXPLANATION_AND_HISTORY, score_explanation_and_history)
        worker_ready.connect(_sweep_at_worker_start, weak=False, dispatch_uid="scoring-sweep-at-start")


def _sweep_at_worker_start(sender=None, **kwargs):
    """A worker that starts (after a crash, a deploy) picks up what was left: marks whose
    lease ran out and marks whose doorbell never reached a broker."""
    from .services import sweep  # a signal handler defined before the app registry is ready

    try:
        sweep()
    except Exception:  # noqa: BLE001 - a failed sweep must not stop the worker; beat sweeps again
        logging.getLogger(__name__).exception("The start-up sweep failed; the periodic sweep will retry.")
    finally:
        # The sweep ran in the worker's main process; its connection is not needed there.
        connections.close_all()
