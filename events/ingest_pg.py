"""The set-based ingest path for PostgreSQL.

Per batch, in one transaction, a constant number of statements whatever its size:
1. one SELECT finds every lead any event names (tombstones resolve to their survivor),
   locking those leads in id order (no deadlocks between batches);
2. events that would create, capture or merge a lead are checked against stored
   message_ids first (a replay is answered `duplicate` and changes nothing);
3. events whose identities all point at one lead go straight on; events naming only
   unknown identities get new leads from one `INSERT … ON CONFLICT DO NOTHING
   RETURNING` (a concurrent batch creating the same identity makes us re-read it,
   never create a second lead), their first transitions in one more INSERT;
4. one multi-row `INSERT … ON CONFLICT (message_id) DO NOTHING RETURNING` stores the
   events (a replay committed meanwhile by another process is answered `duplicate`);
5. one UPDATE moves `last_engaged_at`, one INSERT marks leads for rescoring.

Events that need a decision (traits, an identity meeting a known one, a merge,
events of one batch naming overlapping new identities) go through the plain rules of
identity.py, in batch order, after the set-based part. The reference path in
ingest.py is what this must agree with (tests/events/test_fast_path.py).
"""

from collections import defaultdict
from collections.abc import Sequence

from django.db import connection, transaction
from django.utils import timezone

from leads.models import Lead, StageTransition
from leads.services import record_leads_created
from leads.stages import MoveKind, Stage
from scoring.services import mark_for_rescore

from .identity import resolve_lead
from .ingest import ACCEPTED, DUPLICATE, actor_for, store_one, touch_last_engaged
from .models import ApiKey, EngagementEvent
from .validation import Event

EVENTS = EngagementEvent._meta.db_table
LEADS = Lead._meta.db_table
TRANSITIONS = StageTransition._meta.db_table
LEAD_FIELDS = [field for field in Lead._meta.concrete_fields if not field.primary_key]
LEAD_COLUMNS = ", ".join(connection.ops.quote_name(field.column) for field in LEAD_FIELDS)


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
        known = _lookup(cursor, [events[index] for index in pending], lock=True)
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
            created = _create_leads(cursor, list(new_groups), actor)
            if len(created) < len(new_groups):
                # Someone else created some of these identities since our lookup.
                missing = [key for key in new_groups if key not in created]
                again = _lookup(cursor, [events[new_groups[key][0]] for key in missing])
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
            chosen = list(lead_of.items())
            # One statement, the columns passed as arrays: psycopg2 adapts each array in C,
            # where VALUES lists would cost a Python-level mogrify per row.
            cursor.execute(
                f"INSERT INTO {EVENTS} (message_id, lead_id, type, occurred_at, received_at, properties, source,"
                " api_key_id) SELECT u.m, u.l, u.t, u.o, %s, u.p::jsonb, %s, %s "
                "FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::timestamptz[], %s::text[]) AS u(m, l, t, o, p) "
                "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                [
                    timezone.now(),
                    source,
                    api_key.pk if api_key is not None else None,
                    [events[index].message_id for index, _ in chosen],
                    [lead_id for _, lead_id in chosen],
                    [events[index].type for index, _ in chosen],
                    [events[index].occurred_at for index, _ in chosen],
                    [events[index].properties_json for index, _ in chosen],
                ],
            )
            stored = cursor.fetchall()
            stored_ids = {message_id for (message_id,) in stored}
            for index, lead_id in lead_of.items():
                event = events[index]
                if event.message_id in stored_ids:
                    statuses[index] = ACCEPTED
                    if lead_id not in latest or event.occurred_at > latest[lead_id]:
                        latest[lead_id] = event.occurred_at
                else:
                    statuses[index] = DUPLICATE
            _touch_last_engaged(cursor, latest)

        for index in sorted(careful):
            event = events[index]
            lead = resolve_lead(
                email=event.email,
                external_id=event.external_id,
                anonymous_id=event.anonymous_id,
                traits=event.traits,
                actor=actor,
            )
            if store_one(event=event, lead_id=lead.pk, source=source, api_key=api_key):
                statuses[index] = ACCEPTED
                touch_last_engaged(lead_id=lead.pk, occurred_at=event.occurred_at)
                latest.setdefault(lead.pk, event.occurred_at)
            else:
                statuses[index] = DUPLICATE
        mark_for_rescore(lead_ids=latest.keys())
    return statuses


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

    With `lock`, the leads found are locked FOR NO KEY UPDATE in id order before
    anything is written (as leads.services.lock_leads orders its locks): two batches
    sharing leads then queue up instead of deadlocking, and NO KEY UPDATE still lets
    other batches insert events referencing these leads (foreign-key checks take KEY
    SHARE). A survivor of a tombstone is locked in a second, rarely needed statement."""
    emails = sorted({event.email for event in events if event.email})
    externals = sorted({event.external_id for event in events if event.external_id})
    anonymous = sorted({event.anonymous_id for event in events if event.anonymous_id})
    if not (emails or externals or anonymous):
        return {}
    # Each branch matches a partial unique index (lower(email), external_id, anonymous_id).
    cursor.execute(
        f"SELECT lower(email), external_id, anonymous_id, id, merged_into_id FROM {LEADS} "
        "WHERE (email IS NOT NULL AND lower(email) = ANY(%s)) "
        "OR (external_id IS NOT NULL AND external_id = ANY(%s)) "
        "OR (anonymous_id IS NOT NULL AND anonymous_id = ANY(%s))" + (" ORDER BY id FOR NO KEY UPDATE" if lock else ""),
        [emails, externals, anonymous],
    )
    rows = cursor.fetchall()
    survivors = {merged_into_id for *_, merged_into_id in rows if merged_into_id is not None}
    gone: set[int] = set()
    if lock and survivors:
        gone = _lock(cursor, survivors - {lead_id for *_, lead_id, _ in rows})
    found: dict[tuple[str, str], int] = {}
    for email, external_id, anonymous_id, lead_id, merged_into_id in rows:
        target = merged_into_id or lead_id
        if target in gone:
            continue
        if email:
            found["email", email] = target
        if external_id:
            found["external_id", external_id] = target
        if anonymous_id:
            found["anonymous_id", anonymous_id] = target
    return found


def _lock(cursor, lead_ids: set[int]) -> set[int]:
    """Lock these leads in id order; returns those merged away meanwhile (events for
    them are left to the careful path, which follows the tombstone)."""
    if not lead_ids:
        return set()
    cursor.execute(
        f"SELECT id, merged_into_id FROM {LEADS} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
        [sorted(lead_ids)],
    )
    return {lead_id for lead_id, merged_into_id in cursor.fetchall() if merged_into_id is not None}


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


VARYING = ("email", "external_id", "anonymous_id", "stage")
STAMPED = ("stage_entered_at", "created_at", "updated_at")


def _lead_select_list():
    """The SELECT list that fills every column of a new lead: the identity and stage
    from the arrays, the creation time, and each field's default (typed, since an
    untyped literal would not be cast to the column's type)."""
    template = Lead()
    expressions, defaults = [], []
    for field in LEAD_FIELDS:
        if field.attname in VARYING:
            expressions.append(f"u.{field.attname}")
        elif field.attname in STAMPED:
            expressions.append("%(now)s")
        else:
            expressions.append(f"%(d{len(defaults)})s::{field.db_type(connection)}")
            defaults.append(field.get_db_prep_save(getattr(template, field.attname), connection))
    return ", ".join(expressions), {f"d{index}": value for index, value in enumerate(defaults)}


