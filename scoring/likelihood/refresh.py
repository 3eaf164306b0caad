"""Writing leads' likelihoods with the published model: for a chunk of leads when they
are rescored (in the rescore's transaction, rows already locked), and for everyone
after a new version is published.

The facts come from the same functions as the training snapshots (`count_events`,
`FeatureSpec.encode`), at T = now: the lead's current stage, cycle and rule score, and
its events of the last 90 days. Customers get no likelihood (the model predicts a
first purchase in the cycle), nor do merged or erased leads.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import orjson
from django.db import connection, transaction
from django.utils import timezone

from events.models import EngagementEvent
from leads.models import Lead
from leads.stages import Stage

from .. import sql as score_sql
from .explain import explain_matrix
from .features import (
    DAY,
    GROUP_CASE,
    GROUP_TYPES,
    HORIZON_DAYS,
    RawFacts,
    count_events,
    event_group,
    seniority,
    size_band,
)
from .storage import StoredModel, published_model

BATCH = 5000
# Leads per query on the portable path (SQLite allows a limited number of parameters).
ORM_CHUNK = 500


def facts_now(
    *, lead_ids: list[int], as_of: datetime, fast: bool | None = None
) -> tuple[np.ndarray, RawFacts, list[int]]:
    """The raw facts of live, non-customer leads among `lead_ids` at `as_of`, with the
    likelihood each has stored now (nan: none), and the ids of the other leads that
    still have a likelihood (to clear). Set-based on PostgreSQL, through the ORM
    elsewhere (`fast=False` forces that path; a test holds both to the same rows)."""
    fast = connection.vendor == "postgresql" if fast is None else fast
    since = as_of - timedelta(seconds=HORIZON_DAYS * DAY)
    if fast:
        every, events = _read_now_sql(lead_ids=lead_ids, since=since, as_of=as_of)
    else:
        every, events = _read_now_orm(lead_ids=lead_ids, since=since, as_of=as_of)
    # Customers, merged and erased leads get no likelihood.
    leads, stale = [], []
    for row in every:
        if row[5] != Stage.CUSTOMER and row[9] is None and row[10] is None:
            leads.append(row)
        elif row[8] is not None:
            stale.append(row[0])
    ids = np.array([row[0] for row in leads], dtype=np.int64)
    n = len(ids)
    event_lead = events[:, 0].astype(np.int64)
    if n and len(event_lead):
        position = np.minimum(np.searchsorted(ids, event_lead), n - 1)
        row_of_event = np.where(ids[position] == event_lead, position, -1)
    else:
        row_of_event = np.full(len(event_lead), -1)
    counts, days = count_events(
        row_of_event=row_of_event,
        group=events[:, 1].astype(np.int64),
        seconds=events[:, 2].copy(),
        as_of=np.full(n, as_of.timestamp()),
        n=n,
    )
    stored = np.array([np.nan if row[8] is None else row[8] for row in leads], dtype=np.float64)
    facts = RawFacts(
        lead_ids=ids,
        counts=counts,
        days_since_last=days,
        seniority=[seniority(row[1]) for row in leads],
        size_band=[size_band(row[2]) for row in leads],
        country=[row[3] or "" for row in leads],
        source=[row[4] or "" for row in leads],
        stage=[row[5] for row in leads],
        cycle=np.array([row[6] for row in leads], dtype=np.int64),
        rule_score=np.array([row[7] for row in leads], dtype=np.int64),
    )
    return stored, facts, stale


_LEAD_COLUMNS = ("id", "job_title", "company_size", "country", "source", "stage", "cycle", "score", "likelihood")
_LEAD_COLUMNS += ("merged_into_id", "erased_at")


def _read_now_sql(*, lead_ids: list[int], since: datetime, as_of: datetime) -> tuple[list, np.ndarray]:
    ids_text = score_sql.array_literal(lead_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(_LEAD_COLUMNS)} FROM leads_lead WHERE id = ANY(%s::bigint[]) ORDER BY id",
            [ids_text],
        )
        leads = cursor.fetchall()
        cursor.execute(
            f"SELECT e.lead_id, {GROUP_CASE} AS grp, extract(epoch from e.occurred_at)::float8 "
            "FROM events_engagementevent e "
            "WHERE e.lead_id = ANY(%s::bigint[]) AND e.occurred_at > %s AND e.occurred_at <= %s AND e.type = ANY(%s)",
            [ids_text, since, as_of, GROUP_TYPES],
        )
        rows = [row for row in cursor.fetchall() if row[1] is not None]
    return leads, np.array(rows, dtype=np.float64).reshape(-1, 3)


def _read_now_orm(*, lead_ids: list[int], since: datetime, as_of: datetime) -> tuple[list, np.ndarray]:
    leads, rows = [], []
    for start in range(0, len(lead_ids), ORM_CHUNK):
        chunk = lead_ids[start : start + ORM_CHUNK]
        leads += Lead.objects.filter(pk__in=chunk).values_list(*_LEAD_COLUMNS)
        events = EngagementEvent.objects.filter(
            lead_id__in=chunk, occurred_at__gt=since, occurred_at__lte=as_of, type__in=GROUP_TYPES
        ).values_list("lead_id", "type", "occurred_at", "properties")
        for lead_id, event_type, occurred_at, properties in events.iterator(chunk_size=ORM_CHUNK * 10):
            group = event_group(event_type, properties)
            if group is not None:
                rows.append((lead_id, group, occurred_at.timestamp()))
    leads.sort(key=lambda row: row[0])
    return leads, np.array(rows, dtype=np.float64).reshape(-1, 3)


def refresh_likelihoods(*, lead_ids, as_of: datetime | None = None, model: StoredModel | None = None) -> int:
    """Recompute and store the likelihood and reasons of `lead_ids` (a no-op while no
    model is published). Customers' likelihoods are cleared. Returns how many leads
    were given a likelihood."""
    ids = sorted({int(lead_id) for lead_id in lead_ids})
    if not ids:
        return 0
    model = model or published_model()
    if model is None:
        return 0
    as_of = as_of or timezone.now()
    stored, facts, stale = facts_now(lead_ids=ids, as_of=as_of)
    matrix = model.spec.encode(facts)
    probabilities = np.round(model.probabilities(matrix), 6)
    # Only changed likelihoods are explained and written (the same features give the
    # same number, so an unchanged likelihood keeps its stored reasons).
    changed = np.flatnonzero(np.isnan(stored) | (np.abs(stored - probabilities) > 5e-7))
    _, reasons = explain_matrix(model, matrix[changed])
    changed = changed.tolist()
    changed_ids = facts.lead_ids[changed].tolist()
    values = probabilities[changed].tolist()
    if connection.vendor == "postgresql":
        _write_sql(changed_ids=changed_ids, values=values, reasons=reasons, stale=stale)
    else:
        _write_orm(changed_ids=changed_ids, values=values, reasons=reasons, stale=stale)
    return len(facts)


def _write_sql(*, changed_ids, values, reasons, stale) -> None:
    with connection.cursor() as cursor:
        if changed_ids:
            cursor.execute(
                "UPDATE leads_lead l SET likelihood = v.p, likelihood_reasons = v.r::jsonb "
                "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::float8[]) AS p, unnest(%s::text[]) AS r) v "
                "WHERE l.id = v.id",
                [score_sql.array_literal(changed_ids), values, [orjson.dumps(items).decode() for items in reasons]],
            )
        if stale:
            # By id alone: with `likelihood IS NOT NULL` here the planner may walk the
            # whole likelihood index instead (it did, 0.1-0.5 s a chunk).
            cursor.execute(
                "UPDATE leads_lead SET likelihood = NULL, likelihood_reasons = '[]'::jsonb "
                "WHERE id = ANY(%s::bigint[])",
                [score_sql.array_literal(stale)],
            )


def _write_orm(*, changed_ids, values, reasons, stale) -> None:
    rows = [
        Lead(pk=lead_id, likelihood=value, likelihood_reasons=items)
        for lead_id, value, items in zip(changed_ids, values, reasons, strict=True)
    ]
    Lead.objects.bulk_update(rows, ["likelihood", "likelihood_reasons"], batch_size=ORM_CHUNK)
    for start in range(0, len(stale), ORM_CHUNK):
        Lead.objects.filter(pk__in=stale[start : start + ORM_CHUNK]).update(likelihood=None, likelihood_reasons=[])


def refresh_all_likelihoods(*, progress: Callable[[int, int], None] | None = None) -> int:
    """Every lead, in batches by id, each in its own short transaction."""
    model = published_model()
    if model is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        total = cursor.fetchone()[0]
    done = scored = 0
    last = 0
    as_of = timezone.now()
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM leads_lead WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH])
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            break
        with transaction.atomic():
            scored += refresh_likelihoods(lead_ids=ids, as_of=as_of, model=model)
        last = ids[-1]
        done += len(ids)
        if progress:
            progress(done, total)
    return scored
