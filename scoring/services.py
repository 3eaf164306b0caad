"""Writes of the scoring app: marking leads, claiming marks, rescoring, MQL crossings.

How a rescore stays correct when workers die or the broker is down:
- `mark_for_rescore` writes a mark in the caller's transaction; the broker message
  after commit is only a doorbell.
- A worker claims marks with `FOR UPDATE SKIP LOCKED` and a lease (`leased_until`) in a
  short transaction, then rescores the chunk in a second transaction that also deletes
  the marks it settled, so the scores, the history, the MQL moves and alerts and the
  marks' removal commit together or not at all. A killed worker leaves leases that
  expire; the sweep (at worker start and every minute) rings for them.
- Each later mark bumps `generation`; a mark is deleted only if its generation is the
  one claimed, so events that arrive during a rescore are scored by the next one.
"""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from events.models import EngagementEvent
from leads.actors import Actor
from leads.models import Lead
from leads.services import lock_lead, move_lead
from leads.stages import Stage, StageMoveRefused
from sales.models import AlertStatus, SalesAlert
from sales.services import raise_sales_alert

from . import sql as score_sql
from .computation import RuleSpec, ScoreResult, evaluate, event_matches
from .models import RescoreJob, RescoreJobStatus, RescoreMark, ScoreChange, ScoringSettings
from .selectors import active_rule_specs, cycle_started_at, scoring_settings

logger = logging.getLogger(__name__)

RESCORE_TASK = "scoring.rescore_marked"
RESCORE_JOB_TASK = "scoring.run_rescore_job"

# Coalescing: a lead rescored less than BURST_COOLDOWN ago is in a burst; its next
# rescore waits until its marks pause for BURST_SETTLE or the first of them is
# BURST_MAX_WAIT old. So 1,000 events in 5 s cost two rescores, while the first event
# of a quiet lead is rescored at once and a second one a moment later waits 0.3 s.
BURST_COOLDOWN = timedelta(seconds=5)
BURST_SETTLE = timedelta(seconds=0.3)
BURST_MAX_WAIT = timedelta(seconds=5)
# A settled mark is kept this long (it remembers when the lead was last rescored).
SETTLED_MARK_KEPT = timedelta(minutes=1)
# One doorbell drains marks for at most this long, then rings again (fair to others).
DRAIN_BUDGET_SECONDS = 20.0

PRE_MQL_STAGES = frozenset({Stage.DEMAND_GEN, Stage.LEAD_GEN, Stage.NURTURE})


# --- Marks and the doorbell --------------------------------------------------------


def mark_for_rescore(*, lead_ids: Iterable[int]) -> None:
    """Mark leads for rescoring in the caller's transaction, one row per lead however many
    events, and ring the doorbell after commit. A lead already due keeps its place in
    line (`marked_at`).

    A mark bumps `generation` unless the lead is already waiting: pending, not leased
    by a worker, and not in a burst (`rescored_at` older than BURST_COOLDOWN, so the
    claim does not look at `last_marked_at`). Such a mark changes nothing the claim
    reads, so it is not rewritten; on PostgreSQL it is only locked FOR KEY SHARE until
    commit, which keeps a worker's claim (FOR UPDATE SKIP LOCKED) off it until these
    events are visible, without making two ingest batches wait for each other. A
    leased, settled or bursting mark is bumped as before, so events arriving during a
    rescore are scored by the next one.

    The mark in the database is the guarantee; the task is only a doorbell, so a broker
    that is down loses nothing: the periodic sweep finds the marks.
    """
    ids = sorted({int(lead_id) for lead_id in lead_ids})
    if not ids:
        return
    now = timezone.now()
    waiting_since = now - BURST_COOLDOWN
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            if connection.vendor == "postgresql":
                cursor.execute(
                    _UPSERT_MARKS.format(source=_MARK_PG_SOURCE),
                    {"ids": chunk, "now": now, "waiting_since": waiting_since},
                )
            else:
                # SQLite writes one transaction at a time: no claim can slip in between.
                values = ", ".join(["(%s, %s, %s, 0, 1, 0)"] * len(chunk))
                cursor.execute(
                    _UPSERT_MARKS.format(source=f"VALUES {values}") + _UNLESS_WAITING,
                    [*[value for lead_id in chunk for value in (lead_id, now, now)], waiting_since],
                )
    transaction.on_commit(ring_rescore_doorbell)


