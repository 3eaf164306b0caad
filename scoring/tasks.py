"""Celery tasks of the scoring app: thin doorbells over scoring.services.

No task relies on acks_late: the marks and jobs in the database say what is left to
do, so a message lost with a dead worker costs only time until the sweep rings again.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import previews, services

# Deadlocks, dropped connections and a restarting database are worth a retry with
# backoff; the work is idempotent (marks, crossing numbers, job cursors).
RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name=services.RESCORE_TASK, **RETRY)
def rescore_marked() -> int:
    return services.rescore_marked_leads()


@shared_task(name="scoring.sweep", **RETRY)
def sweep() -> dict:
    return services.sweep()


@shared_task(name="scoring.apply_decay", **RETRY)
def apply_decay() -> int:
    return services.mark_decaying_leads()


@shared_task(name=services.RESCORE_JOB_TASK, **RETRY)
def run_rescore_job(job_id: int) -> None:
    if services.run_rescore_job(job_id=job_id):
        services._enqueue_job(job_id)


@shared_task(name=previews.PREVIEW_TASK, ignore_result=True)
def run_rule_preview(preview_id: int) -> None:
    previews.run_rule_preview(preview_id=preview_id)
