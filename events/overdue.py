"""Intake rows that waited too long: the broker's doorbell did not reach a worker
(the broker was down, or a worker's consumer stopped listening after one came back).
The intake in the database is what is owed; this is how a worker collects it without
the broker (funnel.watchman calls it)."""

from datetime import timedelta

from django.utils import timezone

from .models import IncomingEvent
from .processing import process_incoming_for_a_while


def process_overdue_incoming(*, older_than: timedelta, seconds: float = 1.0) -> int:
    """Process the intake for up to `seconds` if its oldest row has waited longer than
    `older_than`; returns how many events were processed (0 when nothing is overdue or
    what is overdue is another worker's claim). The oldest row is found by its primary
    key, so the check costs one index probe however long the intake is."""
    oldest = IncomingEvent.objects.order_by("id").values_list("received_at", flat=True).first()
    if oldest is None or oldest > timezone.now() - older_than:
        return 0
    return process_incoming_for_a_while(seconds=seconds)
