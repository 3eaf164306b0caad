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

from .. import sql as score_sql
from .explain import explain_matrix
from .features import DAY, GROUP_CASE, GROUP_TYPES, HORIZON_DAYS, RawFacts, count_events, seniority, size_band
from .storage import StoredModel, published_model

BATCH = 5000


def facts_now(*, lead_ids: list[int], as_of: datetime) -> tuple[np.ndarray, RawFacts]:
    """The raw facts of live, non-customer leads among `lead_ids` at `as_of`, with the
    likelihood each has stored now (nan: none)."""
    ids_text = score_sql.array_literal(lead_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, job_title, company_size, country, source, stage, cycle, score, likelihood FROM leads_lead "
            "WHERE id = ANY(%s::bigint[]) AND merged_into_id IS NULL AND erased_at IS NULL "
            "AND stage <> 'customer' ORDER BY id",
            [ids_text],
        )
        leads = cursor.fetchall()
        cursor.execute(
            f"SELECT e.lead_id, {GROUP_CASE}, extract(epoch from e.occurred_at) FROM events_engagementevent e "
            "WHERE e.lead_id = ANY(%s::bigint[]) AND e.occurred_at > %s AND e.occurred_at <= %s AND e.type = ANY(%s)",
            [ids_text, as_of - timedelta(seconds=HORIZON_DAYS * DAY), as_of, GROUP_TYPES],
        )
        events = [row for row in cursor.fetchall() if row[1] is not None]
    ids = np.array([row[0] for row in leads], dtype=np.int64)
    n = len(ids)
    event_lead = np.array([row[0] for row in events], dtype=np.int64)
    if n and len(event_lead):
        position = np.minimum(np.searchsorted(ids, event_lead), n - 1)
        row_of_event = np.where(ids[position] == event_lead, position, -1)
    else:
        row_of_event = np.full(len(event_lead), -1)
    counts, days = count_events(
        row_of_event=row_of_event,
        group=np.array([row[1] for row in events], dtype=np.int64),
        seconds=np.array([float(row[2]) for row in events]),
        as_of=np.full(n, as_of.timestamp()),
        n=n,
    )
    stored = np.array([np.nan if row[8] is None else row[8] for row in leads], dtype=np.float64)
    return stored, RawFacts(
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


def refresh_likelihoods(*, lead_ids, as_of: datetime | None = None, model: StoredModel | None = None) -> int:
    """Recompute and store the likelihood and reasons of `lead_ids` (PostgreSQL; a no-op
    while no model is published). Customers' likelihoods are cleared. Returns how many
    leads were given a likelihood."""
    ids = sorted({int(lead_id) for lead_id in lead_ids})
    if not ids or connection.vendor != "postgresql":
        return 0
    model = model or published_model()
    if model is None:
        return 0
    as_of = as_of or timezone.now()
    stored, facts = facts_now(lead_ids=ids, as_of=as_of)
    matrix = model.spec.encode(facts)
    probabilities = np.round(model.probabilities(matrix), 6)
    # Only changed likelihoods are explained and written (the same features give the
    # same number, so an unchanged likelihood keeps its stored reasons).
    changed = np.flatnonzero(np.isnan(stored) | (np.abs(stored - probabilities) > 5e-7))
    _, reasons = explain_matrix(model, matrix[changed])
    changed = changed.tolist()
    with connection.cursor() as cursor:
        if changed:
            cursor.execute(
                "UPDATE leads_lead l SET likelihood = v.p, likelihood_reasons = v.r::jsonb "
                "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::float8[]) AS p, unnest(%s::text[]) AS r) v "
                "WHERE l.id = v.id",
                [
                    score_sql.array_literal(facts.lead_ids[changed].tolist()),
                    probabilities[changed].tolist(),
                    [orjson.dumps(items).decode() for items in reasons],
                ],
            )
        cursor.execute(
            "UPDATE leads_lead SET likelihood = NULL, likelihood_reasons = '[]'::jsonb "
            "WHERE id = ANY(%s::bigint[]) AND likelihood IS NOT NULL AND NOT (id = ANY(%s::bigint[]))",
            [score_sql.array_literal(ids), score_sql.array_literal(facts.lead_ids.tolist())],
        )
    return len(facts)


def refresh_all_likelihoods(*, progress: Callable[[int, int], None] | None = None) -> int:
    """Every lead, in batches by id, each in its own short transaction."""
    model = published_model()
    if model is None or connection.vendor != "postgresql":
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
