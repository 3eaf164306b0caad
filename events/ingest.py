"""Storing validated events: the plain reference path and the dispatch to the fast one.

Both paths, for a batch, in one transaction: duplicates answered (a message_id stored
before or earlier in the batch), each event's lead resolved (identity.py), the event
stored once (the unique message_id is the guarantee), `last_engaged_at` moved forward
(by the set-based path, for a lead another transaction holds at that moment, right
after the commit), and the touched leads marked for rescoring (scoring rings its
doorbell on commit).
"""

import logging
import time
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from leads.lifecycle.announcements import evidence_changed
from leads.models import Lead

from .identity import resolve_lead
from .ingest_outcomes import ACCEPTED, DUPLICATE, LeadsMoved, actor_for
from .ingest_pg import record_events_fast
from .models import ApiKey, EngagementEvent, EventSource
from .validation import Event

logger = logging.getLogger(__name__)


def record_events(
    *, events: Sequence[Event], source: str = EventSource.API, api_key: ApiKey | None = None
) -> list[str]:
    """Store a batch; returns "accepted" or "duplicate" for each event, in order.

    On PostgreSQL the set-based path runs (ingest_pg.py); elsewhere, or with
    FUNNEL_INGEST_FAST_PATH=False, the reference path. A deadlock, or a lead merged
    away under the set-based path, is retried: the batch is one transaction, so a
    retry never half-writes."""
    if not events:
        return []
    fast = connection.vendor == "postgresql" and getattr(settings, "FUNNEL_INGEST_FAST_PATH", True)
    for attempt in range(3):
        try:
            if fast:
                return record_events_fast(events=events, source=source, api_key=api_key)
            return record_events_reference(events=events, source=source, api_key=api_key)
        except Exception as error:
            if attempt == 2 or not _is_retryable(error):
                raise
            logger.warning("Ingest batch must be retried (%s); attempt %s.", type(error).__name__, attempt + 2)
            if not isinstance(error, LeadsMoved):  # the merge that moved them has committed
                time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _is_retryable(error: BaseException) -> bool:
    """PostgreSQL's deadlock_detected (40P01), raised through Django's cursor or, on the
    set-based path, straight from psycopg2's; or LeadsMoved."""
    if isinstance(error, LeadsMoved):
        return True
    return any(getattr(cause, "pgcode", None) == "40P01" for cause in (error, error.__cause__))


def record_events_reference(
    *, events: Sequence[Event], source: str = EventSource.API, api_key: ApiKey | None = None
) -> list[str]:
    """The plain path: one event at a time through the ORM. Slow, obviously correct,
    and what the set-based path is tested against."""
    actor = actor_for(api_key)
    statuses: list[str] = []
    touched: set[int] = set()
    with transaction.atomic():
        seen: set[str] = set()
        for event in events:
            if event.message_id in seen or EngagementEvent.objects.filter(message_id=event.message_id).exists():
                statuses.append(DUPLICATE)
                continue
            seen.add(event.message_id)
            lead = resolve_lead(
                email=event.email,
                external_id=event.external_id,
                anonymous_id=event.anonymous_id,
                traits=event.traits,
                actor=actor,
            )
            if not store_one(event=event, lead_id=lead.pk, source=source, api_key=api_key):
                statuses.append(DUPLICATE)
                continue
            statuses.append(ACCEPTED)
            # At once, not at the end: a later event of the batch may merge this lead,
            # and the merge carries last_engaged_at over to the survivor.
            touch_last_engaged(lead_id=lead.pk, occurred_at=event.occurred_at)
            touched.add(lead.pk)
        evidence_changed(lead_ids=touched)  # the scoring app marks them, in this transaction
    return statuses


def store_one(*, event: Event, lead_id: int, source: str, api_key: ApiKey | None) -> bool:
    """Insert one event; False if its message_id is already stored (a concurrent replay
    that committed first: the unique constraint decides)."""
    try:
        with transaction.atomic():
            EngagementEvent.objects.create(
                message_id=event.message_id,
                lead_id=lead_id,
                type=event.type,
                occurred_at=event.occurred_at,
                properties=event.properties,
                source=source,
                api_key=api_key,
            )
    except IntegrityError:
        return False
    return True


def touch_last_engaged(*, lead_id: int, occurred_at) -> None:
    Lead.objects.filter(pk=lead_id).filter(Q(last_engaged_at__isnull=True) | Q(last_engaged_at__lt=occurred_at)).update(
        last_engaged_at=occurred_at
    )
