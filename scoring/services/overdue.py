"""Rescore marks that waited too long: no doorbell reached a worker that listens (the
broker was down when they were marked, or a worker's consumer stopped listening after
it came back). The marks in the database are what is owed; this is how a worker
collects them without the broker (funnel.watchman calls it)."""

from datetime import timedelta

from django.utils import timezone

from ..models import RescoreMark
from .marks import _claimable
from .rescoring import rescore_marked_leads


def rescore_overdue_marks(*, older_than: timedelta, seconds: float = 1.0) -> int:
    """Rescore claimable marks for up to `seconds` if one of them has waited longer
    than `older_than`; returns how many leads were rescored (0 when nothing is overdue
    or what is overdue is another worker's claim)."""
    now = timezone.now()
    if not RescoreMark.objects.filter(_claimable(now), marked_at__lt=now - older_than).exists():
        return 0
    return rescore_marked_leads(budget_seconds=seconds, ring=False)
