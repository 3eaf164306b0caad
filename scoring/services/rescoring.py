"""Rescoring: recompute, store and act on the scores of a chunk of leads, in one
transaction; drain the marks; the sweep that picks up what was left.

Scoring decides the score; the lifecycle (leads.lifecycle) decides what it means: the
MQL crossing, re-arming below the recycle threshold, a customer's new cycle.
"""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events.models import EngagementEvent
from leads import lifecycle
from leads.actors import Actor
from leads.bulk import update_lead_columns
from leads.models import Lead
from leads.stages import Stage

from .. import sql as score_sql
from ..computation import RuleSpec, ScoreResult, evaluate, event_matches
from ..likelihood.refresh import refresh_likelihoods
from ..models import ScoreChange, ScoringSettings
from ..selectors import active_rule_specs, cycle_started_at, scoring_settings
from .doorbell import ring_rescore_doorbell
from .marks import claim_marks, release_claims, schedule_wake_up, settle_marks

logger = logging.getLogger(__name__)

# One doorbell drains marks for at most this long, then rings again (fair to others).
DRAIN_BUDGET_SECONDS = 20.0


@dataclass
class RescoreOutcome:
    leads: int = 0
    crossings: list[int] = field(default_factory=list)
    new_cycles: list[int] = field(default_factory=list)


def compute_score(
    *, lead: Lead, as_of: datetime, rules: list[RuleSpec] | None = None, window_start: datetime | None = None
) -> ScoreResult:
    """The reference score of one lead at `as_of` (see scoring/computation.py)."""
    if rules is None:
        rules = active_rule_specs()
    if window_start is None:
        window_start = cycle_started_at(lead=lead)
    types = sorted({rule.event_type for rule in rules if rule.is_behaviour})
    events = list(
        EngagementEvent.objects.filter(lead_id=lead.pk, type__in=types, occurred_at__lte=as_of).values_list(
            "id", "type", "occurred_at", "properties"
        )
    )
    return evaluate(lead=lead, events=events, rules=rules, as_of=as_of, window_start=window_start)


def rescore_leads(
    *, lead_ids: Iterable[int], cause: str, as_of: datetime | None = None, every_likelihood: bool = True
) -> RescoreOutcome:
    """Recompute, store and act on the scores of `lead_ids`, in one transaction.

    The leads' likelihoods are recomputed in the same transaction (a no-op while no
    model is published): every lead's, or with `every_likelihood=False` (a full rescore
    after a rule change) only those of the leads whose score changed, or that crossed
    the MQL threshold or began a new cycle here. A lead's other facts (its events of
    the last 90 days, as they come and age) are the concern of its own rescores after
    events and decay, which recompute every likelihood; recomputing all 100,000 of them
    again cost a full rescore a third more (bench/likelihood.py).

    The leads' rows are locked first, in id order (the order every writer uses), so a
    rep's stage move waits for us or we for it, and no two rescores of one lead
    interleave. On PostgreSQL the lock is FOR NO KEY UPDATE: it still excludes every
    other writer of a lead (moves, merges, erasures and other rescores take FOR UPDATE
    or this same lock), but not the FOR KEY SHARE that storing an event takes (its
    foreign-key check, the ingest processing's lock against merges). A rescore and the
    ingest of new events for its leads no longer wait for each other: the events' marks
    bump the generation the rescore claimed, so the next rescore counts them. On
    PostgreSQL the chunk is one set-based statement; elsewhere the reference runs lead
    by lead.
    """
    ids = sorted({int(lead_id) for lead_id in lead_ids})
    outcome = RescoreOutcome()
    if not ids:
        return outcome
    as_of = as_of or timezone.now()
    with transaction.atomic():
        locked = _lock_in_id_order(ids)
        outcome.leads = len(locked)
        if not locked:
            return outcome
        thresholds = scoring_settings()
        rules = active_rule_specs(default_half_life_days=thresholds.default_half_life_days)
        for lead_id, stage, stage_entered_at in locked:
            if stage == Stage.CUSTOMER and open_new_cycle_if_engaged_again(
                lead_id=lead_id, customer_since=stage_entered_at, rules=rules, as_of=as_of
            ):
                outcome.new_cycles.append(lead_id)
        locked_ids = [row[0] for row in locked]
        store = _store_scores_set_based if connection.vendor == "postgresql" else _store_scores_one_by_one
        candidates, changed = store(lead_ids=locked_ids, rules=rules, as_of=as_of, cause=cause, thresholds=thresholds)
        for lead_id, score, contributions in candidates:
            if cross_mql_threshold(lead_id=lead_id, score=score, contributions=contributions, thresholds=thresholds):
                outcome.crossings.append(lead_id)
        if not every_likelihood:
            # Only the leads this rescore changed: their score, or their stage and cycle.
            locked_ids = sorted({*changed, *outcome.crossings, *outcome.new_cycles})
        refresh_likelihoods(lead_ids=locked_ids, as_of=as_of)
    return outcome


