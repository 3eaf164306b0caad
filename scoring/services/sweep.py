"""The sweep, at worker start and every minute: ring for marks no doorbell reached,
delete long-settled marks, and resume stalled full rescores."""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from ..models import RescoreJob, RescoreJobStatus, RescoreMark
from .doorbell import ring_rescore_doorbell
from .jobs import _enqueue_job
from .marks import SETTLED_MARK_KEPT, _claimable, schedule_wake_up


def sweep() -> dict:
    """Worker start and every minute: ring for marks no doorbell reached (broker down at
    the time) or whose lease ran out (a dead worker), and resume stalled full rescores."""
    now = timezone.now()
    claimable = RescoreMark.objects.filter(_claimable(now)).exists()
    if claimable:
        ring_rescore_doorbell()
    RescoreMark.objects.filter(
        generation=F("settled_generation"), leased_until__isnull=True, rescored_at__lt=now - SETTLED_MARK_KEPT
    ).delete()
    wake = schedule_wake_up(now=now)
    stalled = list(
        RescoreJob.objects.filter(
            status__in=[RescoreJobStatus.PENDING, RescoreJobStatus.RUNNING], updated_at__lt=now - timedelta(minutes=2)
        ).values_list("pk", flat=True)
    )
    for job_id in stalled:
        _enqueue_job(job_id)
    return {"rang": claimable, "wake_in": wake, "resumed_jobs": stalled}
