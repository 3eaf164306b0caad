"""The set-based ingest path for PostgreSQL.

Per batch, in one transaction, a constant number of statements whatever its size:
1. one SELECT finds every lead any event names (a tombstone resolves to its survivor),
   one index probe per identity;
2. one more locks those leads in id order, in one pass: FOR UPDATE the few that a
   careful event (6.) may merge, capture or update, FOR KEY SHARE the others. If one
   was merged away since 1. the batch starts again (LeadsMoved). A batch that cannot
   hold a careful event (no traits, one identity per event: page views) does 1. and
   2. in one statement;
3. events that would create, capture or merge a lead are checked against stored
   message_ids first (a replay is answered `duplicate` and changes nothing);
4. events whose identities all point at one lead go straight on; events naming only
   unknown identities get new leads from one `INSERT … ON CONFLICT DO NOTHING
   RETURNING` (born with their last_engaged_at; a concurrent batch creating the same
   identity makes us re-read it, never create a second lead), their first
   transitions in one more INSERT;
5. one `INSERT … SELECT … FROM jsonb_array_elements(…) ON CONFLICT (message_id) DO
   NOTHING RETURNING` stores the events (a replay committed meanwhile by another
   process is answered `duplicate`);
6. events that need a decision (traits, an identity meeting a known one, a merge,
   events of one batch naming overlapping new identities) go through the plain rules
   of identity.py, in batch order;
7. one statement marks the leads for rescoring (the lifecycle announces the new
   evidence; scoring.services.mark_for_rescore is the listener);
8. last, last_engaged_at moves forward: the rows are locked SKIP LOCKED and updated
   by address; one another transaction holds is moved right after the commit.

Every lock a batch waits for is taken in 2., in id order, the order of the rescore
worker and of leads.services.lock_leads, so batches, merges and the worker cannot
deadlock. KEY SHARE (what the events' foreign-key check takes anyway) keeps merges
and erasures of a lead out until the batch commits, yet two batches sharing leads do
not wait for each other: the only exclusive locks are a careful event's leads and,
taken last and without waiting, the rows of 8.

The reference path in ingest.py is what this must agree with
(tests/events/test_fast_path.py).
"""

import logging
from collections import defaultdict
from collections.abc import Sequence

import orjson
from django.db import connection, transaction
from django.utils import timezone

from leads.lifecycle import create_leads
from leads.lifecycle.announcements import evidence_changed
from leads.models import Lead

from .identity import resolve_lead
from .ingest_outcomes import ACCEPTED, DUPLICATE, LeadsMoved, actor_for
from .models import ApiKey, EngagementEvent
from .validation import Event

logger = logging.getLogger(__name__)

EVENTS = EngagementEvent._meta.db_table
LEADS = Lead._meta.db_table


