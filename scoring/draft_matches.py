"""How many events a draft behaviour rule would match, among the newest events: the
preview says it, so a rule written for a type nobody sends is caught before publishing."""

from dataclasses import dataclass

from events.selectors import newest_events_of_type

from .computation import condition_from_dict, condition_holds
from .models import RuleKind, ScoringRule


@dataclass(frozen=True)
class DraftMatches:
    event_type: str
    window: int  # how many of the newest events were looked at
    of_type: int
    matching: int  # of those, how many the draft's conditions accept


def draft_rule_fields(draft: dict, rule: ScoringRule | None) -> dict:
    """The rule as it would be after publishing: a new rule's fields, or the edited
    rule's fields with the draft's changes."""
    if draft.get("action") == "create":
        return dict(draft.get("rule") or {})
    if rule is None:
        return {}
    fields = {"kind": rule.kind, "event_type": rule.event_type, "conditions": rule.conditions}
    return {**fields, **(draft.get("changes") or {})}


def draft_event_matches(draft: dict, rule: ScoringRule | None) -> DraftMatches | None:
    fields = draft_rule_fields(draft, rule)
    if fields.get("kind") != RuleKind.BEHAVIOUR or not fields.get("event_type"):
        return None
    conditions = [condition_from_dict(raw) for raw in fields.get("conditions") or [] if isinstance(raw, dict)]
    window, properties = newest_events_of_type(fields["event_type"])
    matching = sum(1 for props in properties if all(condition_holds(c, props.get(c.field)) for c in conditions))
    return DraftMatches(event_type=fields["event_type"], window=window, of_type=len(properties), matching=matching)
