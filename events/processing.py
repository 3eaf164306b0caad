"""The processing half of ingest: what intake.py stored, turned into engagement.

A worker claims the oldest waiting IncomingEvents (`FOR UPDATE SKIP LOCKED`: two
workers never claim the same rows), runs them through the set-based path of
ingest.py (the people resolved, leads created or merged, the EngagementEvents stored,
`last_engaged_at` moved, the leads marked for rescoring) and deletes the intake rows,
all in one transaction: an event is processed once and completely, or not at all and
left for the next claim. After the commit the task announces the leads it stored
events for, and scoring rescores them right there (through the marks' claims).
EngagementEvent's unique message_id keeps an event stored once even if a message
were somehow processed twice.

The request answered already; an event the processing finds stored (imported by
another path meanwhile) is dropped as the duplicate it is.
"""

import logging
import time
from datetime import datetime
from itertools import groupby

import orjson
from django.conf import settings
from django.db import connection, transaction

from leads.lifecycle.announcements import evidence_stored

from .doorbell import ring_processing_doorbell
from .ingest import record_events
from .ingest_outcomes import ACCEPTED
from .models import ApiKey, EngagementEvent, IncomingEvent
from .validation import Event

logger = logging.getLogger(__name__)

INCOMING = IncomingEvent._meta.db_table
EVENTS = EngagementEvent._meta.db_table


def process_incoming_events(*, limit: int | None = None) -> int:
    """Process up to `limit` (FUNNEL_INGEST_PROCESS_BATCH) waiting events, oldest first;
    returns how many were claimed (0: nothing waits that another worker does not hold)."""
    return _process_claim(limit=limit)[0]


def _process_claim(*, limit: int | None = None) -> tuple[int, list[int]]:
    """process_incoming_events, also returning the leads whose events it stored."""
    if connection.vendor != "postgresql":
        return 0, []  # elsewhere ingest stores synchronously (intake.deferred): nothing ever waits
    limit = limit or settings.FUNNEL_INGEST_PROCESS_BATCH
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute(
            f"SELECT id, source, api_key_id, event::text FROM {INCOMING} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            [limit],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0, []
        key_ids = {api_key_id for _, _, api_key_id, _ in rows if api_key_id is not None}
        keys = {key.pk: key for key in ApiKey.objects.filter(pk__in=key_ids)} if key_ids else {}
        stored: list[str] = []
        # One call per run of rows from one source and key (who acts, for the trail and
        # a public key's limits), in arrival order.
        for (source, api_key_id), run in groupby(rows, key=lambda row: (row[1], row[2])):
            events = [_event(orjson.loads(text)) for *_, text in run]
            statuses = record_events(events=events, source=source, api_key=keys.get(api_key_id))
            stored += [event.message_id for event, status in zip(events, statuses, strict=True) if status == ACCEPTED]
        cursor.execute(f"DELETE FROM {INCOMING} WHERE id = ANY(%s)", [[row[0] for row in rows]])
        # Where the events are now (a merge in the batch may have moved some).
        cursor.execute(f"SELECT DISTINCT lead_id FROM {EVENTS} WHERE message_id = ANY(%s)", [stored])
        lead_ids = [lead_id for (lead_id,) in cursor.fetchall()]
    return len(rows), lead_ids


def process_all_incoming_events() -> int:
    """Process until nothing is left to claim; returns how many were processed."""
    total = 0
    while processed := process_incoming_events():
        total += processed
    return total


def process_incoming_for_a_while(*, seconds: float = 1.0) -> int:
    """A worker's task: process claims until nothing is left or `seconds` have passed,
    then, if events may be left, ring again and return (a task that never ended would
    hold its worker through a deploy). After each claim commits, its leads are
    announced (evidence_stored): the scoring app rescores them in this task,
    so their MQL alerts wait for no second worker.

    The claim grows while claims come back full (events arrive faster than a claim
    of that size is processed and its leads rescored) and shrinks back when one does
    not: a claim's statements and each lead's rescore are paid once per claim, not per
    event, so a bigger claim is what lets one worker catch up with a flood instead of
    falling further behind, while a trickle keeps small, quick claims."""
    global _claim_size
    began = time.monotonic()
    total = 0
    smallest = settings.FUNNEL_INGEST_PROCESS_BATCH
    largest = max(smallest, settings.FUNNEL_INGEST_PROCESS_BATCH_MAX)
    limit = min(max(_claim_size, smallest), largest)
    while True:
        processed, lead_ids = _process_claim(limit=limit)
        full = processed == limit
        _claim_size = min(limit * 2, largest) if full else max(smallest, limit // 2)
        if not processed:
            return total
        total += processed
        # Committed: the scoring app rescores these leads here and now (their MQL alerts
        # wait for no other worker), or leaves them to its own worker.
        evidence_stored(lead_ids=lead_ids)
        if not full:
            return total
        if time.monotonic() - began > seconds:
            ring_processing_doorbell()
            return total
        limit = _claim_size


# This process's current claim size (process_incoming_for_a_while).
_claim_size = 0


def _event(payload: list) -> Event:
    message_id, event_type, occurred_at, email, external_id, anonymous_id, traits, properties = payload
    return Event(
        message_id=message_id,
        type=event_type,
        occurred_at=datetime.fromisoformat(occurred_at),
        properties=properties,
        properties_json=orjson.dumps(properties).decode(),
        email=email,
        external_id=external_id,
        anonymous_id=anonymous_id,
        traits=traits or {},
    )
