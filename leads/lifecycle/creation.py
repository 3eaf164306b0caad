"""Creating leads: the one path by which a lead comes to exist.

Every door that creates leads comes here: ingestion (one by one in the reference path,
set-based in the fast path), the CSV import, `generate_load`, `seed_demo` and the API
and pages. A lead starts at demand generation (anonymous) or lead generation
(identified), with its first transition (`created`) and its count on the board, all in
the caller's transaction; any later stage is reached by moves.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from ..actors import Actor
from ..models import PROFILE_FIELDS, Lead, StageTransition
from ..pipeline_counts import record_leads_created
from ..stages import MoveKind, Stage, StageMoveRefused
from . import announcements

FIRST_STAGES = (Stage.DEMAND_GEN, Stage.LEAD_GEN)
IDENTITY_AND_PROFILE_FIELDS = ["anonymous_id", *PROFILE_FIELDS, "attributes", "owner"]
# What a row may set besides identity and profile: bookkeeping the caller knows better.
ROW_EXTRAS = {"created_at", "owner_id", "last_engaged_at"}


def first_stage(*, email: str | None) -> str:
    """An identified lead starts at lead generation, an anonymous one at demand generation."""
    return Stage.LEAD_GEN if email else Stage.DEMAND_GEN


def _check_first_stage(stage: str) -> None:
    if stage not in FIRST_STAGES:
        raise StageMoveRefused(
            f"A lead starts at {Stage.DEMAND_GEN.label} or {Stage.LEAD_GEN.label}; "
            f"“{stage}” is reached by moving it there.",
            to_stage=stage,
        )


def _clean_row(row: dict) -> dict:
    unknown = set(row) - set(IDENTITY_AND_PROFILE_FIELDS) - ROW_EXTRAS - {"stage"}
    if unknown:
        raise TypeError(f"Unknown lead fields: {sorted(unknown)}")
    clean = {key: value for key, value in row.items() if not (key == "created_at" and value is None)}
    if clean.get("email"):
        clean["email"] = clean["email"].strip()
    clean["stage"] = clean.get("stage") or first_stage(email=clean.get("email"))
    _check_first_stage(clean["stage"])
    return clean


def create_leads(
    rows: Iterable[dict],
    *,
    actor: Actor,
    reason: str = "",
    occurred_at: datetime | None = None,
    skip_conflicts: bool = False,
    batch_size: int = 1000,
) -> list[Lead]:
    """Create leads set-based: one INSERT of the leads, one of their first transitions,
    one of their board counts, in the caller's transaction (or one of its own); each
    creation is announced like any stage change (kind `created`).

    Each row holds a lead's fields (identity, profile, `owner`, `created_at`,
    `last_engaged_at`) and optionally `stage`, which must be a first stage.
    `skip_conflicts` (PostgreSQL, ingestion): a row whose identity another transaction
    took meanwhile is skipped, not an error; the caller re-reads it. Returns the leads
    created, with their ids.
    """
    cleaned = [_clean_row(row) for row in rows]
    if not cleaned:
        return []
    now = occurred_at or timezone.now()
    with transaction.atomic(savepoint=False):
        if skip_conflicts:
            leads = _insert_skipping_conflicts(cleaned, now=now)
        else:
            leads = Lead.objects.bulk_create(
                [
                    Lead(**{"created_at": now, **row}, stage_entered_at=row.get("created_at", now), updated_at=now)
                    for row in cleaned
                ],
                batch_size=batch_size,
            )
        transitions = _record_first_transitions(leads, actor=actor, reason=reason, batch_size=batch_size)
        record_leads_created(leads=leads)
        for lead, transition in zip(leads, transitions, strict=True):
            announcements.stage_changed(lead, transition)
    return leads


def create_lead(*, actor: Actor, stage: str | None = None, reason: str = "", **fields) -> Lead:
    """Create one lead (a page, the API, ingestion's reference path): `create_leads` for a
    single row, in a savepoint of its own, so a caller can catch an IntegrityError (an
    identity taken meanwhile) and carry on in its transaction."""
    row = {**fields, "stage": stage} if stage else fields
    with transaction.atomic():
        (lead,) = create_leads([row], actor=actor, reason=reason)
    return lead


def _record_first_transitions(
    leads: Sequence[Lead], *, actor: Actor, reason: str, batch_size: int
) -> list[StageTransition]:
    actor_fields = actor.transition_fields()
    return StageTransition.objects.bulk_create(
        [
            StageTransition(
                lead_id=lead.pk,
                cycle=1,
                from_stage="",
                to_stage=lead.stage,
                kind=MoveKind.CREATED,
                reason=reason,
                occurred_at=lead.stage_entered_at,
                **actor_fields,
            )
            for lead in leads
        ],
        batch_size=batch_size,
    )


# --- The fast path of ingestion: INSERT … ON CONFLICT DO NOTHING -------------------

# Only what ingestion knows of a new person may vary; every other column takes its default.
_CONFLICT_VARYING = ("email", "external_id", "anonymous_id", "stage", "last_engaged_at")
_CONFLICT_STAMPED = ("stage_entered_at", "created_at", "updated_at")
_LEAD_FIELDS = [field for field in Lead._meta.concrete_fields if not field.primary_key]


def _insert_skipping_conflicts(rows: list[dict], *, now: datetime) -> list[Lead]:
    """One INSERT for every new identity; ON CONFLICT DO NOTHING covers each partial
    unique index, so a lead created concurrently is skipped (and re-read by the caller)
    instead of duplicated. Rows are sorted so concurrent batches take index locks in
    the same order."""
    if connection.vendor != "postgresql":
        raise NotImplementedError("Skipping conflicting identities needs PostgreSQL.")
    extra = {key for row in rows for key in row} - set(_CONFLICT_VARYING)
    if extra:
        raise TypeError(f"The conflict-skipping insert takes only identities; got {sorted(extra)}")
    rows = sorted(rows, key=lambda row: tuple(row.get(key) or "" for key in ("email", "external_id", "anonymous_id")))
    select_list, params = _lead_select_list()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in _LEAD_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Lead._meta.db_table)} ({columns}) SELECT {select_list} "
            "FROM unnest(%(email)s::text[], %(external_id)s::text[], %(anonymous_id)s::text[], %(stage)s::text[], "
            "%(last_engaged_at)s::timestamptz[]) AS u(email, external_id, anonymous_id, stage, last_engaged_at) "
            "ON CONFLICT DO NOTHING RETURNING id, email, external_id, anonymous_id, stage, last_engaged_at",
            {
                **params,
                "now": now,
                **{key: [row.get(key) for row in rows] for key in _CONFLICT_VARYING},
            },
        )
        return [
            Lead(
                pk=lead_id,
                email=email,
                external_id=external_id,
                anonymous_id=anonymous_id,
                stage=stage,
                last_engaged_at=last_engaged_at,
                created_at=now,
                stage_entered_at=now,
                updated_at=now,
            )
            for lead_id, email, external_id, anonymous_id, stage, last_engaged_at in cursor.fetchall()
        ]


def _lead_select_list():
    """The SELECT list that fills every column of a new lead: the identity, stage and
    last engagement from the arrays, the creation time, and each field's default (typed,
    since an untyped literal would not be cast to the column's type)."""
    template = Lead()
    expressions, defaults = [], []
    for field in _LEAD_FIELDS:
        if field.attname in _CONFLICT_VARYING:
            expressions.append(f"u.{field.attname}")
        elif field.attname in _CONFLICT_STAMPED:
            expressions.append("%(now)s")
        else:
            expressions.append(f"%(d{len(defaults)})s::{field.db_type(connection)}")
            defaults.append(field.get_db_prep_save(getattr(template, field.attname), connection))
    return ", ".join(expressions), {f"d{index}": value for index, value in enumerate(defaults)}