def record_events_fast(*, events: Sequence[Event], source: str, api_key: ApiKey | None = None) -> list[str]:
    actor = actor_for(api_key)
    statuses: list[str | None] = [None] * len(events)
    first_index: dict[str, int] = {}
    for index, event in enumerate(events):
        if event.message_id in first_index:
            statuses[index] = DUPLICATE
        else:
            first_index[event.message_id] = index

    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg2's own cursor: execute_values, no per-row wrapping
        pending = [index for index, status in enumerate(statuses) if status is None]
        # With no traits and one identity per event, no event can need a decision, so
        # no lead needs more than KEY SHARE: the lookup locks them itself.
        simple = not any(events[index].traits or len(_identities(events[index])) > 1 for index in pending)
        known = _lookup(cursor, [events[index] for index in pending], lock=simple)
        lead_of: dict[int, int] = {}
        new_groups: dict[tuple, list[int]] = defaultdict(list)
        careful: list[int] = []
        for index in pending:
            event = events[index]
            found = [known.get((kind, value)) for kind, value in _identities(event)]
            if event.traits:
                careful.append(index)
            elif all(found) and len(set(found)) == 1:
                lead_of[index] = found[0]
            elif not any(found):
                new_groups[event.identities].append(index)
            else:
                careful.append(index)
        # The leads a careful event may merge, capture or update are locked FOR UPDATE,
        # the others FOR KEY SHARE, all in one pass in id order (see _lock).
        if not simple:
            strong = {known[pair] for index in careful for pair in _identities(events[index]) if pair in known}
            _lock(cursor, set(known.values()), strong=strong)
        # A replayed event must not create, capture or merge anything: the events that
        # could are checked against stored message_ids first. The others need no check,
        # the INSERT's ON CONFLICT (message_id) answers them.
        deciding = careful + [index for indexes in new_groups.values() for index in indexes]
        if deciding:
            cursor.execute(
                f"SELECT message_id FROM {EVENTS} WHERE message_id = ANY(%s)",
                [[events[index].message_id for index in deciding]],
            )
            for (message_id,) in cursor.fetchall():
                statuses[first_index[message_id]] = DUPLICATE
            careful = [index for index in careful if statuses[index] is None]
            for key in list(new_groups):
                new_groups[key] = [index for index in new_groups[key] if statuses[index] is None]
                if not new_groups[key]:
                    del new_groups[key]
        careful += _untangle(new_groups, [events[index] for index in careful], events)

        if new_groups:
            # A new lead is born with its last_engaged_at (its events' latest time): set
            # later in the same transaction it would leave a second row version behind.
            created = _create_leads(
                {key: max(events[index].occurred_at for index in indexes) for key, indexes in new_groups.items()},
                actor,
            )
            if len(created) < len(new_groups):
                # Someone else created some of these identities since our lookup.
                missing = [key for key in new_groups if key not in created]
                again = _lookup(cursor, [events[new_groups[key][0]] for key in missing])
                _lock(cursor, set(again.values()), strong=set())
                for key in missing:
                    found = {again.get(pair) for pair in _identities_of(key)}
                    if len(found) == 1 and None not in found:
                        created[key] = found.pop()
                    else:
                        careful += new_groups.pop(key)
            for key, indexes in new_groups.items():
                for index in indexes:
                    lead_of[index] = created[key]

        latest: dict[int, object] = {}
        if lead_of:
            # One statement, the rows passed as one JSON array that orjson writes in C and
            # the server parses once (the properties go in verbatim, already JSON). As
            # arrays (unnest) the same rows took ~60% longer: thousands of literals to
            # parse. As fast as COPY into a staging table, in one round trip.
            rows = orjson.dumps([_row(events[index], lead_id) for index, lead_id in lead_of.items()]).decode()
            cursor.execute(_INSERT_EVENTS, [timezone.now(), source, api_key.pk if api_key is not None else None, rows])
            stored_ids = {message_id for (message_id,) in cursor.fetchall()}
            for index, lead_id in lead_of.items():
                event = events[index]
                if event.message_id in stored_ids:
                    statuses[index] = ACCEPTED
                    if lead_id not in latest or event.occurred_at > latest[lead_id]:
                        latest[lead_id] = event.occurred_at
                else:
                    statuses[index] = DUPLICATE

        careful_leads: set[int] = set()
        for index in sorted(careful):
            event = events[index]
            lead = resolve_lead(
                email=event.email,
                external_id=event.external_id,
                anonymous_id=event.anonymous_id,
                traits=event.traits,
                actor=actor,
            )
            careful_leads.add(lead.pk)
            if _store_one(cursor, event=event, lead_id=lead.pk, source=source, api_key=api_key):
                statuses[index] = ACCEPTED
                if lead.pk not in latest or event.occurred_at > latest[lead.pk]:
                    latest[lead.pk] = event.occurred_at
            else:
                statuses[index] = DUPLICATE
        if careful_leads:
            latest = _to_survivors(cursor, latest, careful_leads)
        # The scoring app marks them for rescoring, in this transaction.
        evidence_changed(lead_ids=latest.keys())
        _touch_last_engaged(cursor, latest, may_wait=simple and not careful)
    return statuses


_INSERT_EVENTS = (
    f"INSERT INTO {EVENTS} (message_id, lead_id, type, occurred_at, received_at, properties, source, api_key_id) "
    "SELECT u->>0, (u->>1)::bigint, u->>2, (u->>3)::timestamptz, %s, u->4, %s, %s "
    "FROM jsonb_array_elements(%s::jsonb) AS u ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
)


