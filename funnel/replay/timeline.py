"""The source's history as one timeline, and each step applied through the real services."""

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg2.extras
from django.contrib.auth import get_user_model
from django.db import transaction

from funnel.errors import FunnelError
from leads.actors import Actor
from leads.lifecycle import move_lead, transition_lead
from leads.lifecycle.history import PastMove, record_past_moves
from leads.models import ActorKind, ChangeKind, Lead
from leads.services import merge_leads
from leads.stages import Stage, StageMoveRefused
from sales.models import AlertStatus, SalesAlert
from sales.services import accept_alert, reject_alert
from scoring.models import RuleVersion, ScoringRule, ScoringSettings, ThresholdVersion
from scoring.services import rescore_leads

from .copying import store_events

# At one moment: configuration first, then what arrived, then what people did, then
# merges, then the scorer.
RULES, THRESHOLDS, EVENTS, MOVE, MERGE, SCORE = range(6)
END_OF_TIME = datetime.max.replace(tzinfo=UTC)

# The moves the scorer makes (recomputed, never replayed).
SCORER_REASONS = ("score_crossed_mql", "customer_engaged_again")
DEAL_FIELDS = ("value", "currency", "expected_close_date", "next_step")


def _rows(source, query: str, params=()) -> list[dict]:
    with source.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def clear_configuration(source) -> None:
    """The migrations' default rules and thresholds make way for the source's history."""
    half_lives = _rows(source, "SELECT default_half_life_days FROM scoring_scoringsettings WHERE id = 1")
    with transaction.atomic():
        ScoringRule.objects.all().delete()
        ThresholdVersion.objects.all().delete()
        if half_lives:
            ScoringSettings.objects.update_or_create(pk=1, defaults=half_lives[0])


def timeline(source) -> Iterator[tuple[datetime, int, object]]:
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
            # from_stage '' is a lead's creation (copied with the lead).
            "SELECT t.* FROM leads_stagetransition t WHERE t.from_stage <> '' AND t.reason_code <> ALL(%s) "
            "ORDER BY t.occurred_at, t.id",
            [list(SCORER_REASONS)],
        )
    ]
    merges = [
        (row["merged_at"], MERGE, row) for row in _rows(source, "SELECT * FROM leads_leadmerge ORDER BY merged_at, id")
    ]
    scores = [
        (row["at"], SCORE, row)
        for row in _rows(
            source,
            "SELECT at, min(cause) AS cause, array_agg(DISTINCT lead_id) AS lead_ids FROM ("
            "  SELECT at, cause, lead_id FROM scoring_scorechange"
            "  UNION ALL SELECT occurred_at, NULL, lead_id FROM leads_leadchange WHERE kind = %s"
            ") rescored GROUP BY at ORDER BY at",
            [ChangeKind.MQL_REARMED],
        )
    ]
    # The events received up to each merge or rescore are stored just before it.
    boundaries = sorted({moment for moment, _kind, _payload in merges + scores})
    slices = [
        (until, EVENTS, (after, until))
        for after, until in zip([None, *boundaries], [*boundaries, END_OF_TIME], strict=True)
    ]
    yield from heapq.merge(rules, thresholds, slices, moves, merges, scores, key=lambda step: step[:2])


def replay_timeline(source, *, say) -> int:
    deals = {(row["lead_id"], row["cycle"]): row for row in _rows(source, "SELECT * FROM leads_deal")}
    # Leads whose recycles the source never counted: their history was written by a loader
    # that bypassed the lifecycle's counters (generate_load), and is replayed the same way.
    uncounted = {
        row["id"]
        for row in _rows(
            source,
            "SELECT l.id FROM leads_lead l JOIN (SELECT lead_id, count(*) AS n FROM leads_stagetransition "
            "WHERE kind = 'fall_back' GROUP BY lead_id) fell ON fell.lead_id = l.id WHERE l.recycle_count < fell.n",
        )
    }
    steps = 0
    pending_moves: list[dict] = []
    for moment, kind, payload in timeline(source):
        steps += 1
        if kind == MOVE and payload["actor_kind"] == ActorKind.SYSTEM:
            pending_moves.append(payload)
            continue
        if pending_moves:
            _apply_system_moves(pending_moves, uncounted=uncounted)
            pending_moves = []
        if kind == RULES:
            _apply_rule_version(payload)
        elif kind == THRESHOLDS:
            _apply_thresholds(payload)
        elif kind == EVENTS:
            store_events(after=payload[0], until=None if payload[1] is END_OF_TIME else payload[1])
        elif kind == MOVE:
            _apply_decision(payload, deals=deals)
        elif kind == MERGE:
            _apply_merge(payload)
        else:
            rescore_leads(lead_ids=payload["lead_ids"], cause=payload["cause"] or "events", as_of=moment)
        if steps % 1000 == 0 and moment is not END_OF_TIME:
            say(f"  {steps:,} steps, at {moment:%Y-%m-%d %H:%M:%S}")
    if pending_moves:
        _apply_system_moves(pending_moves, uncounted=uncounted)
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


