"""The answering half of ingest: validate (validation.py), deduplicate, store, answer.

On PostgreSQL (unless FUNNEL_INGEST_DEFERRED is off) a request does only what its
answer needs: the batch's new message ids go into IncomingEvent in one
`INSERT … ON CONFLICT (message_id) DO NOTHING RETURNING`, one more statement checks
the ones it stored against the stored events, and a doorbell after commit asks a worker
to process them (processing.py: resolve the people, create and merge leads, store the
EngagementEvents, move `last_engaged_at`, mark for rescoring). The request takes no
lock on any lead, so it never waits for a rescore.

Why the answer is exact. A message id is answered `accepted` once: the intake's unique
index admits it once while it waits, and the check against EngagementEvent, run after
the insert, finds a message processed before (whose intake row is gone). The worker
stores the event and deletes its intake row in one transaction; if that transaction is
in flight when a replay of the message arrives, the replay's insert waits for it on
the unique index (the row is being deleted), and the check, a later statement with a
later snapshot, then sees the stored event: the replay is answered `duplicate` and its
intake row removed in the same transaction.

Why nothing is lost: the intake row commits before the answer, and leaves only in the
transaction that stores its event. A worker that dies mid-way rolls back; the beat
sweep (every FUNNEL_INGEST_SWEEP_SECONDS) and every worker's start ring the doorbell
for what is left.

SQLite (`make run` without settings) keeps the synchronous path of ingest.py: one
writer at a time, nothing to win.
"""

from collections.abc import Sequence

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .doorbell import ring_processing_doorbell
from .ingest import record_events
from .ingest_outcomes import ACCEPTED, DUPLICATE
from .models import ApiKey, EngagementEvent, EventSource, IncomingEvent
from .processing import process_all_incoming_events
from .validation import Event

INCOMING = IncomingEvent._meta.db_table
EVENTS = EngagementEvent._meta.db_table


def accept_events(
    *, events: Sequence[Event], source: str = EventSource.API, api_key: ApiKey | None = None
) -> list[str]:
    """Store a batch for processing; returns "accepted" or "duplicate" for each event, in
    order, exactly as if it had been processed (ingest.record_events) at once."""
    if not events:
        return []
    if not deferred():
        return record_events(events=events, source=source, api_key=api_key)
    statuses: list[str] = [DUPLICATE] * len(events)
    first_index: dict[str, int] = {}
    for index, event in enumerate(events):
        first_index.setdefault(event.message_id, index)
    rows = orjson.dumps([_payload(events[index]) for index in first_index.values()]).decode()
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg2's own: no per-row wrapping
        cursor.execute(_INSERT_INCOMING, [timezone.now(), source, api_key.pk if api_key is not None else None, rows])
        stored = [message_id for (message_id,) in cursor.fetchall()]
        if stored:
            # A later statement than the insert, so a later snapshot: see the docstring.
            cursor.execute(f"SELECT message_id FROM {EVENTS} WHERE message_id = ANY(%s)", [stored])
            processed = [message_id for (message_id,) in cursor.fetchall()]
            if processed:
                cursor.execute(f"DELETE FROM {INCOMING} WHERE message_id = ANY(%s)", [processed])
                stored = set(stored) - set(processed)
            for message_id in stored:
                statuses[first_index[message_id]] = ACCEPTED
            if stored and not settings.FUNNEL_INGEST_INLINE:
                transaction.on_commit(ring_processing_doorbell)
    if settings.FUNNEL_INGEST_INLINE:
        # Tests: the worker's half at once, in the caller's process.
        process_all_incoming_events()
    return statuses


def deferred() -> bool:
    return connection.vendor == "postgresql" and settings.FUNNEL_INGEST_DEFERRED


# The row as the worker reads it back (processing._event): the properties go in verbatim,
# already JSON; orjson writes the time in ISO 8601 with its offset.
def _payload(event: Event) -> list:
    return [
        event.message_id,
        event.type,
        event.occurred_at,
        event.email,
        event.external_id,
        event.anonymous_id,
        event.traits or None,
        orjson.Fragment(event.properties_json or "{}"),
    ]


_INSERT_INCOMING = (
    f"INSERT INTO {INCOMING} (message_id, received_at, source, api_key_id, event) "
    "SELECT u->>0, %s, %s, %s, u FROM jsonb_array_elements(%s::jsonb) AS u "
    "ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
)