def _store_one(cursor, *, event: Event, lead_id: int, source: str, api_key: ApiKey | None) -> bool:
    """ingest.store_one in one statement: False if the message_id is stored already
    (ON CONFLICT answers a concurrent replay without a savepoint)."""
    rows = orjson.dumps([_row(event, lead_id)]).decode()
    cursor.execute(_INSERT_EVENTS, [timezone.now(), source, api_key.pk if api_key is not None else None, rows])
    return bool(cursor.fetchall())


def _row(event: Event, lead_id: int) -> list:
    return [event.message_id, lead_id, event.type, event.occurred_at, orjson.Fragment(event.properties_json)]


def _identities(event: Event) -> list[tuple[str, str]]:
    return _identities_of(event.identities)


def _identities_of(key: tuple) -> list[tuple[str, str]]:
    email, external_id, anonymous_id = key
    pairs = []
    if email:
        pairs.append(("email", email))
    if external_id:
        pairs.append(("external_id", external_id))
    if anonymous_id:
        pairs.append(("anonymous_id", anonymous_id))
    return pairs


def _lookup(cursor, events: Sequence[Event], *, lock: bool = False) -> dict[tuple[str, str], int]:
    """(kind, value) → the id of the live lead it belongs to (a tombstone's survivor).

    Without `lock` the leads are read without locks (_lock then locks them and checks
    that none was merged away in between). With it they are locked FOR KEY SHARE as
    they are read, in id order, and so are the survivors of tombstones found."""
    emails = sorted({event.email for event in events if event.email})
    externals = sorted({event.external_id for event in events if event.external_id})
    anonymous = sorted({event.anonymous_id for event in events if event.anonymous_id})
    if not (emails or externals or anonymous):
        return {}
    # One index probe per identity, in the partial unique index of its kind (lower(email),
    # external_id, anonymous_id): `LIMIT 1` (each is unique anyway) keeps the planner
    # from flattening the LATERAL subquery into a join, which on a growing table it ran
    # as a sequential scan testing every lead against the arrays.
    probes, params = [], []
    for column, expression, values in (
        ("email", "lower(email)", emails),
        ("external_id", "external_id", externals),
        ("anonymous_id", "anonymous_id", anonymous),
    ):
        if values:  # a branch less to plan
            probes.append(
                f"SELECT l.* FROM unnest(%s::text[]) AS k(v) CROSS JOIN LATERAL "
                f"(SELECT {{columns}} FROM {LEADS} WHERE {column} IS NOT NULL AND {expression} = k.v LIMIT 1) AS l"
            )
            params.append(values)
    if lock:
        # The ids first, then one locking probe each in id order (a locking subquery is
        # not flattened either).
        found_ids = " UNION ".join(probe.format(columns="id") for probe in probes)
        sql = (
            f"SELECT l.* FROM ({found_ids} ORDER BY 1) AS f(id) CROSS JOIN LATERAL "
            f"(SELECT {_LOOKUP_COLUMNS} FROM {LEADS} x WHERE x.id = f.id FOR KEY SHARE) AS l"
        )
    else:
        sql = " UNION ALL ".join(probe.format(columns=_LOOKUP_COLUMNS) for probe in probes)
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    if lock:
        _lock(cursor, {merged_into_id for *_, merged_into_id in rows if merged_into_id is not None}, strong=set())
    found: dict[tuple[str, str], int] = {}
    for email, external_id, anonymous_id, lead_id, merged_into_id in rows:
        target = merged_into_id or lead_id
        if email:
            found["email", email] = target
        if external_id:
            found["external_id", external_id] = target
        if anonymous_id:
            found["anonymous_id", anonymous_id] = target
    return found


_LOOKUP_COLUMNS = "lower(email), external_id, anonymous_id, id, merged_into_id"


