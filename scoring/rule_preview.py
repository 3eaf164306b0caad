"""What a draft of the scoring rules would do, computed with the scoring engine's own
reference formula (`scoring.computation.evaluate`, which `scoring.services.compute_score`
wraps), over batches of leads whose events are loaded in one query per batch. The rule
editor queues, runs and publishes previews through scoring.services.previews.

A draft is one change to the rules in force:
    {"action": "create", "rule": {...}}
    {"action": "update", "rule_id": 7, "base_version": 3, "changes": {...}}
    {"action": "thresholds", "base_version": 1, "mql_threshold": 60, "recycle_threshold": 30}

Two answers:
- now: the identified leads not yet with sales whose score under the draft would reach
  the MQL threshold (and who are armed for it), i.e. who would cross on publishing;
- replay: over the last 90 days, the leads the draft (and, for comparison, the rules in
  force) would have made MQL, and of those how many sales then accepted (reached SAL)
  and won (reached customer) in fact. Scores are checked after each day's last scored
  event: between events a score only decays, so a crossing shows at an event.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Max

from events.models import EngagementEvent
from leads.models import Lead, StageTransition
from leads.stages import MoveKind, Stage

from .computation import RuleSpec, condition_from_dict, evaluate
from .models import RuleKind, ScoringRule
from .rules import EDITABLE_FIELDS
from .selectors import scoring_settings

REPLAY_DAYS = 90
BATCH_SIZE = 200
LISTED_LEADS = 100
PRE_MQL_STAGES = [Stage.DEMAND_GEN, Stage.LEAD_GEN, Stage.NURTURE]
# A rule in a draft that does not exist yet has no id; it scores under this one.
NEW_RULE_ID = 0


@dataclass(frozen=True)
class Draft:
    rules: list[RuleSpec]
    current_rules: list[RuleSpec]
    mql_threshold: int
    recycle_threshold: int
    current_mql_threshold: int


def _spec(rule_id: int, version: int, fields: dict, default_half_life_days: float) -> RuleSpec:
    behaviour = fields["kind"] == RuleKind.BEHAVIOUR
    return RuleSpec(
        id=rule_id,
        version=version,
        label=fields["label"],
        kind=fields["kind"],
        event_type=fields["event_type"] if behaviour else "",
        conditions=tuple(condition_from_dict(raw) for raw in fields.get("conditions") or []),
        points=fields["points"],
        daily_cap=fields.get("daily_cap") if behaviour else None,
        half_life_days=fields.get("half_life_days") or default_half_life_days,
    )


def build_draft(draft: dict) -> Draft:
    """The rule set and thresholds as they would be with `draft` published."""
    settings = scoring_settings()
    half_life = settings.default_half_life_days
    rows = list(ScoringRule.objects.filter(archived_at__isnull=True).order_by("position", "id"))
    current = {rule.pk: {name: getattr(rule, name) for name in EDITABLE_FIELDS} for rule in rows}
    versions = {rule.pk: rule.version for rule in rows}
    places = {rule.pk: place for place, rule in enumerate(rows)}
    proposed = {pk: dict(fields) for pk, fields in current.items()}
    mql, recycle = settings.mql_threshold, settings.recycle_threshold
    action = draft.get("action")
    if action == "create":
        proposed[NEW_RULE_ID] = {"active": True, **draft["rule"]}
        versions[NEW_RULE_ID] = 1
        places[NEW_RULE_ID] = len(rows)
    elif action == "update" and draft.get("rule_id") in proposed:
        proposed[draft["rule_id"]].update(draft.get("changes") or {})
    elif action == "thresholds":
        mql, recycle = draft["mql_threshold"], draft["recycle_threshold"]

    def specs(rule_fields: dict) -> list[RuleSpec]:
        # In the list's order, a new rule last (where create_rule puts it).
        ordered = sorted(rule_fields.items(), key=lambda item: places[item[0]])
        return [_spec(pk, versions[pk], fields, half_life) for pk, fields in ordered if fields.get("active", True)]

    return Draft(
        rules=specs(proposed),
        current_rules=specs(current),
        mql_threshold=mql,
        recycle_threshold=recycle,
        current_mql_threshold=settings.mql_threshold,
    )


def _scored_types(*rule_sets: list[RuleSpec]) -> list[str]:
    return sorted({rule.event_type for rules in rule_sets for rule in rules if rule.is_behaviour})


def _load_events(lead_ids: list[int], types: list[str], until: datetime) -> dict[int, list[tuple]]:
    events: dict[int, list[tuple]] = defaultdict(list)
    rows = EngagementEvent.objects.filter(lead_id__in=lead_ids, type__in=types, occurred_at__lte=until).values_list(
        "lead_id", "id", "type", "occurred_at", "properties"
    )
    for lead_id, event_id, event_type, occurred_at, properties in rows:
        events[lead_id].append((event_id, event_type, occurred_at, properties))
    return events


def _cycle_starts(lead_ids: list[int]) -> dict[int, list[datetime]]:
    starts: dict[int, list[datetime]] = defaultdict(list)
    for lead_id, occurred_at in (
        StageTransition.objects.filter(lead_id__in=lead_ids, kind=MoveKind.NEW_CYCLE)
        .order_by("occurred_at")
        .values_list("lead_id", "occurred_at")
    ):
        starts[lead_id].append(occurred_at)
    return starts


def _window_start(starts: list[datetime], at: datetime) -> datetime | None:
    """The start of the cycle the lead was in at `at` (None in its first cycle)."""
    earlier = [start for start in starts if start <= at]
    return earlier[-1] if earlier else None


def _batches(queryset, size: int) -> Iterable[list[Lead]]:
    last = 0
    while True:
        batch = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def _identified():
    return Lead.objects.filter(email__isnull=False, merged_into__isnull=True, erased_at__isnull=True).exclude(email="")


def now_candidates():
    return _identified().filter(stage__in=PRE_MQL_STAGES)


def replay_candidates(*, as_of: datetime, types: list[str]):
    since = as_of - timedelta(days=REPLAY_DAYS)
    recent = EngagementEvent.objects.filter(occurred_at__gte=since, occurred_at__lte=as_of, type__in=types)
    return _identified().filter(pk__in=recent.values("lead_id"))


def would_cross_now(
    draft: Draft, *, as_of: datetime, on_progress: Callable[[int], None] = lambda n: None, batch_size=BATCH_SIZE
) -> dict:
    types = _scored_types(draft.rules)
    crossing: list[dict] = []
    candidates = 0
    for batch in _batches(now_candidates(), batch_size):
        ids = [lead.pk for lead in batch]
        events = _load_events(ids, types, as_of)
        starts = _cycle_starts(ids)
        for lead in batch:
            result = evaluate(
                lead=lead,
                events=events.get(lead.pk, []),
                rules=draft.rules,
                as_of=as_of,
                window_start=_window_start(starts.get(lead.pk, []), as_of),
            )
            candidates += 1
            if result.score >= draft.mql_threshold and lead.mql_armed:
                crossing.append(
                    {
                        "id": lead.pk,
                        "name": lead.display_name,
                        "stage": lead.stage,
                        "score_now": lead.score,
                        "score_draft": result.score,
                    }
                )
        on_progress(len(batch))
    crossing.sort(key=lambda row: (-row["score_draft"], row["id"]))
    return {"candidates": candidates, "would_cross": len(crossing), "leads": crossing[:LISTED_LEADS]}


def _first_crossing(
    lead, events: list[tuple], rules: list[RuleSpec], threshold: int, starts: list[datetime], since, as_of
) -> datetime | None:
    """When, in (since, as_of], the lead's score under `rules` first reached
    `threshold` having been below it at `since`; None if it never did."""
    at_start = evaluate(lead=lead, events=events, rules=rules, as_of=since, window_start=_window_start(starts, since))
    if at_start.score >= threshold:
        return None
    last_of_day: dict = {}
    for _event_id, _type, occurred_at, _properties in events:
        if since < occurred_at <= as_of:
            day = occurred_at.astimezone(UTC).date()
            last_of_day[day] = max(last_of_day.get(day, occurred_at), occurred_at)
    for checkpoint in sorted(last_of_day.values()):
        result = evaluate(
            lead=lead, events=events, rules=rules, as_of=checkpoint, window_start=_window_start(starts, checkpoint)
        )
        if result.score >= threshold:
            return checkpoint
    return None


def replay(
    draft: Draft, *, as_of: datetime, on_progress: Callable[[int], None] = lambda n: None, batch_size=BATCH_SIZE
) -> dict:
    since = as_of - timedelta(days=REPLAY_DAYS)
    types = _scored_types(draft.rules, draft.current_rules)
    outcomes = {
        "draft": {"mqls": 0, "accepted": 0, "won": 0},
        "current": {"mqls": 0, "accepted": 0, "won": 0},
    }
    for batch in _batches(replay_candidates(as_of=as_of, types=types), batch_size):
        ids = [lead.pk for lead in batch]
        events = _load_events(ids, types, as_of)
        starts = _cycle_starts(ids)
        reached = _reached_after(ids, since)
        for lead in batch:
            for name, rules, threshold in (
                ("draft", draft.rules, draft.mql_threshold),
                ("current", draft.current_rules, draft.current_mql_threshold),
            ):
                crossed = _first_crossing(
                    lead, events.get(lead.pk, []), rules, threshold, starts.get(lead.pk, []), since, as_of
                )
                if crossed is None:
                    continue
                outcome = outcomes[name]
                outcome["mqls"] += 1
                later = reached.get(lead.pk, {})
                if later.get(Stage.SAL) and later[Stage.SAL] >= crossed:
                    outcome["accepted"] += 1
                if later.get(Stage.CUSTOMER) and later[Stage.CUSTOMER] >= crossed:
                    outcome["won"] += 1
        on_progress(len(batch))
    return {"days": REPLAY_DAYS, "since": since.isoformat(), **outcomes}


def _reached_after(lead_ids: list[int], since: datetime) -> dict[int, dict[str, datetime]]:
    """The last time each lead entered SAL and customer since `since`."""
    reached: dict[int, dict[str, datetime]] = defaultdict(dict)
    for row in (
        StageTransition.objects.filter(
            lead_id__in=lead_ids, to_stage__in=[Stage.SAL, Stage.CUSTOMER], occurred_at__gte=since
        )
        .values("lead_id", "to_stage")
        .annotate(last=Max("occurred_at"))
        .order_by()
    ):
        reached[row["lead_id"]][row["to_stage"]] = row["last"]
    return reached