_WAITING = (
    "scoring_rescoremark.generation > scoring_rescoremark.settled_generation "
    "AND scoring_rescoremark.leased_until IS NULL "
    "AND (scoring_rescoremark.rescored_at IS NULL OR scoring_rescoremark.rescored_at < {since})"
)
_UNLESS_WAITING = " WHERE NOT (" + _WAITING.format(since="%s") + ")"
# The waiting marks are locked (in id order, one index probe each: a locking subquery
# is not flattened) and left alone; the others are upserted, and a row that stopped
# waiting meanwhile (a worker claimed it) is bumped by the upsert.
_MARK_PG_SOURCE = (
    "WITH waiting AS MATERIALIZED (SELECT m.lead_id FROM unnest(%(ids)s::bigint[]) AS u(id) CROSS JOIN LATERAL "
    "(SELECT lead_id FROM scoring_rescoremark WHERE lead_id = u.id AND "
    + _WAITING.format(since="%(waiting_since)s")
    + " FOR KEY SHARE) AS m) "
    "SELECT u.id, %(now)s, %(now)s, 0, 1, 0 FROM unnest(%(ids)s::bigint[]) AS u(id) "
    "WHERE u.id NOT IN (SELECT lead_id FROM waiting) ORDER BY u.id"
)


# Ids are sorted by the callers: concurrent upserts then lock mark rows in one order.
_UPSERT_MARKS = (
    "INSERT INTO scoring_rescoremark "
    "(lead_id, marked_at, last_marked_at, attempts, generation, settled_generation) {source} "
    "ON CONFLICT (lead_id) DO UPDATE SET "
    "marked_at = CASE WHEN scoring_rescoremark.generation = scoring_rescoremark.settled_generation "
    "THEN excluded.marked_at ELSE scoring_rescoremark.marked_at END, "
    "generation = scoring_rescoremark.generation + 1, "
    "last_marked_at = excluded.last_marked_at"
)


def ring_rescore_doorbell(*, countdown: float | None = None) -> None:
    """Ask a worker to rescore marked leads. Never raises: a lost doorbell costs latency
    (the sweep catches up), a raised error here would cost an accepted request.

    Rings are coalesced per tenth of a second (DOORBELL_WINDOW) across processes: the
    first ring of a window is sent at once, the second is sent for the end of the
    window, later ones are dropped. Each ring is thereby followed by a doorbell
    delivered after it (the one sent, or the window's late one, which comes after the
    window ends), so marks committed before the ring are always claimed, at most a
    window later. A busy ingest then sends at most twenty messages a second instead of
    one per request: at hundreds of requests a second, one drain per request (a claim
    query and a wake-up check each) would queue up faster than a worker empties it."""
    from funnel.celery import app

    if countdown is None:
        countdown = _coalesced_countdown()
        if countdown is _COVERED:
            return
    if app.conf.task_always_eager:
        return  # eager mode: nothing to wake, as in _enqueue_job
    try:
        app.send_task(RESCORE_TASK, countdown=countdown)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the caller
        logger.warning("Could not reach the broker to ring the rescore doorbell; the sweep will catch up.")


DOORBELL_WINDOW = 0.1
_COVERED = object()


def _coalesced_countdown():
    """None: ring now; a countdown: ring for the end of this window; _COVERED: a doorbell
    already promised for the end of this window will come after this ring."""
    now = time.time()
    window = int(now / DOORBELL_WINDOW)
    try:
        if cache.add(f"scoring:bell:{window}", 1, timeout=5):
            return None
        if cache.add(f"scoring:bell:{window}:late", 1, timeout=5):
            return (window + 1) * DOORBELL_WINDOW - now + 0.01
    except Exception:  # noqa: BLE001 - no cache: ring every time, as if uncoalesced
        return None
    return _COVERED


def _pending() -> Q:
    return Q(generation__gt=F("settled_generation"))


def _claimable(now: datetime) -> Q:
    not_leased = Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    not_in_burst = (
        Q(rescored_at__isnull=True)
        | Q(rescored_at__lt=now - BURST_COOLDOWN)
        | Q(last_marked_at__lt=now - BURST_SETTLE)
        | Q(marked_at__lt=now - BURST_MAX_WAIT)
    )
    return _pending() & not_leased & not_in_burst


@dataclass(frozen=True)
class Claim:
    lead_id: int
    generation: int


def claim_marks(*, limit: int | None = None, now: datetime | None = None) -> list[Claim]:
    """Lease up to `limit` marks, oldest first. SKIP LOCKED lets two workers claim
    disjoint sets at once; the lease makes a dead worker's marks claimable again."""
    now = now or timezone.now()
    limit = limit or settings.FUNNEL_RESCORE_CHUNK
    lease = timedelta(seconds=settings.FUNNEL_RESCORE_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            RescoreMark.objects.select_for_update(skip_locked=True)
            .filter(_claimable(now))
            .order_by("marked_at")
            .values_list("lead_id", "generation")[:limit]
        )
        if rows:
            RescoreMark.objects.filter(lead_id__in=[lead_id for lead_id, _ in rows]).update(
                leased_until=now + lease, attempts=F("attempts") + 1
            )
    return [Claim(lead_id=lead_id, generation=generation) for lead_id, generation in rows]


