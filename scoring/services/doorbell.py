"""The rescore doorbell: a broker message that asks a worker to claim marks.

The mark in the database is the guarantee; the doorbell only saves latency, so a broker
that is down loses nothing (the periodic sweep rings for what it finds).
"""

import logging
import time

from celery import current_app
from django.core.cache import cache

logger = logging.getLogger(__name__)

RESCORE_TASK = "scoring.rescore_marked"


def ring_rescore_doorbell(*, countdown: float | None = None) -> None:
    """Ask a worker to rescore marked leads. Never raises: a lost doorbell costs latency
    (the sweep catches up), a raised error here would cost an accepted request.

    Rings are coalesced per tenth of a second (DOORBELL_WINDOW) across processes: the
    first ring of a window is sent at once, the second is sent for the end of the
    window, later ones are dropped. Each ring is thereby followed by a doorbell
    delivered after it (the one sent, or the window's late one, which comes after the
    window ends), so marks committed before the ring are always claimed, at most a
    window later. A busy ingest then sends at most twenty messages a second instead of
    one per request: at hundreds of requests a second, one drain per request (a claim
    query and a wake-up check each) would queue up faster than a worker empties it."""
    if countdown is None:
        countdown = _coalesced_countdown()
        if countdown is _COVERED:
            return
    if current_app.conf.task_always_eager:
        # Eager mode (tests) publishes nothing and has no worker to wake; send_task
        # would ignore the setting, publish anyway and warn. Whoever needs the rescore runs it.
        return
    try:
        current_app.send_task(RESCORE_TASK, countdown=countdown)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the caller
        logger.warning("Could not reach the broker to ring the rescore doorbell; the sweep will catch up.")


DOORBELL_WINDOW = 0.1
_COVERED = object()


def _coalesced_countdown():
    """None: ring now; a countdown: ring for the end of this window; _COVERED: a doorbell
    already promised for the end of this window will come after this ring."""
    now = time.time()
    window = int(now / DOORBELL_WINDOW)
    try:
        if cache.add(f"scoring:bell:{window}", 1, timeout=5):
            return None
        if cache.add(f"scoring:bell:{window}:late", 1, timeout=5):
            return (window + 1) * DOORBELL_WINDOW - now + 0.01
    except Exception:  # noqa: BLE001 - no cache: ring every time, as if uncoalesced
        return None
    return _COVERED
