"""Full rescores (after a rule change): a job that rescores every lead in batches,
recording its progress with each batch, so a killed job resumes where it stopped."""

import logging
import time

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leads.models import Lead

from ..models import RescoreJob, RescoreJobStatus
from .rescoring import rescore_leads

logger = logging.getLogger(__name__)

RESCORE_JOB_TASK = "scoring.run_rescore_job"


def start_full_rescore(*, cause: str, enqueue: bool = True) -> RescoreJob:
    """Rescore every lead in the background (after a rule change); a newer job
    supersedes an older one still running."""
    job = RescoreJob.objects.create(cause=cause[:200], total=Lead.objects.count(), updated_at=timezone.now())
    if enqueue:
        transaction.on_commit(lambda: _enqueue_job(job.pk))
    return job


def _enqueue_job(job_id: int) -> None:
    if current_app.conf.task_always_eager:
        return  # eager mode: nothing to wake (see doorbell.ring_rescore_doorbell)
    try:
        current_app.send_task(RESCORE_JOB_TASK, args=[job_id])
    except Exception:  # noqa: BLE001 - the sweep resumes a job whose doorbell was lost
        logger.warning("Could not enqueue rescore job %s; the sweep will resume it.", job_id)


def run_rescore_job_batch(*, job_id: int, batch_size: int | None = None) -> RescoreJob | None:
    """Rescore the next batch of the job's leads and record the progress in the same
    transaction, so a killed job resumes after its last committed batch. Returns the
    job while there is more to do, None when it is finished or superseded."""
    batch_size = batch_size or settings.FUNNEL_RESCORE_JOB_BATCH
    now = timezone.now()
    with transaction.atomic():
        job = RescoreJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (RescoreJobStatus.DONE, RescoreJobStatus.SUPERSEDED):
            return None
        if RescoreJob.objects.filter(
            pk__gt=job.pk, status__in=[RescoreJobStatus.PENDING, RescoreJobStatus.RUNNING]
        ).exists():
            job.status = RescoreJobStatus.SUPERSEDED
            job.finished_at = job.updated_at = now
            job.save(update_fields=["status", "finished_at", "updated_at"])
            return None
        lead_ids = list(Lead.objects.filter(pk__gt=job.cursor).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not lead_ids:
            job.status = RescoreJobStatus.DONE
            job.done = max(job.done, job.total)
            job.finished_at = job.updated_at = now
            job.save(update_fields=["status", "done", "finished_at", "updated_at"])
            return None
        rescore_leads(lead_ids=lead_ids, cause=f"rules changed (job {job.pk})", as_of=now, every_likelihood=False)
        job.cursor = lead_ids[-1]
        job.done += len(lead_ids)
        job.total = max(job.total, job.done)
        job.status = RescoreJobStatus.RUNNING
        job.updated_at = now
        job.save(update_fields=["cursor", "done", "total", "status", "updated_at"])
    return job


def run_rescore_job(*, job_id: int, budget_seconds: float = 60.0, on_progress=None) -> bool:
    """Run batches for up to `budget_seconds`; True when the job has more to do."""
    started = time.monotonic()
    while True:
        job = run_rescore_job_batch(job_id=job_id)
        if job is None:
            return False
        if on_progress:
            on_progress(job)
        if time.monotonic() - started > budget_seconds:
            return True
