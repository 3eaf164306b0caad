"""Synthetic load for benchmarks and capacity checks (`manage.py generate_load`).

Rows are written with PostgreSQL's COPY where available (bulk_create elsewhere); every
lead gets its creation transition so the lifecycle's invariant holds at any size.
"""

import io
import random
from datetime import timedelta

import orjson
from django.db import connection, transaction
from django.utils import timezone

from events.models import EngagementEvent, EventSource
from leads.actors import Actor
from leads.lifecycle import create_leads

EVENT_MIX = [
    ("page_view", {"url": "https://funnel.example/blog/scoring", "title": "blog"}),
    ("page_view", {"url": "https://funnel.example/pricing", "title": "pricing"}),
    ("email_opened", {"campaign": "newsletter"}),
    ("email_clicked", {"campaign": "newsletter", "url": "https://funnel.example/pricing"}),
    ("content_downloaded", {"asset": "ebook-playbook"}),
    ("form_submitted", {"form": "newsletter"}),
    ("webinar_attended", {"webinar": "scoring-masterclass"}),
    ("ad_clicked", {"campaign": "retargeting-q3"}),
]


def _copy(table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_value(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def generate_load(*, leads: int, events: int, seed: int = 1, chunk: int = 50_000, progress=None) -> dict[str, int]:
    rng = random.Random(seed)
    now = timezone.now()
    run_tag = f"load{seed}-{now.timestamp():.0f}"
    lead_ids: list[int] = []
    for start in range(0, leads, chunk):
        size = min(chunk, leads - start)
        with transaction.atomic():
            created = create_leads(
                [
                    {
                        "email": f"{run_tag}-{start + offset}@load.funnel.test",
                        "first_name": "Load",
                        "last_name": str(start + offset),
                        "company": f"Company {rng.randint(1, 5000)}",
                        "job_title": rng.choice(["VP Marketing", "Analyst", "Head of Sales", "Engineer"]),
                        "source": rng.choice(["website", "webinar", "paid_search", "referral"]),
                        "utm_campaign": rng.choice(["spring-launch", "pricing-push", ""]),
                        "created_at": now - timedelta(days=rng.uniform(0, 90)),
                    }
                    for offset in range(size)
                ],
                actor=Actor.system("generate_load"),
                batch_size=5000,
            )
            ids = [lead.pk for lead in created]
            lead_ids.extend(ids)
        if progress:
            progress("leads", len(lead_ids), leads)
    written = 0
    for start in range(0, events, chunk):
        size = min(chunk, events - start)
        batch = []
        for offset in range(size):
            kind, properties = rng.choice(EVENT_MIX)
            occurred = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            batch.append((f"{run_tag}-e{start + offset}", rng.choice(lead_ids), kind, occurred, properties))
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _copy(
                    EngagementEvent._meta.db_table,
                    ["message_id", "lead_id", "type", "occurred_at", "received_at", "properties", "source"],
                    (
                        (mid, lead_id, kind, occurred.isoformat(), now.isoformat(), orjson.dumps(props).decode(), "api")
                        for mid, lead_id, kind, occurred, props in batch
                    ),
                )
            else:
                EngagementEvent.objects.bulk_create(
                    [
                        EngagementEvent(
                            message_id=mid,
                            lead_id=lead_id,
                            type=kind,
                            occurred_at=occurred,
                            received_at=now,
                            properties=props,
                            source=EventSource.API,
                        )
                        for mid, lead_id, kind, occurred, props in batch
                    ],
                    batch_size=5000,
                )
        written += size
        if progress:
            progress("events", written, events)
    if connection.vendor == "postgresql":
        # Fresh statistics: without them the planner judges millions of new rows by the
        # empty tables it saw before, and pages look 5-10x slower than they are.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"leads": len(lead_ids), "events": written}
