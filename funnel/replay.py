"""Replay: the event log is the truth (`manage.py replay --from <database URL>`).

The database of DATABASE_URL (empty or new) is rebuilt from a source database's
recorded events and people's decisions, in time order, with the rules and thresholds
in force at each moment, and the outcome is compared with the source lead by lead.

What is copied and what is recomputed:
- copied: users and their roles (people's decisions need them), each lead's identity and
  profile fields and its creation transition (at the stage it was created in), the rule
  and threshold versions (applied at the moment each was made), and the events (stored at
  the moment each was received);
- replayed: every stage move a person or an API key made, through `leads.services.move_lead`
  at its moment;
- recomputed: every score, every system-made transition (MQL crossings, new cycles) and
  every alert, by the real scorer (`scoring.services.rescore_leads`) run at the moments
  the source's scorer ran (its score changes' times: when the scorer ran is operations,
  what it computed is what is compared).

Compared per live lead (neither merged away nor erased): the score, the system-made
transitions (cycle, from, to, kind) in order, and the alerts (cycle, crossing, score).
Timestamps of recomputed rows are not compared: they record when the replay ran.
"""

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import psycopg2
import psycopg2.extras
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction

from events.models import EngagementEvent
from leads.actors import Actor
from leads.models import ActorKind, Lead, StageTransition
from leads.services import move_lead, rebuild_pipeline_counts
from leads.stages import StageMoveRefused
from scoring.models import RuleVersion, ScoringRule, ScoringSettings, ThresholdVersion
from scoring.services import rescore_leads


class ReplayRefused(Exception):
    """The target is not empty, or the source is not a Funnel database."""


# At one moment: configuration first, then what arrived, then what people did, then the scorer.
RULES, THRESHOLDS, EVENTS, MOVE, SCORE = range(5)
EVENT_STEP = 5000

_LEAD_COPIED = [
    "id",
    "email",
    "anonymous_id",
    "external_id",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "company_size",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "attributes",
    "created_at",
    "erased_at",
]


@dataclass
class Comparison:
    leads: int = 0
    identical: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.identical / self.leads if self.leads else 1.0


def replay(*, source_url: str, say: Callable[[str], None] = print) -> Comparison:
    source = psycopg2.connect(source_url)
    source.set_session(readonly=True)
    try:
        _check_target_is_empty()
        say("copying people, leads and their creation …")
        _copy_people(source)
        _copy_leads(source)
        _clear_configuration(source)
        say("replaying events, decisions and rescores in time order …")
        steps = _replay_timeline(source, say=say)
        rebuild_pipeline_counts()
        say(f"replayed {steps:,} steps; comparing …")
        return compare(source)
    finally:
        source.close()


def _check_target_is_empty() -> None:
    if Lead.objects.exists() or EngagementEvent.objects.exists():
        raise ReplayRefused("The database of DATABASE_URL must be empty or new: it already holds leads or events.")


def _rows(source, query: str, params=()) -> list[dict]:
    with source.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def _reset_sequence(model) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )


def _copy_people(source) -> None:
    User = get_user_model()
    columns = [field.column for field in User._meta.concrete_fields]
    users = _rows(source, f"SELECT {', '.join(columns)} FROM {User._meta.db_table} ORDER BY id")
    memberships = _rows(
        source,
        "SELECT ug.user_id, g.name FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id",
    )
    with transaction.atomic():
        User.objects.bulk_create([User(**row) for row in users], batch_size=2000)
        groups = {}
        for row in memberships:
            group = groups.get(row["name"]) or Group.objects.get_or_create(name=row["name"])[0]
            groups[row["name"]] = group
            group.user_set.add(row["user_id"])
        _reset_sequence(User)