def _lock_in_id_order(ids: list[int]) -> list[tuple]:
    """Lock the leads' rows in id order (lock_leads' order) and read what the chunk
    needs before scoring: (id, stage, stage_entered_at)."""
    if connection.vendor == "postgresql":
        # One array literal instead of an IN list of 20,000 parameters.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, stage, stage_entered_at FROM leads_lead "
                "WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE",
                [score_sql.array_literal(ids)],
            )
            return cursor.fetchall()
    return list(
        Lead.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "stage", "stage_entered_at")
    )


def _store_scores_set_based(*, lead_ids, rules, as_of, cause, thresholds: ScoringSettings):
    """The leads that may cross the MQL threshold (id, score, contributions), and the ids
    of the leads whose score changed."""
    statement, params = score_sql.rescore_statement(
        rules=rules,
        lead_ids=lead_ids,
        as_of=as_of,
        cause=cause,
        mql=thresholds.mql_threshold,
        recycle=thresholds.recycle_threshold,
    )
    with connection.cursor() as cursor:
        # Sorting a batch's events for the daily caps spills to disk at the default 4 MB;
        # LOCAL keeps the setting to this transaction.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    candidates = [(row[0], row[1], score_sql.decode_json(row[2])) for row in rows if row[3]]
    return candidates, [row[0] for row in rows if row[4]]


def _store_scores_one_by_one(*, lead_ids, rules, as_of, cause, thresholds: ScoringSettings):
    """The slow, portable path (SQLite): the reference per lead, the same writes and
    the same answer."""
    candidates, below_recycle, changed, changes = [], [], [], []
    recycle = thresholds.recycle_threshold
    for lead in Lead.objects.filter(pk__in=lead_ids).order_by("pk"):
        result = compute_score(lead=lead, as_of=as_of, rules=rules)
        contributions = result.contributions_as_dicts()
        armed = lifecycle.armed_after(armed=lead.mql_armed, score=result.score, recycle_threshold=recycle)
        if armed and not lead.mql_armed:
            lifecycle.record_rearmed(
                lead_id=lead.pk, reason=f"Score {result.score} is below the recycle threshold {recycle}", at=as_of
            )
        if result.score != lead.score:
            changes.append(
                ScoreChange(
                    lead=lead,
                    old_score=lead.score,
                    new_score=result.score,
                    contributions=contributions,
                    cause=cause[:60],
                    at=as_of,
                )
            )
        if result.score < recycle:
            below_recycle.append(lead.pk)
        # Judged on the lead as it was read (its arming before this score).
        if result.score >= thresholds.mql_threshold and lifecycle.may_cross_mql(lead):
            candidates.append((lead.pk, result.score, contributions))
        if result.score != lead.score or armed != lead.mql_armed:
            lead.score, lead.mql_armed = result.score, armed
            changed.append(lead)
    # Written together once the chunk is scored (the rows are locked by the caller).
    update_lead_columns(changed, ["score", "mql_armed"])
    ScoreChange.objects.bulk_create(changes, batch_size=500)
    # The sales app flags these leads' open alerts (the set-based statement does it in SQL).
    lifecycle.note_scores_below_recycle(lead_ids=below_recycle)
    return candidates, [change.lead_id for change in changes]


