"""The set-based ingest path for PostgreSQL.

Per batch, in one transaction, a constant number of statements whatever its size:
1. one SELECT finds message_ids already stored (answered `duplicate`, not resolved);
2. one SELECT finds every lead any event names (tombstones resolve to their survivor),
   one more locks those leads in id order (no deadlocks between batches);
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
from psycopg2.extras import execute_values

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
        cursor.execute(f"SELECT message_id FROM {EVENTS} WHERE message_id = ANY(%s)", [list(first_index)])
        for (message_id,) in cursor.fetchall():
            statuses[first_index[message_id]] = DUPLICATE
        pending = [index for index, status in enumerate(statuses) if status is None]

        known = _lookup(cursor, [events[index] for index in pending])
        merged_meanwhile = _lock(cursor, set(known.values()))
        if merged_meanwhile:
            known = {pair: lead_id for pair, lead_id in known.items() if lead_id not in merged_meanwhile}
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
            rows = [
                (
                    events[index].message_id,
                    lead_id,
                    events[index].type,
                    events[index].occurred_at,
                    events[index].properties_json,
                    source,
                    api_key.pk if api_key is not None else None,
                )
                for index, lead_id in lead_of.items()
            ]
            now = timezone.now()
            stored = execute_values(
                cursor,
                f"INSERT INTO {EVENTS} (message_id, lead_id, type, occurred_at, received_at, properties, source,"
                f" api_key_id) VALUES %s ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                rows,
                template=f"(%s, %s, %s, %s, '{now.isoformat()}'::timestamptz, %s::jsonb, %s, %s)",
                page_size=len(rows),
                fetch=True,
            )
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


def _lookup(cursor, events: Sequence[Event]) -> dict[tuple[str, str], int]:
    """(kind, value) → the id of the live lead it belongs to (a tombstone's survivor)."""
    emails = sorted({event.email for event in events if event.email})
    externals = sorted({event.external_id for event in events if event.external_id})
    anonymous = sorted({event.anonymous_id for event in events if event.anonymous_id})
    if not (emails or externals or anonymous):
        return {}
    # Each branch matches a partial unique index (lower(email), external_id, anonymous_id).
    cursor.execute(
        f"SELECT lower(email), external_id, anonymous_id, COALESCE(merged_into_id, id) FROM {LEADS} "
        "WHERE (email IS NOT NULL AND lower(email) = ANY(%s)) "
        "OR (external_id IS NOT NULL AND external_id = ANY(%s)) "
        "OR (anonymous_id IS NOT NULL AND anonymous_id = ANY(%s))",
        [emails, externals, anonymous],
    )
    found: dict[tuple[str, str], int] = {}
    for email, external_id, anonymous_id, lead_id in cursor.fetchall():
        if email:
            found["email", email] = lead_id
        if external_id:
            found["external_id", external_id] = lead_id
        if anonymous_id:
            found["anonymous_id", anonymous_id] = lead_id
    return found


def _lock(cursor, lead_ids: set[int]) -> set[int]:
    """Lock every known lead the batch touches, in id order, before writing anything
    (as leads.services.lock_leads does): two batches sharing leads then queue up
    instead of deadlocking. NO KEY UPDATE still lets other batches insert events that
    reference these leads (their foreign-key checks take KEY SHARE). Returns leads
    merged away since the lookup: their events take the careful path to the survivor."""
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


def _create_leads(cursor, keys: list[tuple], actor) -> dict[tuple, int]:
    """One INSERT for every new identity; ON CONFLICT DO NOTHING covers each partial
    unique index, so a lead created concurrently is skipped (and re-read by the caller)
    instead of duplicated. Rows are sorted so concurrent batches take index locks in
    the same order."""
    now = timezone.now()
    leads = []
    for email, external_id, anonymous_id in sorted(keys, key=lambda key: tuple(part or "" for part in key)):
        stage = Stage.LEAD_GEN if email else Stage.DEMAND_GEN
        lead = Lead(
            email=email,
            external_id=external_id,
            anonymous_id=anonymous_id,
            stage=stage,
            stage_entered_at=now,
            created_at=now,
            updated_at=now,
        )
        leads.append(lead)
    rows = [
        tuple(field.get_db_prep_save(getattr(lead, field.attname), connection) for field in LEAD_FIELDS)
        for lead in leads
    ]
    returned = execute_values(
        cursor,
        f"INSERT INTO {LEADS} ({LEAD_COLUMNS}) VALUES %s ON CONFLICT DO NOTHING "
        "RETURNING id, lower(email), external_id, anonymous_id",
        rows,
        page_size=len(rows),
        fetch=True,
    )
    by_key = {(lead.email, lead.external_id, lead.anonymous_id): lead for lead in leads}
    created: dict[tuple, int] = {}
    inserted = []
    for lead_id, email, external_id, anonymous_id in returned:
        lead = by_key[(email, external_id, anonymous_id)]
        lead.pk = lead_id
        created[(email, external_id, anonymous_id)] = lead_id
        inserted.append(lead)
    if inserted:
        actor_fields = actor.transition_fields()
        actor_user_id = actor_fields["actor_user"].pk if actor_fields["actor_user"] is not None else None
        execute_values(
            cursor,
            f"INSERT INTO {TRANSITIONS} (lead_id, cycle, from_stage, to_stage, kind, actor_kind, actor_user_id,"
            " actor_label, reason, reason_code, occurred_at) VALUES %s",
            [
                (
                    lead.pk,
                    1,
                    "",
                    lead.stage,
                    MoveKind.CREATED.value,
                    actor_fields["actor_kind"],
                    actor_user_id,
                    actor_fields["actor_label"],
                    "",
                    "",
                    now,
                )
                for lead in inserted
            ],
            page_size=len(inserted),
        )
        record_leads_created(leads=inserted)
    return created


def _touch_last_engaged(cursor, latest: dict[int, object]) -> None:
    """Move last_engaged_at forward for every touched lead in one statement (the rows
    are already locked by _lock, or were created by this transaction)."""
    if not latest:
        return
    execute_values(
        cursor,
        f"UPDATE {LEADS} l SET last_engaged_at = v.t FROM (VALUES %s) AS v(id, t) "
        "WHERE l.id = v.id AND (l.last_engaged_at IS NULL OR l.last_engaged_at < v.t)",
        [(lead_id, latest[lead_id]) for lead_id in sorted(latest)],
        template="(%s::bigint, %s::timestamptz)",
        page_size=len(latest),
    )