def _copy_leads(source) -> None:
    """Each lead as it was created: identity and profile, first stage, no score; with its
    creation transition. Merges are copied as they ended (the events already point at
    the survivors)."""
    first = {
        row["lead_id"]: row
        for row in _rows(
            source,
            "SELECT DISTINCT ON (lead_id) lead_id, cycle, from_stage, to_stage, kind, actor_kind, "
            "actor_user_id, actor_label, reason, reason_code, occurred_at FROM leads_stagetransition "
            "ORDER BY lead_id, occurred_at, id",
        )
    }
    with source.cursor(name="replay_leads", cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
        cursor.itersize = 5000
        cursor.execute(f"SELECT {', '.join(_LEAD_COPIED)}, merged_into_id FROM leads_lead ORDER BY id")
        merges = []
        while True:
            rows = cursor.fetchmany(5000)
            if not rows:
                break
            leads, transitions = [], []
            for row in rows:
                created = first.get(row["id"])
                stage = created["to_stage"] if created else Lead._meta.get_field("stage").default
                if row["merged_into_id"]:
                    merges.append((row["id"], row["merged_into_id"]))
                leads.append(
                    Lead(
                        **{name: row[name] for name in _LEAD_COPIED},
                        stage=stage,
                        stage_entered_at=row["created_at"],
                    )
                )
                if created:
                    transitions.append(
                        StageTransition(lead_id=row["id"], **{k: v for k, v in created.items() if k != "lead_id"})
                    )
            with transaction.atomic():
                Lead.objects.bulk_create(leads, batch_size=5000)
                StageTransition.objects.bulk_create(transitions, batch_size=5000)
    for merged, survivor in merges:
        Lead.objects.filter(pk=merged).update(merged_into_id=survivor)
    _reset_sequence(Lead)


def _clear_configuration(source) -> None:
    """The migrations' default rules and thresholds make way for the source's history."""
    half_lives = _rows(source, "SELECT default_half_life_days FROM scoring_scoringsettings WHERE id = 1")
    with transaction.atomic():
        ScoringRule.objects.all().delete()
        ThresholdVersion.objects.all().delete()
        if half_lives:
            ScoringSettings.objects.update_or_create(pk=1, defaults=half_lives[0])


def _timeline(source) -> Iterator[tuple[datetime, int, object]]:
    """Every step of the source's history, merged in time order."""
    rules = [
        (row["created_at"], RULES, row)
        for row in _rows(source, "SELECT * FROM scoring_ruleversion ORDER BY created_at, id")
    ]
    thresholds = [
        (row["created_at"], THRESHOLDS, row)
        for row in _rows(source, "SELECT * FROM scoring_thresholdversion ORDER BY created_at, version")
    ]
    moves = [
        (row["occurred_at"], MOVE, row)
        for row in _rows(
            source,
            "SELECT t.* FROM leads_stagetransition t WHERE t.actor_kind <> %s AND t.from_stage <> '' "
            "ORDER BY t.occurred_at, t.id",
            [ActorKind.SYSTEM],
        )
    ]
    scores = [
        (row["at"], SCORE, row)
        for row in _rows(
            source,
            "SELECT at, min(cause) AS cause, array_agg(DISTINCT lead_id) AS lead_ids "
            "FROM scoring_scorechange GROUP BY at ORDER BY at",
        )
    ]
    others = list(heapq.merge(rules, thresholds, moves, scores, key=lambda step: step[:2]))
    boundaries = sorted({moment for moment, _kind, _payload in others})
    yield from heapq.merge(others, _event_steps(source, boundaries), key=lambda step: step[:2])


def _event_steps(source, boundaries: list[datetime]) -> Iterator[tuple[datetime, int, list]]:
    """Events in the order they were received, at most EVENT_STEP at a time, a step never
    spanning another step's moment: a rescore sees exactly the events received by then."""
    upcoming = iter(boundaries)
    boundary = next(upcoming, None)
    step: list[tuple] = []
    with source.cursor(name="replay_events") as cursor:
        cursor.itersize = EVENT_STEP
        cursor.execute(
            "SELECT message_id, lead_id, type, occurred_at, received_at, properties, source "
            "FROM events_engagementevent ORDER BY received_at, id"
        )
        for row in cursor:
            received_at = row[4]
            if boundary is not None and received_at > boundary:
                if step:
                    yield step[0][4], EVENTS, step
                    step = []
                while boundary is not None and received_at > boundary:
                    boundary = next(upcoming, None)
            step.append(row)
            if len(step) >= EVENT_STEP:
                yield step[0][4], EVENTS, step
                step = []
    if step:
        yield step[0][4], EVENTS, step


def _replay_timeline(source, *, say) -> int:
    steps = 0
    for moment, kind, payload in _timeline(source):
        steps += 1
        if kind == RULES:
            _apply_rule_version(payload)
        elif kind == THRESHOLDS:
            _apply_thresholds(payload)
        elif kind == EVENTS:
            _store_events(payload)
        elif kind == MOVE:
            _apply_move(payload)
        else:
            rescore_leads(lead_ids=payload["lead_ids"], cause=payload["cause"], as_of=moment)
        if steps % 1000 == 0:
            say(f"  {steps:,} steps, at {moment:%Y-%m-%d %H:%M:%S}")
    return steps


def _apply_rule_version(row: dict) -> None:
    fields = {
        name: row[name]
        for name in ("label", "kind", "event_type", "conditions", "points", "daily_cap", "half_life_days", "active")
    }
    fields["position"] = row["position"]
    ScoringRule.objects.update_or_create(
        pk=row["rule_id"],
        defaults={**fields, "version": row["version"], "updated_at": row["created_at"], "archived_at": None},
        create_defaults={**fields, "version": row["version"], "created_at": row["created_at"]},
    )
    RuleVersion.objects.create(**{k: v for k, v in row.items() if k != "id"})


def _apply_thresholds(row: dict) -> None:
    settings_row, _ = ScoringSettings.objects.get_or_create(pk=1)
    settings_row.mql_threshold = row["mql_threshold"]
    settings_row.recycle_threshold = row["recycle_threshold"]
    settings_row.version = row["version"]
    settings_row.save(update_fields=["mql_threshold", "recycle_threshold", "version"])
    ThresholdVersion.objects.create(**{k: v for k, v in row.items() if k != "id"})


def _store_events(rows: list[tuple]) -> None:
    EngagementEvent.objects.bulk_create(
        [
            EngagementEvent(
                message_id=message_id,
                lead_id=lead_id,
                type=event_type,
                occurred_at=occurred_at,
                received_at=received_at,
                properties=properties,
                source=event_source,
            )
            for message_id, lead_id, event_type, occurred_at, received_at, properties, event_source in rows
        ],
        batch_size=EVENT_STEP,
    )


def _apply_move(row: dict) -> None:
    User = get_user_model()
    user = User.objects.filter(pk=row["actor_user_id"]).first() if row["actor_user_id"] else None
    actor = Actor.for_user(user) if user else Actor.system(row["actor_label"] or "replay")
    try:
        move_lead(
            lead=row["lead_id"],
            to=row["to_stage"],
            actor=actor,
            reason=row["reason"],
            reason_code=row["reason_code"],
            occurred_at=row["occurred_at"],
        )
    except StageMoveRefused:
        # The lead is not where the person saw it: the comparison will name it.
        pass


# --- Comparison ---------------------------------------------------------------------------


def _outcomes(scores: dict, transitions: list, alerts: list) -> dict:
    rows_by_lead: dict = {}
    for lead_id, score in scores.items():
        rows_by_lead[lead_id] = {"score": score, "transitions": [], "alerts": []}
    for lead_id, *values in transitions:
        if lead_id in rows_by_lead:
            rows_by_lead[lead_id]["transitions"].append(tuple(values))
    for lead_id, *values in alerts:
        if lead_id in rows_by_lead:
            rows_by_lead[lead_id]["alerts"].append(tuple(values))
    return rows_by_lead


_LIVE = "merged_into_id IS NULL AND erased_at IS NULL"
_SCORES = f"SELECT id, score FROM leads_lead WHERE {_LIVE}"
_TRANSITIONS = (
    "SELECT lead_id, cycle, from_stage, to_stage, kind FROM leads_stagetransition "
    "WHERE actor_kind = 'system' AND from_stage <> '' ORDER BY lead_id, occurred_at, id"
)
_ALERTS = "SELECT lead_id, cycle, crossing, score FROM sales_salesalert ORDER BY lead_id, cycle, crossing"


def _read(cursor) -> dict:
    cursor.execute(_SCORES)
    scores = dict(cursor.fetchall())
    cursor.execute(_TRANSITIONS)
    transitions = cursor.fetchall()
    cursor.execute(_ALERTS)
    alerts = cursor.fetchall()
    return _outcomes(scores, transitions, alerts)


def compare(source) -> Comparison:
    with source.cursor() as cursor:
        original = _read(cursor)
    with connection.cursor() as cursor:
        replayed = _read(cursor)
    result = Comparison(leads=len(original))
    for lead_id, expected in original.items():
        got = replayed.get(lead_id)
        if got == expected:
            result.identical += 1
        elif len(result.differences) < 20:
            result.differences.append(f"lead {lead_id}: source {expected} · replay {got}")
    return result