def _lock(cursor, lead_ids: set[int], *, strong: set[int]) -> None:
    """Lock the batch's leads before anything is written, in id order (the order of
    leads.services.lock_leads and of the rescore worker), in one pass, one index probe
    each: `strong` ones FOR UPDATE (what merges, captures and trait updates take), the
    others FOR KEY SHARE. Taking every lock a batch needs up front, in that one order,
    is what keeps batches, merges and the worker from deadlocking.

    KEY SHARE is what the events' foreign-key check takes anyway: a merge or an erasure
    of the lead (FOR UPDATE) waits for this batch, so no event lands on a lead merged
    away meanwhile, and it conflicts with neither another batch's KEY SHARE nor the
    NO KEY UPDATE that moves last_engaged_at: batches sharing leads do not queue.

    Raises LeadsMoved if a lead was merged away since the lookup."""
    if not lead_ids:
        return
    ids = sorted(lead_ids)
    cursor.execute(
        "SELECT f.id, coalesce(s.merged_into_id, w.merged_into_id), coalesce(s.id, w.id) "
        "FROM unnest(%s::bigint[], %s::boolean[]) AS f(id, strong) "
        f"LEFT JOIN LATERAL (SELECT id, merged_into_id FROM {LEADS} WHERE id = f.id AND f.strong FOR UPDATE) AS s "
        "ON true "
        f"LEFT JOIN LATERAL (SELECT id, merged_into_id FROM {LEADS} WHERE id = f.id AND NOT f.strong FOR KEY SHARE) "
        "AS w ON true",
        [ids, [lead_id in strong for lead_id in ids]],
    )
    for _lead_id, merged_into_id, found in cursor.fetchall():
        if found is None or merged_into_id is not None:
            raise LeadsMoved()


def _untangle(new_groups: dict[tuple, list[int]], careful_events: list[Event], events: Sequence[Event]) -> list[int]:
    """Take out of `new_groups` every group that shares an identity with another group
    or with an event going the careful way: in batch order the rules might attach that
    identity to a lead instead of creating one, so those go the careful way too."""
    moved: list[int] = []
    while True:
        owners: dict[tuple[str, str], set] = defaultdict(set)
        for key in new_groups:
            for pair in _identities_of(key):
                owners[pair].add(key)
        tainted = {pair for event in careful_events for pair in _identities(event)}
        bad = {key for pair, keys in owners.items() if len(keys) > 1 or pair in tainted for key in keys}
        if not bad:
            return moved
        for key in bad:
            indexes = new_groups.pop(key)
            moved += indexes
            careful_events += [events[index] for index in indexes]


def _create_leads(engaged: dict[tuple, object], actor) -> dict[tuple, int]:
    """The lifecycle's one path for new leads, set-based: a row per new identity, born with
    its last_engaged_at; an identity another transaction created since our lookup is
    skipped (ON CONFLICT DO NOTHING) and re-read by the caller."""
    rows = [
        {"email": email, "external_id": external_id, "anonymous_id": anonymous_id, "last_engaged_at": latest}
        for (email, external_id, anonymous_id), latest in engaged.items()
    ]
    created = create_leads(rows, actor=actor, skip_conflicts=True)
    return {((lead.email or "").lower() or None, lead.external_id, lead.anonymous_id): lead.pk for lead in created}


def _to_survivors(cursor, latest: dict[int, object], survivors: set[int]) -> dict[int, object]:
    """The careful part may have merged leads this batch stored events on (their events
    moved to the survivor): their latest times go on to the survivor, as the reference
    path's merge carries last_engaged_at over. Only leads the careful part returned can
    be survivors (resolve_lead merges into the lead it returns, and tombstones always
    point at the last survivor), and merges by other transactions cannot happen
    meanwhile: this batch holds KEY SHARE on its leads."""
    cursor.execute(
        f"SELECT id, merged_into_id FROM {LEADS} WHERE merged_into_id = ANY(%s::bigint[])", [sorted(survivors)]
    )
    merged = {lead_id: survivor for lead_id, survivor in cursor.fetchall() if lead_id in latest}
    if not merged:
        return latest
    resolved: dict[int, object] = {}
    for lead_id, at in latest.items():
        lead_id = merged.get(lead_id, lead_id)
        if lead_id not in resolved or at > resolved[lead_id]:
            resolved[lead_id] = at
    return resolved