def cross_mql_threshold(*, lead_id: int, score: int, contributions: list, thresholds: ScoringSettings) -> bool:
    """The score crossed the MQL threshold: the lifecycle decides what that does."""
    return lifecycle.cross_mql_threshold(
        lead_id=lead_id, score=score, contributions=contributions, mql_threshold=thresholds.mql_threshold
    )


def open_new_cycle_if_engaged_again(
    *, lead_id: int, customer_since: datetime, rules: list[RuleSpec], as_of: datetime
) -> bool:
    """CONTRACT "Cycles": a customer's first scored engagement after a quiet period opens
    a new cycle at lead generation, starting at that engagement, so only it and later
    events count towards the new cycle's behaviour score."""
    quiet = timedelta(days=settings.FUNNEL_RECYCLE_QUIET_DAYS)
    scoring = [rule for rule in rules if rule.is_behaviour and rule.points > 0]
    if not scoring:
        return False
    events = (
        EngagementEvent.objects.filter(
            lead_id=lead_id,
            type__in={rule.event_type for rule in scoring},
            occurred_at__gt=customer_since,
            occurred_at__lte=as_of,
        )
        .order_by("occurred_at", "id")
        .values_list("type", "occurred_at", "properties")
    )
    last_engaged = customer_since
    for event_type, occurred_at, properties in events.iterator():
        if not any(event_matches(rule, event_type, properties) for rule in scoring):
            continue
        if occurred_at - last_engaged >= quiet:
            lifecycle.start_new_cycle(
                lead_id=lead_id,
                occurred_at=occurred_at,
                quiet_days=(occurred_at - last_engaged).days,
                actor=Actor.system("scoring"),
            )
            # The cycle starts at the engagement, but this rescore is when it was seen.
            lifecycle.record_rearmed(lead_id=lead_id, reason="A new cycle started", at=as_of)
            return True
        last_engaged = occurred_at
    return False


def rescore_marked_leads(
    *,
    budget_seconds: float = DRAIN_BUDGET_SECONDS,
    chunk: int | None = None,
    ring: bool = True,
    lead_ids: list[int] | None = None,
) -> int:
    """Claim and rescore marked leads (only those of `lead_ids`, if given) until none is
    claimable or the budget is spent; with `ring` (a worker), ring again for what is
    left and for marks still waiting. Returns how many leads were rescored."""
    started = time.monotonic()
    done = 0
    while True:
        claims = claim_marks(limit=chunk, lead_ids=lead_ids)
        if not claims:
            break
        try:
            now = timezone.now()
            with transaction.atomic():
                rescore_leads(lead_ids=[claim.lead_id for claim in claims], cause="events", as_of=now)
                settle_marks(claims=claims, now=now)
        except Exception:
            release_claims(claims=claims)
            raise
        done += len(claims)
        if time.monotonic() - started > budget_seconds:
            if ring:
                ring_rescore_doorbell()
            break
    if ring:
        schedule_wake_up()
    return done


# What a worker that just stored events may spend rescoring them before it goes on.
STORED_EVIDENCE_BUDGET_SECONDS = 2.0


def rescore_stored_evidence(*, lead_ids: list[int]) -> int:
    """Listener of the lifecycle's evidence_stored, in the worker that just committed
    events: rescore their marked leads here, now, through the claims every rescore takes
    (leases, generations, settled in the rescore's transaction), so their MQL alerts do
    not wait for a rescore worker to take the doorbell. Marks in a burst are left to the
    coalescing of the rescore worker the marks' commit rang for, as is what is not done
    here (a budget spent, another worker's claim, an error). After a rescore here the wake-up is
    scheduled, as a rescore worker does after its drain (a lead marked again while we
    held its claim is in a burst now). Never raises."""
    try:
        done = rescore_marked_leads(budget_seconds=STORED_EVIDENCE_BUDGET_SECONDS, lead_ids=lead_ids, ring=False)
        if done:
            schedule_wake_up()
        return done
    except Exception:  # noqa: BLE001 - the marks stay; the rescore worker was rung for them
        logger.exception("Rescoring %s leads after their events were stored failed; their marks wait.", len(lead_ids))
        return 0
