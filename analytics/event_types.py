"""The event types page: what has been received, how often, when last, and whether
any active rule scores it; so an event no rule uses is not silent."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Max, Sum

from events.event_types import CANONICAL_TYPES
from events.selectors import recent_event_types
from scoring.models import RuleKind, ScoringRule

from .models import EngagementDaily


@dataclass(frozen=True)
class EventTypeRow:
    type: str
    events: int  # from the summary tables, as of their last refresh
    last_day: date | None
    last_received_at: datetime | None  # among the newest events, if there
    rules: list[str]
    canonical: bool

    @property
    def scored(self) -> bool:
        return bool(self.rules)


def rules_by_event_type() -> dict[str, list[str]]:
    """Active behaviour rules' labels per event type they score."""
    rules: dict[str, list[str]] = {}
    for event_type, label in (
        ScoringRule.objects.filter(kind=RuleKind.BEHAVIOUR, active=True, archived_at__isnull=True)
        .order_by("position", "id")
        .values_list("event_type", "label")
    ):
        rules.setdefault(event_type, []).append(label)
    return rules


def event_types_received() -> list[EventTypeRow]:
    """Every type received (summary counts plus the newest events, so a type sent a
    minute ago shows before the next refresh), unscored types first, then by count.
    Three queries: the summary grouped by type, the newest events, the rules."""
    totals = {
        row["type"]: row
        for row in EngagementDaily.objects.values("type").annotate(events=Sum("events"), last_day=Max("day")).order_by()
    }
    recent = recent_event_types()
    rules = rules_by_event_type()
    rows = []
    for event_type in sorted(set(totals) | set(recent)):
        total = totals.get(event_type, {})
        latest = recent.get(event_type, {})
        rows.append(
            EventTypeRow(
                type=event_type,
                events=max(total.get("events") or 0, latest.get("events") or 0),
                last_day=total.get("last_day"),
                last_received_at=latest.get("last_received_at"),
                rules=rules.get(event_type, []),
                canonical=event_type in CANONICAL_TYPES,
            )
        )
    rows.sort(key=lambda row: (row.scored, -row.events, row.type))
    return rows


def events_of_type(event_type: str) -> int:
    """How many events of a type the summary tables hold (as of their last refresh)."""
    return EngagementDaily.objects.filter(type=event_type).aggregate(n=Sum("events"))["n"] or 0