def _actor(row: dict) -> Actor:
    User = get_user_model()
    user = User.objects.filter(pk=row["actor_user_id"]).first() if row["actor_user_id"] else None
    if row["actor_kind"] == ActorKind.USER and user is not None:
        return Actor.for_user(user)
    if row["actor_kind"] == ActorKind.API_KEY:
        # The key itself is not copied; its user and name are on the transition.
        return Actor(kind=ActorKind.API_KEY, user=user, label=row["actor_label"], scopes=("leads:write",))
    return Actor.system(row["actor_label"] or "replay")


def _apply_system_moves(rows: list[dict], *, uncounted: set[int]) -> None:
    """Moves the system made but the scorer did not (an import, a loaded history): in one
    set-based write (record_past_moves, with the kinds as recorded: generate_load writes
    jumps without a reason, which a live move would refuse) for the leads no alert waits
    on; one by one, as they happened live, for the others (their open alert closes)."""
    lead_ids = {row["lead_id"] for row in rows}
    with_alert = set(
        SalesAlert.objects.filter(lead_id__in=lead_ids, status=AlertStatus.OPEN).values_list("lead_id", flat=True)
    )
    leads = Lead.objects.in_bulk([lead_id for lead_id in lead_ids if lead_id not in with_alert])
    past: dict[Lead, list[PastMove]] = {}
    for row in rows:
        lead = leads.get(row["lead_id"])
        if lead is None or lead.merged_into_id or lead.erased_at:
            _move(row)
            continue
        past.setdefault(lead, []).append(
            PastMove(
                to_stage=row["to_stage"],
                occurred_at=row["occurred_at"],
                actor=_actor(row),
                new_cycle=row["kind"] == "new_cycle",
                reason=row["reason"],
                reason_code=row["reason_code"],
                kind=row["kind"],
            )
        )
    with transaction.atomic():
        try:
            record_past_moves(moves={lead: moves for lead, moves in past.items() if lead.pk not in uncounted})
            record_past_moves(
                moves={lead: moves for lead, moves in past.items() if lead.pk in uncounted}, counters=False
            )
        except StageMoveRefused:
            transaction.set_rollback(True)
            refused = True
        else:
            refused = False
    if refused:
        # One of them does not follow from the lead's stage here: each as it comes.
        for row in rows:
            if row["lead_id"] in leads:
                _move(row)


def _move(row: dict) -> None:
    try:
        move_lead(
            lead=row["lead_id"],
            to=row["to_stage"],
            actor=_actor(row),
            reason=row["reason"],
            reason_code=row["reason_code"],
            new_cycle=row["kind"] == "new_cycle",
            occurred_at=row["occurred_at"],
        )
    except StageMoveRefused:
        # The lead is not where the source's was: the comparison will name it.
        pass


def _apply_decision(row: dict, *, deals: dict) -> None:
    """A person's (or an API key's) move, through the service they used."""
    actor = _actor(row)
    lead_id, to, when = row["lead_id"], row["to_stage"], row["occurred_at"]
    try:
        if row["from_stage"] == Stage.MQL and to in (Stage.SAL, Stage.NURTURE) and actor.user is not None:
            alert = SalesAlert.objects.filter(lead_id=lead_id, status=AlertStatus.OPEN).order_by("-id").first()
            if alert is not None and to == Stage.SAL and row["reason_code"] == "accepted":
                accept_alert(alert=alert, user=actor.user, actor=actor, occurred_at=when)
                return
            if alert is not None and to == Stage.NURTURE and row["reason"].startswith("Rejected"):
                note = row["reason"].partition(" — ")[2]
                reject_alert(
                    alert=alert,
                    user=actor.user,
                    reason_code=row["reason_code"],
                    note=note,
                    actor=actor,
                    occurred_at=when,
                )
                return
        deal = deals.get((lead_id, row["cycle"]))
        fields = {name: deal[name] for name in DEAL_FIELDS if deal and deal[name] not in (None, "")}
        transition_lead(
            lead=Lead.objects.get(pk=lead_id),
            to=to,
            actor=actor,
            reason=row["reason"],
            reason_code=row["reason_code"],
            deal=fields if to in (Stage.SQL, Stage.CUSTOMER) else None,
            occurred_at=when,
        )
    except (FunnelError, StageMoveRefused):
        # Refused as asked (the lead is not where the source's was, or the person may no
        # longer act): recorded as a plain move if the stages allow it.
        _move(row)


def _apply_merge(row: dict) -> None:
    User = get_user_model()
    user = User.objects.filter(pk=row["actor_user_id"]).first() if row["actor_user_id"] else None
    actor = Actor.for_user(user) if user else Actor.system(row["actor_label"] or "replay")
    leads = Lead.objects.in_bulk([row["survivor_id"], row["merged_id"]])
    try:
        merge_leads(
            survivor=leads[row["survivor_id"]], merged=leads[row["merged_id"]], actor=actor, reason=row["reason"]
        )
    except ValueError:
        pass