def _create_leads(cursor, keys: list[tuple], actor) -> dict[tuple, int]:
    """One INSERT for every new identity; ON CONFLICT DO NOTHING covers each partial
    unique index, so a lead created concurrently is skipped (and re-read by the caller)
    instead of duplicated. Rows are sorted so concurrent batches take index locks in
    the same order."""
    now = timezone.now()
    keys = sorted(keys, key=lambda key: tuple(part or "" for part in key))
    select_list, params = _lead_select_list()
    cursor.execute(
        f"INSERT INTO {LEADS} ({LEAD_COLUMNS}) SELECT {select_list} "
        "FROM unnest(%(email)s::text[], %(external_id)s::text[], %(anonymous_id)s::text[], %(stage)s::text[]) "
        "AS u(email, external_id, anonymous_id, stage) "
        "ON CONFLICT DO NOTHING RETURNING id, lower(email), external_id, anonymous_id, stage",
        {
            **params,
            "now": now,
            "email": [key[0] for key in keys],
            "external_id": [key[1] for key in keys],
            "anonymous_id": [key[2] for key in keys],
            "stage": [Stage.LEAD_GEN if key[0] else Stage.DEMAND_GEN for key in keys],
        },
    )
    created: dict[tuple, int] = {}
    inserted = []
    for lead_id, email, external_id, anonymous_id, stage in cursor.fetchall():
        created[(email, external_id, anonymous_id)] = lead_id
        inserted.append(Lead(pk=lead_id, email=email, stage=stage, created_at=now, stage_entered_at=now))
    if inserted:
        actor_fields = actor.transition_fields()
        actor_user = actor_fields["actor_user"]
        cursor.execute(
            f"INSERT INTO {TRANSITIONS} (lead_id, cycle, from_stage, to_stage, kind, actor_kind, actor_user_id,"
            " actor_label, reason, reason_code, occurred_at) "
            "SELECT u.id, 1, '', u.stage, %s, %s, %s, %s, '', '', %s "
            "FROM unnest(%s::bigint[], %s::text[]) AS u(id, stage)",
            [
                MoveKind.CREATED.value,
                actor_fields["actor_kind"],
                actor_user.pk if actor_user is not None else None,
                actor_fields["actor_label"],
                now,
                [lead.pk for lead in inserted],
                [lead.stage for lead in inserted],
            ],
        )
        record_leads_created(leads=inserted)
    return created


def _touch_last_engaged(cursor, latest: dict[int, object]) -> None:
    """Move last_engaged_at forward for every touched lead in one statement (the rows
    are already locked by _lookup, or were created by this transaction)."""
    if not latest:
        return
    ids = sorted(latest)
    cursor.execute(
        f"UPDATE {LEADS} l SET last_engaged_at = v.t FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, t) "
        "WHERE l.id = v.id AND (l.last_engaged_at IS NULL OR l.last_engaged_at < v.t)",
        [ids, [latest[lead_id] for lead_id in ids]],
    )
