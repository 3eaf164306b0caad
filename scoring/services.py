"""Writes of the scoring app: marking leads for rescoring, recomputing scores."""

import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

RESCORE_TASK = "scoring.rescore_marked"


def mark_for_rescore(*, lead_ids: Iterable[int]) -> None:
    """Mark leads for rescoring in the caller's transaction, one row per lead however many
    events (ON CONFLICT keeps the first mark), and ring the doorbell after commit.

    The mark in the database is the guarantee; the task is only a doorbell, so a broker
    that is down loses nothing: the periodic sweep finds the marks.
    """
    ids = sorted({int(lead_id) for lead_id in lead_ids})
    if not ids:
        return
    now = timezone.now()
    table = "scoring_rescoremark"
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            placeholders = ", ".join(["(%s, %s, 0)"] * len(chunk))
            params = [value for lead_id in chunk for value in (lead_id, now)]
            cursor.execute(
                f"INSERT INTO {table} (lead_id, marked_at, attempts) VALUES {placeholders} "
                "ON CONFLICT (lead_id) DO NOTHING",
                params,
            )
    transaction.on_commit(ring_rescore_doorbell)


def ring_rescore_doorbell() -> None:
    """Ask a worker to rescore marked leads. Never raises: a lost doorbell costs latency
    (the sweep catches up), a raised error here would cost an accepted request."""
    from funnel.celery import app

    try:
        app.send_task(RESCORE_TASK)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the caller
        logger.warning("Could not reach the broker to ring the rescore doorbell; the sweep will catch up.")