def settle_marks(*, claims: list[Claim], now: datetime) -> None:
    """In the rescore's transaction: settle the generation each claim saw. A lead marked
    again meanwhile stays pending (its generation moved on) and is rescored next."""
    if not claims:
        return
    # SELECT … UNION ALL rather than VALUES: SQLite cannot name a VALUES list's columns.
    values = " UNION ALL ".join(["SELECT %s AS lead_id, %s AS generation"] * len(claims))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scoring_rescoremark SET settled_generation = claimed.generation, leased_until = NULL, "
            "rescored_at = %s, "
            "marked_at = CASE WHEN scoring_rescoremark.generation > claimed.generation THEN %s "
            "ELSE scoring_rescoremark.marked_at END "
            f"FROM ({values}) AS claimed "
            "WHERE scoring_rescoremark.lead_id = claimed.lead_id",
            [now, now, *[value for claim in claims for value in (claim.lead_id, claim.generation)]],
        )


def release_claims(*, claims: list[Claim]) -> None:
    """After a failed rescore: give the marks back now rather than at lease expiry."""
    RescoreMark.objects.filter(lead_id__in=[claim.lead_id for claim in claims]).update(leased_until=None)


def schedule_wake_up(*, now: datetime | None = None) -> float | None:
    """Ring a delayed doorbell for marks that are waiting (a burst settling, a lease
    running out), so they are picked up without waiting for the minute sweep."""
    now = now or timezone.now()
    waiting = RescoreMark.objects.filter(_pending()).exclude(_claimable(now))
    leased = waiting.filter(leased_until__gte=now).aggregate(first=Min("leased_until"))["first"]
    burst = waiting.filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now)).aggregate(
        first_marked=Min("marked_at"), last_marked=Min("last_marked_at"), rescored=Min("rescored_at")
    )
    candidates = [
        leased,
        burst["first_marked"] and burst["first_marked"] + BURST_MAX_WAIT,
        burst["last_marked"] and burst["last_marked"] + BURST_SETTLE,
        burst["rescored"] and burst["rescored"] + BURST_COOLDOWN,
    ]
    candidates = [moment for moment in candidates if moment is not None]
    if not candidates:
        return None
    countdown = max(0.05, (min(candidates) - now).total_seconds() + 0.02)
    # One delayed doorbell per target tenth of a second is enough, however many ask.
    key = f"scoring:wake:{round((now.timestamp() + countdown) * 10)}"
    if cache.add(key, 1, timeout=int(countdown) + 5):
        ring_rescore_doorbell(countdown=countdown)
    return countdown


# --- Rescoring ------------------------------------------------------------------------


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


