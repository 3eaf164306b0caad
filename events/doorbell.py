"""The ingest doorbell: a broker message that asks a worker to process the intake.

The intake in the database is the guarantee; the doorbell only saves latency, so a
broker that is down loses nothing (beat's sweep and every worker's start ring again).
"""

import logging
import time

from celery import current_app
from django.core.cache import cache

logger = logging.getLogger(__name__)

PROCESS_TASK = "events.process_incoming"


def ring_processing_doorbell(*, countdown: float | None = None) -> None:
    """Ask a worker to process the intake. Never raises: a lost doorbell costs latency
    (the sweep rings again), a raised error would cost an answered request.

    Coalesced per DOORBELL_WINDOW across processes, as the rescore doorbell is: the
    first ring of a window goes at once, the second for the window's end, later ones
    are dropped; so every ring is followed by a delivery, and a busy ingest sends at
    most twenty messages a second, not one per request."""
    if countdown is None:
        countdown = _coalesced_countdown()
        if countdown is _COVERED:
            return
    if current_app.conf.task_always_eager:
        return
    try:
        current_app.send_task(PROCESS_TASK, countdown=countdown)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the caller
        logger.warning("Could not reach the broker to ring the ingest doorbell; the sweep will catch up.")


DOORBELL_WINDOW = 0.1
_COVERED = object()


def _coalesced_countdown():
    now = time.time()
    window = int(now / DOORBELL_WINDOW)
    try:
        if cache.add(f"events:bell:{window}", 1, timeout=5):
            return None
        if cache.add(f"events:bell:{window}:late", 1, timeout=5):
            return (window + 1) * DOORBELL_WINDOW - now + 0.01
    except Exception:  # noqa: BLE001 - no cache: ring every time
        return None
    return _COVERED
