"""What the events app does when the lifecycle announces a change of a person
(registered in EventsConfig.ready; each runs inside the change's transaction)."""

from django.db import connection

from leads.models import Lead

from .models import EngagementEvent, IncomingEvent


def move_events_to_survivor(*, survivor_id: int, merged_id: int) -> list[int]:
    """A merge: the merged lead's events now belong to the survivor. Returns their ids.
    The merge holds both leads' row locks, so no event arrives for the merged lead
    between the read and the update (an insert takes a key-share lock on its lead)."""
    moved = list(EngagementEvent.objects.filter(lead_id=merged_id).order_by("pk").values_list("pk", flat=True))
    if moved:
        EngagementEvent.objects.filter(pk__in=moved).update(lead_id=survivor_id)
    return moved


def erase_events(*, lead_ids: list[int]) -> None:
    """An erasure: the person's events go (the lead row keeps only anonymous counts),
    the ones still waiting in the intake too: processed after the erasure, they would
    bring the person back as a new lead."""
    EngagementEvent.objects.filter(lead_id__in=lead_ids).delete()
    erase_waiting_events(lead_ids=lead_ids)


# The intake row's event is the JSON array intake._payload writes: email, external id
# and anonymous id at these positions (emails already lower-cased by validation).
_WAITING_NAMING = (
    f"DELETE FROM {IncomingEvent._meta.db_table} WHERE id IN ("
    f"SELECT id FROM {IncomingEvent._meta.db_table} "
    "WHERE event->>3 = ANY(%(emails)s) OR event->>4 = ANY(%(external_ids)s) OR event->>5 = ANY(%(anonymous_ids)s) "
    # A batch a worker holds right now is skipped rather than waited for: the worker
    # may be waiting for this erasure's lead lock, and waiting back would deadlock.
    "FOR UPDATE SKIP LOCKED)"
)


def erase_waiting_events(*, lead_ids: list[int]) -> None:
    """Announced before the lead rows are blanked: their identities say what to remove."""
    if connection.vendor != "postgresql":
        return  # elsewhere ingest stores synchronously: nothing ever waits
    people = list(Lead.objects.filter(pk__in=lead_ids).values_list("email", "external_id", "anonymous_id"))
    if not people:
        return
    emails, external_ids, anonymous_ids = ([value for value in column if value] for column in zip(*people, strict=True))
    if not (emails or external_ids or anonymous_ids):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _WAITING_NAMING,
            {
                "emails": [email.lower() for email in emails],
                "external_ids": external_ids,
                "anonymous_ids": anonymous_ids,
            },
        )


def recent_events(*, lead_ids: list[int], limit: int):
    """For the lead's page and API (leads.details.RECENT_EVENTS): newest first, one indexed query."""
    return EngagementEvent.objects.filter(lead_id__in=lead_ids).order_by("-occurred_at", "-id")[:limit]
