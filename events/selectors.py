"""Reads of the event log that need care at 10M rows."""

from django.db.models import Count, Max

from .models import EngagementEvent

RECENT_WINDOW = 5000


def recent_event_types(*, window: int = RECENT_WINDOW) -> dict[str, dict]:
    """Types among the newest `window` events, with how many and when last received:
    one index walk of the primary key, whatever the table's size."""
    newest = EngagementEvent.objects.order_by("-id").values("id")[:window]
    rows = (
        EngagementEvent.objects.filter(id__in=newest)
        .values("type")
        .annotate(events=Count("id"), last_received_at=Max("received_at"))
        .order_by()
    )
    return {row["type"]: {"events": row["events"], "last_received_at": row["last_received_at"]} for row in rows}


def newest_events_of_type(event_type: str, *, window: int = RECENT_WINDOW) -> tuple[int, list[dict]]:
    """(how many events the window held, the properties of those of `event_type`), for a
    draft rule's "how many events would it match" without reading the whole log."""
    newest = list(EngagementEvent.objects.order_by("-id").values_list("type", "properties")[:window])
    return len(newest), [properties or {} for kind, properties in newest if kind == event_type]