def _touch_last_engaged(cursor, latest: dict[int, object], *, may_wait: bool = False) -> None:
    """Move last_engaged_at forward for every touched lead, last in the batch.

    The rows to move are locked FOR NO KEY UPDATE SKIP LOCKED, one index probe each,
    then updated by row address (a join on id let the planner hash the whole table for
    a few hundred rows; the addresses cannot change while the rows are locked, and the
    UPDATE is a statement of its own so that its snapshot sees the locked versions).

    SKIP LOCKED because waiting here, while holding the batch's other locks, is what
    deadlocks: another batch moving the same lead, or the rescore worker holding it
    FOR UPDATE while it waits for this batch's KEY SHARE. A lead skipped that way (a
    few per batch when two batches share leads) is moved right after the commit, in a
    short transaction of its own that holds nothing else; only if the process dies in
    between does its last_engaged_at lag until its next event."""
    if not latest:
        return
    if len(latest) == 1 and may_wait:
        # One row and no FOR UPDATE lock held (no careful event): nothing to order, and
        # whoever holds the row waits for no lock of this batch (KEY SHARE keeps FOR
        # UPDATE lockers out of the lead). One statement instead of two.
        [(lead_id, at)] = latest.items()
        cursor.execute(
            f"UPDATE {LEADS} SET last_engaged_at = %s "
            "WHERE id = %s AND (last_engaged_at IS NULL OR last_engaged_at < %s)",
            [at, lead_id, at],
        )
        return
    ids = sorted(latest)
    times = [latest[lead_id] for lead_id in ids]
    cursor.execute(
        "SELECT u.id, x.ctid::text, u.t FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(id, t) CROSS JOIN LATERAL "
        f"(SELECT ctid FROM {LEADS} l WHERE l.id = u.id AND (l.last_engaged_at IS NULL OR l.last_engaged_at < u.t) "
        "LIMIT 1) AS behind "
        f"LEFT JOIN LATERAL (SELECT ctid FROM {LEADS} l WHERE l.id = u.id "
        "AND (l.last_engaged_at IS NULL OR l.last_engaged_at < u.t) FOR NO KEY UPDATE SKIP LOCKED) AS x ON true",
        [ids, times],
    )
    rows = cursor.fetchall()
    locked = [(address, at) for _, address, at in rows if address is not None]
    if locked:
        _update_by_address(cursor, locked)
    skipped = {lead_id: at for lead_id, address, at in rows if address is None}
    if skipped:
        transaction.on_commit(lambda: _touch_after_commit(skipped))


def _update_by_address(cursor, rows: list[tuple[str, object]]) -> None:
    """`ctid = ANY(ARRAY(SELECT …))` rather than `ANY(%s)`: the planner does not see how
    many addresses there are, so it fetches them (a TID scan) instead of reading the
    whole table, which its costs prefer for a few hundred rows of a table of 20,000."""
    addresses = [address for address, _ in rows]
    cursor.execute(
        f"UPDATE {LEADS} l SET last_engaged_at = v.t FROM unnest(%s::tid[], %s::timestamptz[]) AS v(address, t) "
        "WHERE l.ctid = ANY(ARRAY(SELECT unnest(%s::tid[]))) AND l.ctid = v.address",
        [addresses, [at for _, at in rows], addresses],
    )


def _touch_after_commit(latest: dict[int, object]) -> None:
    """The leads another transaction held when the batch moved last_engaged_at: waited
    for here, in id order, in a transaction that holds nothing else. Never raises:
    the events are committed, a lagging last_engaged_at must not fail the request."""
    ids = sorted(latest)
    try:
        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.cursor
            cursor.execute(
                "SELECT x.ctid::text, u.t FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(id, t) CROSS JOIN LATERAL "
                f"(SELECT ctid FROM {LEADS} l WHERE l.id = u.id "
                "AND (l.last_engaged_at IS NULL OR l.last_engaged_at < u.t) FOR NO KEY UPDATE) AS x",
                [ids, [latest[lead_id] for lead_id in ids]],
            )
            locked = cursor.fetchall()
            if locked:
                _update_by_address(cursor, locked)
    except Exception:  # noqa: BLE001 - see the docstring
        logger.warning("Could not move last_engaged_at of %s leads after an ingest batch.", len(ids), exc_info=True)
