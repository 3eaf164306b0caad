"""What the events app does when the lifecycle announces a change of a person
(registered in EventsConfig.ready; each runs inside the change's transaction)."""

from .models import EngagementEvent


def move_events_to_survivor(*, survivor_id: int, merged_id: int) -> list[int]:
    """A merge: the merged lead's events now belong to the survivor. Returns their ids.
    The merge holds both leads' row locks, so no event arrives for the merged lead
    between the read and the update (an insert takes a key-share lock on its lead)."""
    moved = list(EngagementEvent.objects.filter(lead_id=merged_id).order_by("pk").values_list("pk", flat=True))
    if moved:
        EngagementEvent.objects.filter(pk__in=moved).update(lead_id=survivor_id)
    return moved


def erase_events(*, lead_ids: list[int]) -> None:
    """An erasure: the person's events go (the lead row keeps only anonymous counts)."""
    EngagementEvent.objects.filter(lead_id__in=lead_ids).delete()


def recent_events(*, lead_ids: list[int], limit: int):
    """For the lead's page and API (leads.details.RECENT_EVENTS): newest first, one indexed query."""
    return EngagementEvent.objects.filter(lead_id__in=lead_ids).order_by("-occurred_at", "-id")[:limit]