def rescore_leads(*, lead_ids: Iterable[int], cause: str, as_of: datetime | None = None) -> RescoreOutcome:
    """Recompute, store and act on the scores of `lead_ids`, in one transaction.

    The leads' rows are locked first, in id order (the order every writer uses), so a
    rep's stage move waits for us or we for it, and no two rescores of one lead
    interleave. On PostgreSQL the chunk is one set-based statement; elsewhere the
    reference runs lead by lead.
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
        if connection.vendor == "postgresql":
            candidates = _store_scores_set_based(
                lead_ids=locked_ids, rules=rules, as_of=as_of, cause=cause, thresholds=thresholds
            )
        else:
            candidates = _store_scores_one_by_one(
                lead_ids=locked_ids, rules=rules, as_of=as_of, cause=cause, thresholds=thresholds
            )
        for lead_id, score, contributions in candidates:
            if cross_mql_threshold(lead_id=lead_id, score=score, contributions=contributions, thresholds=thresholds):
                outcome.crossings.append(lead_id)
    return outcome


def _lock_in_id_order(ids: list[int]) -> list[tuple]:
    """Lock the leads' rows in id order (lock_leads' order) and read what the chunk
    needs before scoring: (id, stage, stage_entered_at)."""
    if connection.vendor == "postgresql":
        # One array literal instead of an IN list of 20,000 parameters.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, stage, stage_entered_at FROM leads_lead "
                "WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
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
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    return [(lead_id, score, score_sql.decode_json(contributions)) for lead_id, score, contributions in rows]


def _store_scores_one_by_one(*, lead_ids, rules, as_of, cause, thresholds: ScoringSettings):
    """The slow, portable path (SQLite): the reference per lead, the same writes."""
    candidates = []
    recycle = thresholds.recycle_threshold
    for lead in Lead.objects.filter(pk__in=lead_ids).order_by("pk"):
        result = compute_score(lead=lead, as_of=as_of, rules=rules)
        contributions = result.contributions_as_dicts()
        armed = lead.mql_armed or result.score < recycle
        if result.score != lead.score or armed != lead.mql_armed:
            Lead.objects.filter(pk=lead.pk).update(score=result.score, mql_armed=armed)
        if result.score != lead.score:
            ScoreChange.objects.create(
                lead=lead,
                old_score=lead.score,
                new_score=result.score,
                contributions=contributions,
                cause=cause[:60],
                at=as_of,
            )
        if result.score < recycle:
            SalesAlert.objects.filter(lead=lead, status=AlertStatus.OPEN, decayed_below_recycle=False).update(
                decayed_below_recycle=True
            )
        if result.score >= thresholds.mql_threshold and _may_cross(lead):
            candidates.append((lead.pk, result.score, contributions))
    return candidates


def _may_cross(lead: Lead) -> bool:
    """CONTRACT "MQL crossing": identified, armed (below the threshold since the last
    crossing; below the recycle threshold since a fall back), and not yet with sales."""
    return (
        bool(lead.email)
        and lead.mql_armed
        and lead.stage in PRE_MQL_STAGES
        and lead.merged_into_id is None
        and lead.erased_at is None
    )


class _NoAlert(Exception):
    """Rolls a crossing back when its alert already exists (never expected)."""


def cross_mql_threshold(*, lead_id: int, score: int, contributions: list, thresholds: ScoringSettings) -> bool:
    """Move the lead to MQL and raise its alert, in one transaction with the lead's row
    locked: the conditions are checked again under the lock, the crossing number is
    the alert's idempotency key and the unique constraint on (lead, cycle, crossing)
    the guarantee, so retries and racing workers raise it once."""
    try:
        with transaction.atomic():
            lead = lock_lead(lead_id=lead_id)
            if lead.score < thresholds.mql_threshold or not _may_cross(lead):
                return False
            crossing = lead.mql_crossings + 1
            Lead.objects.filter(pk=lead.pk).update(mql_crossings=crossing, mql_armed=False)
            move_lead(
                lead=lead.pk,
                to=Stage.MQL,
                actor=Actor.system(f"score {score}"),
                reason=f"Score {score} crossed the MQL threshold {thresholds.mql_threshold}",
                reason_code="score_crossed_mql",
            )
            alert = raise_sales_alert(
                lead=lead, cycle=lead.cycle, crossing=crossing, score=score, contributions=contributions
            )
            if alert is None:
                raise _NoAlert
    except _NoAlert:
        logger.warning("Lead %s: the alert for this crossing already exists; the move was rolled back.", lead_id)
        return False
    except StageMoveRefused as refused:
        logger.info("Lead %s did not move to MQL: %s", lead_id, refused.message)
        return False
    return True


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
            move_lead(
                lead=lead_id,
                to=Stage.LEAD_GEN,
                new_cycle=True,
                actor=Actor.system("scoring"),
                reason=f"Engaged again after {(occurred_at - last_engaged).days} quiet days as a customer",
                reason_code="customer_engaged_again",
                occurred_at=occurred_at,
            )
            return True
        last_engaged = occurred_at
    return False


def rescore_marked_leads(
    *, budget_seconds: float = DRAIN_BUDGET_SECONDS, chunk: int | None = None, ring: bool = True
) -> int:
    """Claim and rescore marked leads until none is claimable or the budget is spent;
    with `ring` (a worker), ring again for what is left and for marks still waiting.
    Returns how many leads were rescored."""
    started = time.monotonic()
    done = 0
    while True:
        claims = claim_marks(limit=chunk)
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


def sweep() -> dict:
    """Worker start and every minute: ring for marks no doorbell reached (broker down at
    the time) or whose lease ran out (a dead worker), and resume stalled full rescores."""
    now = timezone.now()
    claimable = RescoreMark.objects.filter(_claimable(now)).exists()
    if claimable:
        ring_rescore_doorbell()
    RescoreMark.objects.filter(
        generation=F("settled_generation"), leased_until__isnull=True, rescored_at__lt=now - SETTLED_MARK_KEPT
    ).delete()
    wake = schedule_wake_up(now=now)
    stalled = list(
        RescoreJob.objects.filter(
            status__in=[RescoreJobStatus.PENDING, RescoreJobStatus.RUNNING], updated_at__lt=now - timedelta(minutes=2)
        ).values_list("pk", flat=True)
    )
    for job_id in stalled:
        _enqueue_job(job_id)
    return {"rang": claimable, "wake_in": wake, "resumed_jobs": stalled}


def mark_decaying_leads(*, now: datetime | None = None) -> int:
    """Mark the leads whose score decay can still move: a positive score and a scored
    event recent enough to carry weight (within ten of the longest half-lives, after
    which an event keeps less than 1/1000 of its points). A lead whose positive score
    is all fit, or whose events are that old, keeps its score: it cannot change."""
    now = now or timezone.now()
    rules = active_rule_specs()
    behaviour = [rule for rule in rules if rule.is_behaviour]
    if not behaviour:
        return 0
    horizon = now - timedelta(days=10 * max(rule.half_life_days for rule in behaviour))
    types = sorted({rule.event_type for rule in behaviour})
    with transaction.atomic(), connection.cursor() as cursor:
        type_list = ", ".join(["%s"] * len(types))
        cursor.execute(
            _UPSERT_MARKS.format(
                source="SELECT l.id, %s, %s, 0, 1, 0 FROM leads_lead l "
                "WHERE l.score > 0 AND EXISTS (SELECT 1 FROM events_engagementevent e WHERE e.lead_id = l.id "
                f"AND e.occurred_at >= %s AND e.type IN ({type_list})) ORDER BY l.id"
            ),
            [now, now, horizon, *types],
        )
        marked = cursor.rowcount
        if marked:
            transaction.on_commit(ring_rescore_doorbell)
    return marked


# --- Full rescores ---------------------------------------------------------------------


def start_full_rescore(*, cause: str, enqueue: bool = True) -> RescoreJob:
    """Rescore every lead in the background (after a rule change); a newer job
    supersedes an older one still running."""
    job = RescoreJob.objects.create(cause=cause[:200], total=Lead.objects.count(), updated_at=timezone.now())
    if enqueue:
        transaction.on_commit(lambda: _enqueue_job(job.pk))
    return job


def _enqueue_job(job_id: int) -> None:
    from funnel.celery import app

    if app.conf.task_always_eager:
        # Eager mode (tests) publishes nothing and has no worker to wake: send_task
        # would ignore the setting and publish anyway. Whoever needs the rescore runs it.
        return
    try:
        app.send_task(RESCORE_JOB_TASK, args=[job_id])
    except Exception:  # noqa: BLE001 - the sweep resumes a job whose doorbell was lost
        logger.warning("Could not enqueue rescore job %s; the sweep will resume it.", job_id)


def run_rescore_job_batch(*, job_id: int, batch_size: int | None = None) -> RescoreJob | None:
    """Rescore the next batch of the job's leads and record the progress in the same
    transaction, so a killed job resumes after its last committed batch. Returns the
    job while there is more to do, None when it is finished or superseded."""
    batch_size = batch_size or settings.FUNNEL_RESCORE_JOB_BATCH
    now = timezone.now()
    with transaction.atomic():
        job = RescoreJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (RescoreJobStatus.DONE, RescoreJobStatus.SUPERSEDED):
            return None
        if RescoreJob.objects.filter(
            pk__gt=job.pk, status__in=[RescoreJobStatus.PENDING, RescoreJobStatus.RUNNING]
        ).exists():
            job.status = RescoreJobStatus.SUPERSEDED
            job.finished_at = job.updated_at = now
            job.save(update_fields=["status", "finished_at", "updated_at"])
            return None
        lead_ids = list(Lead.objects.filter(pk__gt=job.cursor).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not lead_ids:
            job.status = RescoreJobStatus.DONE
            job.done = max(job.done, job.total)
            job.finished_at = job.updated_at = now
            job.save(update_fields=["status", "done", "finished_at", "updated_at"])
            return None
        rescore_leads(lead_ids=lead_ids, cause=f"rules changed (job {job.pk})", as_of=now)
        job.cursor = lead_ids[-1]
        job.done += len(lead_ids)
        job.total = max(job.total, job.done)
        job.status = RescoreJobStatus.RUNNING
        job.updated_at = now
        job.save(update_fields=["cursor", "done", "total", "status", "updated_at"])
    return job


def run_rescore_job(*, job_id: int, budget_seconds: float = 60.0, on_progress=None) -> bool:
    """Run batches for up to `budget_seconds`; True when the job has more to do."""
    started = time.monotonic()
    while True:
        job = run_rescore_job_batch(job_id=job_id)
        if job is None:
            return False
        if on_progress:
            on_progress(job)
        if time.monotonic() - started > budget_seconds:
            return True
