"""The score, as a plain function of a lead's events, its fields and the rules.

This is the reference: obviously correct and slow. The set-based path in
`scoring/sql.py` must agree with it (tests/scoring/test_set_based_equals_reference.py).

The formula, for a lead at time T (as_of):

    window   = events of the current cycle (occurred_at ≥ the start of the cycle, or all
               events in the first cycle) with occurred_at ≤ T
    counted  = for each behaviour rule r, the events in the window of r's type whose
               properties meet all of r's conditions; per UTC day only the first
               daily_cap of them (ordered by occurred_at, then id) count
    value(r) = Σ over counted events e of points(r) × 0.5 ^ (age(e) / half_life(r)),
               age(e) = (T − e.occurred_at) in days (seconds / 86400),
               half_life(r) = r.half_life_days or the global default
    value(f) = points(f) for each fit rule f whose conditions all hold on the lead
    score    = max(0, floor(Σ value + 0.5))
"""

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .models import ConditionOp, RuleKind

SECONDS_PER_DAY = 86400.0

# Lead columns a fit rule may test; anything else must be "attributes.<key>".
FIT_FIELDS = {
    "email": "text",
    "first_name": "text",
    "last_name": "text",
    "company": "text",
    "job_title": "text",
    "phone": "text",
    "country": "text",
    "company_size": "number",
    "source": "text",
    "utm_source": "text",
    "utm_medium": "text",
    "utm_campaign": "text",
    "utm_term": "text",
    "utm_content": "text",
}


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    # equals: one string; contains / in: strings (contains: any of them); gte: a number.
    values: tuple
    number: float | None = None


@dataclass(frozen=True)
class RuleSpec:
    id: int
    version: int
    label: str
    kind: str
    event_type: str
    conditions: tuple[Condition, ...]
    points: int
    daily_cap: int | None
    half_life_days: float

    @property
    def is_behaviour(self) -> bool:
        return self.kind == RuleKind.BEHAVIOUR


@dataclass
class Contribution:
    rule_id: int
    version: int
    label: str
    kind: str
    points: int  # before decay: points × counted events (or points, for a fit rule)
    value: float  # after decay
    events: int = 0
    capped: bool = False

    def as_dict(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "version": self.version,
            "label": self.label,
            "kind": self.kind,
            "points": self.points,
            "value": round(self.value, 3),
            "events": self.events,
            "capped": self.capped,
        }


@dataclass
class ScoreResult:
    score: int
    total: float
    contributions: list[Contribution] = field(default_factory=list)

    def contributions_as_dicts(self) -> list[dict]:
        return [c.as_dict() for c in self.contributions]


def condition_from_dict(raw: dict) -> Condition:
    """Build a Condition from its stored JSON ({"field", "op", "value"}), already validated."""
    op = raw["op"]
    value = raw["value"]
    if op == ConditionOp.GTE:
        return Condition(field=raw["field"], op=op, values=(), number=float(value))
    if isinstance(value, list):
        return Condition(field=raw["field"], op=op, values=tuple(as_text(item) for item in value))
    return Condition(field=raw["field"], op=op, values=(as_text(value),))


def as_text(value) -> str | None:
    """A JSON or column value as text, the way PostgreSQL's `->>` renders jsonb."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(", ", ": "))


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def condition_holds(condition: Condition, value) -> bool:
    """One condition on one value (an event property or a lead field); a missing value
    meets no condition."""
    if value is None:
        return False
    if condition.op == ConditionOp.GTE:
        return is_number(value) and value >= condition.number
    text = as_text(value)
    if condition.op == ConditionOp.CONTAINS:
        lowered = text.lower()
        return any(needle.lower() in lowered for needle in condition.values)
    # equals and in: exact text
    return text in condition.values


def lead_value(lead, name: str):
    if name.startswith("attributes."):
        return (lead.attributes or {}).get(name.removeprefix("attributes."))
    value = getattr(lead, name, None)
    if value == "" and FIT_FIELDS.get(name) == "text":
        # A blank column is "no value", as NULL is in SQL (email is NULL when unknown).
        return None
    return value


def event_matches(rule: RuleSpec, event_type: str, properties: dict) -> bool:
    if event_type != rule.event_type:
        return False
    properties = properties or {}
    return all(condition_holds(c, properties.get(c.field)) for c in rule.conditions)


def fit_matches(rule: RuleSpec, lead) -> bool:
    return all(condition_holds(c, lead_value(lead, c.field)) for c in rule.conditions)


def decay_factor(*, age_seconds: float, half_life_days: float) -> float:
    return math.pow(0.5, max(0.0, age_seconds) / SECONDS_PER_DAY / half_life_days)


def score_from_total(total: float) -> int:
    return max(0, math.floor(total + 0.5))


def evaluate(*, lead, events, rules: list[RuleSpec], as_of: datetime, window_start: datetime | None) -> ScoreResult:
    """The formula above over already-loaded data: `events` are (id, type, occurred_at,
    properties) tuples of the lead."""
    in_window = [e for e in events if e[2] <= as_of and (window_start is None or e[2] >= window_start)]
    in_window.sort(key=lambda e: (e[2], e[0]))
    contributions: list[Contribution] = []
    for rule in rules:
        if rule.is_behaviour:
            per_day: dict = {}
            counted = 0
            capped = False
            value = 0.0
            for _event_id, event_type, occurred_at, properties in in_window:
                if not event_matches(rule, event_type, properties):
                    continue
                day = occurred_at.astimezone(UTC).date()
                seen = per_day.get(day, 0)
                per_day[day] = seen + 1
                if rule.daily_cap is not None and seen >= rule.daily_cap:
                    capped = True
                    continue
                counted += 1
                age = (as_of - occurred_at).total_seconds()
                value += rule.points * decay_factor(age_seconds=age, half_life_days=rule.half_life_days)
            if counted:
                contributions.append(
                    Contribution(
                        rule_id=rule.id,
                        version=rule.version,
                        label=rule.label,
                        kind=rule.kind,
                        points=rule.points * counted,
                        value=value,
                        events=counted,
                        capped=capped,
                    )
                )
        elif fit_matches(rule, lead):
            contributions.append(
                Contribution(
                    rule_id=rule.id,
                    version=rule.version,
                    label=rule.label,
                    kind=rule.kind,
                    points=rule.points,
                    value=float(rule.points),
                )
            )
    # Summed in rule order, as the SQL path sums per lead: the same float operations.
    total = math.fsum(c.value for c in contributions)
    return ScoreResult(score=score_from_total(total), total=total, contributions=contributions)
