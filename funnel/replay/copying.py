"""What a replay copies from the source, set-based: a COPY out of the source's connection
into a COPY into this database's (dblink is not available; two connections are)."""

import tempfile

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction

from events.models import EngagementEvent
from leads.models import Lead, StageTransition

COPIED_LEAD_COLUMNS = [
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
    "erased_at",
    "created_at",
]

# Each lead as it was created: no owner, score or counters yet, not merged (merges are
# replayed at their moments); an erased lead is erased from the start (its events are
# gone from the log, so its history cannot be replayed).
_LEAD_AS_CREATED = {
    "owner_id": "NULL",
    "stage": f"COALESCE(first.to_stage, '{Lead._meta.get_field('stage').default}')",
    "stage_entered_at": "l.created_at",
    "score": "0",
    "cycle": "1",
    "recycle_count": "0",
    "mql_armed": "true",
    "mql_crossings": "0",
    "last_engaged_at": "NULL",
    "likelihood": "NULL",
    "likelihood_reasons": "'[]'::jsonb",
    "merged_into_id": "NULL",
    "updated_at": "l.created_at",
}

_FIRST_TRANSITION = (
    "SELECT DISTINCT ON (lead_id) lead_id, cycle, from_stage, to_stage, kind, actor_kind, actor_user_id, "
    "actor_label, reason, reason_code, occurred_at FROM leads_stagetransition ORDER BY lead_id, occurred_at, id"
)

EVENT_COLUMNS = ["id", "message_id", "lead_id", "type", "occurred_at", "received_at", "properties", "source"]

# The lead each event arrived for: the merged lead of the first merge that moved it, else
# the lead it is on now (events received after a merge were resolved to the survivor).
_EVENTS_AS_RECEIVED = """
    SELECT e.id, e.message_id, COALESCE(arrived.merged_id, e.lead_id), e.type, e.occurred_at, e.received_at,
           e.properties, e.source
    FROM events_engagementevent e
    LEFT JOIN (
        SELECT DISTINCT ON (moved.event_id) moved.event_id, m.merged_id
        FROM leads_leadmerge m, jsonb_array_elements_text(m.moved_event_ids) AS moved(event_id)
        ORDER BY moved.event_id, m.merged_at, m.id
    ) arrived ON arrived.event_id::bigint = e.id
"""

STAGED_EVENTS = "replay_staged_events"


def copy_between(source, query: str, table: str, columns: list[str]) -> None:
    """COPY the rows of `query` on the source into `table` here, through a temporary
    file (binary format: no text round trip of JSON, times or numbers)."""
    with tempfile.TemporaryFile() as buffer:
        with source.cursor() as cursor:
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)", buffer)


def copy_people(source) -> None:
    User = get_user_model()
    columns = [field.column for field in User._meta.concrete_fields]
    memberships = _rows(
        source, "SELECT ug.user_id, g.name FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id"
    )
    with transaction.atomic():
        copy_between(source, f"SELECT {', '.join(columns)} FROM {User._meta.db_table}", User._meta.db_table, columns)
        groups = {}
        for user_id, name in memberships:
            group = groups.get(name) or Group.objects.get_or_create(name=name)[0]
            groups[name] = group
            group.user_set.add(user_id)


def copy_leads(source) -> None:
    columns = [field.column for field in Lead._meta.concrete_fields]
    select = ", ".join(_LEAD_AS_CREATED.get(column, f"l.{column}") for column in columns)
    assert set(columns) == set(COPIED_LEAD_COLUMNS) | set(_LEAD_AS_CREATED), "a Lead column the replay does not know"
    transition_columns = [field.column for field in StageTransition._meta.concrete_fields if field.column != "id"]
    with transaction.atomic():
        copy_between(
            source,
            f"SELECT {select} FROM leads_lead l LEFT JOIN ({_FIRST_TRANSITION}) first ON first.lead_id = l.id",
            Lead._meta.db_table,
            columns,
        )
        copy_between(source, _FIRST_TRANSITION, StageTransition._meta.db_table, transition_columns)


def load_events(source) -> None:
    """The whole log into a temporary table here, in one COPY; `store_events` then moves
    each slice of it into the events table at its moment."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGED_EVENTS} (LIKE {EngagementEvent._meta.db_table} INCLUDING DEFAULTS)"
        )
    copy_between(source, _EVENTS_AS_RECEIVED, STAGED_EVENTS, EVENT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX ON {STAGED_EVENTS} (received_at, id)")
        cursor.execute(f"ANALYZE {STAGED_EVENTS}")


def store_events(*, after, until) -> int:
    """Store the events received in (after, until] (either end open when None), with
    their source ids: the daily caps break ties in time by id, as in the source."""
    conditions, params = [], []
    if after is not None:
        conditions.append("received_at > %s")
        params.append(after)
    if until is not None:
        conditions.append("received_at <= %s")
        params.append(until)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    columns = ", ".join(EVENT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EngagementEvent._meta.db_table} ({columns}) "
            f"SELECT {columns} FROM {STAGED_EVENTS} {where} ORDER BY received_at, id",
            params,
        )
        return cursor.rowcount


def reset_sequences() -> None:
    User = get_user_model()
    with connection.cursor() as cursor:
        for model in (User, Lead, EngagementEvent):
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )


def _rows(source, query: str, params=()) -> list[tuple]:
    with source.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()
