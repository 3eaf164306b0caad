"""Rescore marks: marking leads in the caller's transaction, claiming and settling marks.

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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from ..models import RescoreMark
from ..selectors import active_rule_specs
from .doorbell import ring_rescore_doorbell

# Coalescing: a lead rescored less than BURST_COOLDOWN ago is in a burst; its next
# rescore waits until its marks pause for BURST_SETTLE or the first of them is
# BURST_MAX_WAIT old. So 1,000 events in 5 s cost two rescores, while the first event
# of a quiet lead is rescored at once and a second one a moment later waits 0.3 s.
BURST_COOLDOWN = timedelta(seconds=5)
BURST_SETTLE = timedelta(seconds=0.3)
BURST_MAX_WAIT = timedelta(seconds=5)
# A settled mark is kept this long (it remembers when the lead was last rescored).
SETTLED_MARK_KEPT = timedelta(minutes=1)


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


def claim_marks(
    *, limit: int | None = None, now: datetime | None = None, lead_ids: list[int] | None = None
) -> list[Claim]:
    """Lease up to `limit` marks, oldest first (only those of `lead_ids`, if given).
    SKIP LOCKED lets two workers claim disjoint sets at once; the lease makes a dead
    worker's marks claimable again."""
    now = now or timezone.now()
    limit = limit or settings.FUNNEL_RESCORE_CHUNK
    lease = timedelta(seconds=settings.FUNNEL_RESCORE_LEASE_SECONDS)
    if connection.vendor == "postgresql":
        return _claim_marks_pg(limit=limit, now=now, lead_ids=lead_ids, lease=lease)
    marks = RescoreMark.objects.all() if lead_ids is None else RescoreMark.objects.filter(lead_id__in=lead_ids)
    with transaction.atomic():
        rows = list(
            marks.select_for_update(skip_locked=True)
            .filter(_claimable(now))
            .order_by("marked_at")
            .values_list("lead_id", "generation")[:limit]
        )
        if rows:
            RescoreMark.objects.filter(lead_id__in=[lead_id for lead_id, _ in rows]).update(
                leased_until=now + lease, attempts=F("attempts") + 1
            )
    return [Claim(lead_id=lead_id, generation=generation) for lead_id, generation in rows]


# claim_marks in one statement on PostgreSQL: the ORM's version spent more time building
# `IN (…)` lists of a claim's hundreds of ids than the database spent running them. The
# same condition as _claimable; the locked rows are leased by the same statement.
_CLAIMABLE_PG = (
    "m.generation > m.settled_generation AND (m.leased_until IS NULL OR m.leased_until < %(now)s) "
    "AND (m.rescored_at IS NULL OR m.rescored_at < %(cooled)s OR m.last_marked_at < %(settled)s "
    "OR m.marked_at < %(waited)s)"
)
_CLAIM_PG = (
    "WITH picked AS (SELECT m.lead_id, m.generation, m.marked_at FROM scoring_rescoremark m WHERE {only}"
    + _CLAIMABLE_PG
    + " ORDER BY m.marked_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
    "UPDATE scoring_rescoremark m SET leased_until = %(until)s, attempts = m.attempts + 1 FROM picked "
    "WHERE m.lead_id = picked.lead_id RETURNING m.lead_id, picked.generation, picked.marked_at"
)


def _claim_marks_pg(*, limit: int, now: datetime, lead_ids: list[int] | None, lease: timedelta) -> list[Claim]:
    params = {
        "now": now,
        "cooled": now - BURST_COOLDOWN,
        "settled": now - BURST_SETTLE,
        "waited": now - BURST_MAX_WAIT,
        "limit": limit,
        "until": now + lease,
        "ids": sorted({int(lead_id) for lead_id in lead_ids or ()}),
    }
    only = "" if lead_ids is None else "m.lead_id = ANY(%(ids)s::bigint[]) AND "
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_PG.format(only=only), params)
        rows = sorted(cursor.fetchall(), key=lambda row: row[2])  # oldest first, as the ORM's
    return [Claim(lead_id=lead_id, generation=generation) for lead_id, generation, _ in rows]


def settle_marks(*, claims: list[Claim], now: datetime) -> None:
    """In the rescore's transaction: settle the generation each claim saw. A lead marked
    again meanwhile stays pending (its generation moved on) and is rescored next."""
    if not claims:
        return
    if connection.vendor == "postgresql":
        # Two arrays instead of a UNION ALL of hundreds of SELECTs, which cost more to
        # parse and plan than the update itself. The rows are locked first in lead id
        # order, the order in which mark_for_rescore's upserts lock them: an UPDATE … FROM
        # locks in whatever order its join yields, and against an ingest batch marking
        # some of the same leads that deadlocked (two ingest processes made it frequent).
        ids = sorted(claim.lead_id for claim in claims)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT lead_id FROM scoring_rescoremark WHERE lead_id = ANY(%s::bigint[]) ORDER BY lead_id FOR UPDATE",
                [ids],
            )
            cursor.execute(
                "UPDATE scoring_rescoremark m SET settled_generation = claimed.generation, leased_until = NULL, "
                "rescored_at = %s, marked_at = CASE WHEN m.generation > claimed.generation THEN %s "
                "ELSE m.marked_at END "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS claimed(lead_id, generation) "
                "WHERE m.lead_id = claimed.lead_id",
                [now, now, [claim.lead_id for claim in claims], [claim.generation for claim in claims]],
            )
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
    try:
        first = cache.add(key, 1, timeout=int(countdown) + 5)
    except Exception:  # noqa: BLE001 - no cache (Redis restarting): ring; the doorbell never raises
        first = True
    if first:
        ring_rescore_doorbell(countdown=countdown)
    return countdown


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
