"""The board's summary counts (PipelineCount): one +n/−n row per bucket change.

Every writer that creates a live lead, moves it, changes its owner, source or
campaign, or takes it out of the funnel (merge, erase) records the change here in
its own transaction. `rebuild_pipeline_counts` is the plain reference; a test
checks that the incremental rows always add up to it.
"""

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate

from .models import Lead, PipelineCount

CountKey = tuple[str, int | None, str, str, date]


def pipeline_count_key(lead: Lead) -> CountKey:
    """Which summary bucket a lead counts in: stage, owner, source, campaign, UTC day of creation."""
    return (
        lead.stage,
        lead.owner_id,
        lead.source or "",
        lead.utm_campaign or "",
        lead.created_at.astimezone(UTC).date(),
    )


def record_pipeline_count_changes(changes: Counter) -> None:
    """Append one +n/−n row per bucket whose count changed (set-based: one INSERT)."""
    rows = [
        PipelineCount(stage=stage, owner_id=owner_id, source=source, campaign=campaign, day=day, n=n)
        for (stage, owner_id, source, campaign, day), n in sorted(changes.items(), key=lambda item: str(item[0]))
        if n
    ]
    PipelineCount.objects.bulk_create(rows, batch_size=1000)


def bucket_change(*, before: CountKey, after: CountKey) -> Counter:
    changes = Counter()
    changes[before] -= 1
    changes[after] += 1
    return changes


def record_leads_created(*, leads: Iterable[Lead]) -> None:
    """Count leads that were created without `create_lead` (bulk ingestion, imports).
    Call it in the transaction that inserted them."""
    record_pipeline_count_changes(Counter(pipeline_count_key(lead) for lead in leads))


def record_leads_removed(*, leads: Iterable[Lead]) -> None:
    """Uncount leads leaving the funnel (merged away, erased). Pass them as they were
    before the change, in the transaction that changes them."""
    record_pipeline_count_changes(Counter({key: -n for key, n in Counter(map(pipeline_count_key, leads)).items()}))


def _lock_pipeline_counts() -> None:
    # Writers only INSERT; compaction and rebuild rewrite rows, so they shut writers
    # out for their few milliseconds (EXCLUSIVE still lets the board read). SQLite's
    # IMMEDIATE transactions already serialise every writer.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {PipelineCount._meta.db_table} IN EXCLUSIVE MODE")


def _live_lead_buckets():
    return (
        Lead.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("stage", "owner_id", "source", "utm_campaign", "day")
        .annotate(total=Count("id"))
        .order_by()
    )


def rebuild_pipeline_counts() -> int:
    """Recount the summary from the leads table: the reference the incremental rows
    must agree with, and the repair if a writer ever forgot to record a change."""
    with transaction.atomic():
        _lock_pipeline_counts()
        PipelineCount.objects.all().delete()
        rows = [
            PipelineCount(
                stage=row["stage"],
                owner_id=row["owner_id"],
                source=row["source"],
                campaign=row["utm_campaign"],
                day=row["day"],
                n=row["total"],
            )
            for row in _live_lead_buckets().iterator(chunk_size=5000)
        ]
        PipelineCount.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


_COUNT_KEY_FIELDS = ("stage", "owner_id", "source", "campaign", "day")


def compact_pipeline_counts() -> int:
    """Fold each bucket's +1/−1 rows into one row; returns how many rows went away."""
    with transaction.atomic():
        _lock_pipeline_counts()
        dirty = list(
            PipelineCount.objects.values(*_COUNT_KEY_FIELDS)
            .annotate(rows=Count("id"), total=Sum("n"), last=Max("id"))
            .filter(Q(rows__gt=1) | Q(total=0))
            .order_by()
        )
        removed = 0
        for start in range(0, len(dirty), 200):
            chunk = dirty[start : start + 200]
            match = Q()
            for bucket in chunk:
                match |= Q(**{field: bucket[field] for field in _COUNT_KEY_FIELDS if field != "owner_id"}) & (
                    Q(owner_id=bucket["owner_id"]) if bucket["owner_id"] is not None else Q(owner_id__isnull=True)
                )
            removed += PipelineCount.objects.filter(match).delete()[0]
        PipelineCount.objects.bulk_create(
            [
                PipelineCount(**{field: bucket[field] for field in _COUNT_KEY_FIELDS}, n=bucket["total"])
                for bucket in dirty
                if bucket["total"]
            ],
            batch_size=2000,
        )
    return removed - sum(1 for bucket in dirty if bucket["total"])
