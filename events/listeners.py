"""What the events app does when the lifecycle announces a change of a person
(registered in EventsConfig.ready; each runs inside the change's transaction)."""

from .models import EngagementEvent


def move_events_to_survivor(*, survivor_id: int, merged_id: int) -> int:
    """A merge: the merged lead's events now belong to the survivor. Returns how many moved."""
    return EngagementEvent.objects.filter(lead_id=merged_id).update(lead_id=survivor_id)


def erase_events(*, lead_ids: list[int]) -> None:
    """An erasure: the person's events go (the lead row keeps only anonymous counts)."""
    EngagementEvent.objects.filter(lead_id__in=lead_ids).delete()


def recent_events(*, lead_ids: list[int], limit: int):
    """For the lead's page and API (leads.details.RECENT_EVENTS): newest first, one indexed query."""
    return EngagementEvent.objects.filter(lead_id__in=lead_ids).order_by("-occurred_at", "-id")[:limit]
