"""Full rescore: Funnel's real task code against one hand-written SQL statement.

100,000 leads and 1,000,000 events are loaded with COPY into a database of their own
(dropped and created by this script). The scores are first brought to a steady state
(every lead scored, those at 50+ already MQL), then a rule changes (pricing-page views
+6 → +7) and we time:

- funnel: the `scoring.run_rescore_job` task run in this process until the job is done
  (batches of FUNNEL_RESCORE_JOB_BATCH leads: rows locked, one set-based statement per
  batch that also stores changed scores with their history, MQL crossings acted on);
- baseline: one hand-written SQL statement computing every lead's score under the same
  rules (caps and decay included), run through plain psycopg2, rows fetched.

Usage: python bench/rescore.py [--leads 100000] [--events 1000000] [--server URL]
The server defaults to DATABASE_URL's (or postgres://postgres@127.0.0.1:5432).
"""

import argparse
import io
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# BENCH_DATABASE names another database, so two people can run it side by side.
BENCH_DB = os.environ.get("BENCH_DATABASE", "funnel_bench_rescore")

BASELINE_SQL = """
WITH rules (rule, type, points, cap, half_life) AS (VALUES
    ('demo', 'form_submitted', 40, 1, 30.0), ('contact', 'form_submitted', 20, 1, 30.0),
    ('pricing', 'page_view', 7, 3, 30.0), ('blog', 'page_view', 1, 5, 30.0),
    ('careers', 'page_view', -10, 1, 30.0), ('download', 'content_downloaded', 10, 2, 30.0),
    ('webinar', 'webinar_attended', 15, 1, 30.0), ('click', 'email_clicked', 3, 3, 30.0),
    ('unsubscribed', 'unsubscribed', -20, 1, 90.0)),
hits AS (
    SELECT e.lead_id, e.id, e.occurred_at, r.rule, r.points, r.cap, r.half_life
    FROM events_engagementevent e JOIN rules r ON r.type = e.type
    WHERE e.occurred_at <= %(now)s AND CASE r.rule
        WHEN 'demo' THEN e.properties ->> 'form' = 'demo-request'
        WHEN 'contact' THEN e.properties ->> 'form' = 'contact'
        WHEN 'pricing' THEN position('/pricing' in lower(e.properties ->> 'url')) > 0
        WHEN 'blog' THEN position('/blog' in lower(e.properties ->> 'url')) > 0
        WHEN 'careers' THEN position('/careers' in lower(e.properties ->> 'url')) > 0
                         OR position('/jobs' in lower(e.properties ->> 'url')) > 0
        ELSE true END),
ranked AS (
    SELECT h.*, row_number() OVER (
        PARTITION BY h.lead_id, h.rule, (h.occurred_at AT TIME ZONE 'UTC')::date ORDER BY h.occurred_at, h.id) AS n
    FROM hits h),
behaviour AS (
    SELECT lead_id, sum(points * power(0.5::float8,
        extract(epoch from (%(now)s - occurred_at))::float8 / 86400.0 / half_life)) AS value
    FROM ranked WHERE n <= cap GROUP BY lead_id),
fit AS (
    SELECT id AS lead_id,
        CASE WHEN job_title ~* '(vp|vice president|head|chief|director)' THEN 15 ELSE 0 END
        + CASE WHEN company_size >= 50 THEN 10 ELSE 0 END
        + CASE WHEN position('@competitor.example' in lower(coalesce(email, ''))) > 0 THEN -50 ELSE 0 END AS value
    FROM leads_lead)
SELECT f.lead_id, greatest(0, floor(coalesce(b.value, 0) + f.value + 0.5))::int AS score
FROM fit f LEFT JOIN behaviour b ON b.lead_id = f.lead_id
"""

TITLES = ["Analyst", "Engineer", "VP Marketing", "Head of Sales", "Marketing Manager", "Director of IT", "CEO"]
COUNTRIES = ["Germany", "France", "United States", "United Kingdom", "Spain"]
PAGES = ["/pricing", "/pricing/teams", "/blog/post-1", "/blog/post-2", "/docs", "/", "/careers", "/features"]
FORMS = ["demo-request", "contact", "newsletter"]
EVENT_TYPES = [
    ("page_view", 70),
    ("email_opened", 8),
    ("email_clicked", 8),
    ("form_submitted", 5),
    ("content_downloaded", 4),
    ("webinar_attended", 2),
    ("identify", 2),
    ("unsubscribed", 1),
]


def server_url(arg: str | None) -> str:
    url = arg or os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    if not url.startswith("postgres"):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return url


def with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    import psycopg2

    admin = psycopg2.connect(with_database(url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()


def csv_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    return '"' + str(value).replace('"', '""') + '"'


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(csv_value(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def model_rows(model, count: int, make):
    """Rows for every concrete column: `make(n)` gives the interesting values, the
    model's defaults fill in the rest (computed once, not per row)."""
    fields = model._meta.concrete_fields
    defaults = {}
    for field in fields:
        default = field.get_default()
        defaults[field.column] = default
    columns = [field.column for field in fields]

    def rows():
        for n in range(count):
            values = make(n)
            yield [values.get(column, defaults[column]) for column in columns]

    return columns, rows()


def load(connection, *, leads: int, events: int, now: datetime, seed: int = 7) -> None:
    from events.models import EngagementEvent
    from leads.models import Lead

    rng = random.Random(seed)
    started = time.perf_counter()
    raw = connection.connection
    with raw.cursor() as cursor:
        columns, rows = model_rows(
            Lead,
            leads,
            lambda n: {
                "id": n + 1,
                "email": f"lead{n + 1}@example.com" if n % 5 else None,
                "anonymous_id": None if n % 5 else f"anon-{n + 1}",
                "job_title": rng.choice(TITLES),
                "country": rng.choice(COUNTRIES),
                "company_size": rng.choice([None, 5, 20, 80, 500]),
                "stage": "lead_gen" if n % 5 else "demand_gen",
                "stage_entered_at": now - timedelta(days=100),
                "created_at": now - timedelta(days=100),
                "updated_at": now,
            },
        )
        copy_rows(cursor, "leads_lead", columns, rows)
        cursor.execute("SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), %s)", [leads])
        types = [name for name, weight in EVENT_TYPES for _ in range(weight)]

        def event(n):
            event_type = rng.choice(types)
            properties = {}
            if event_type == "page_view":
                properties = {"url": "https://example.com" + rng.choice(PAGES)}
            elif event_type == "form_submitted":
                properties = {"form": rng.choice(FORMS)}
            return {
                "id": n + 1,
                "message_id": f"bench-{n + 1}",
                "lead_id": rng.randint(1, leads),
                "type": event_type,
                "occurred_at": now - timedelta(seconds=rng.randint(0, 90 * 86400)),
                "received_at": now,
                "properties": properties,
            }

        # Chunks of COPY keep the buffer small; the log is in time order as real logs are.
        for start in range(0, events, 200_000):
            count = min(200_000, events - start)
            chunk = sorted((event(start + i) for i in range(count)), key=lambda row: row["occurred_at"])
            for offset, row in enumerate(chunk):
                row["id"] = start + offset + 1
            columns, rows = model_rows(EngagementEvent, count, lambda i, chunk=chunk: chunk[i])
            copy_rows(cursor, "events_engagementevent", columns, rows)
        cursor.execute("SELECT setval(pg_get_serial_sequence('events_engagementevent', 'id'), %s)", [events])
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE events_engagementevent")
    raw.commit()
    print(f"loaded {leads:,} leads and {events:,} events with COPY in {time.perf_counter() - started:.1f} s")


def baseline_scores(dsn: str, now: datetime) -> tuple[dict[int, int], float]:
    import psycopg2

    connection = psycopg2.connect(dsn)
    try:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(BASELINE_SQL, {"now": now})
            rows = cursor.fetchall()
            elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return dict(rows), elapsed


def baseline_store(dsn: str, now: datetime) -> float:
    """The same statement storing what changed (UPDATE … FROM), rolled back afterwards:
    the like-for-like figure for a rescore that writes scores."""
    import psycopg2

    connection = psycopg2.connect(dsn)
    try:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(
                f"WITH scores AS ({BASELINE_SQL}) UPDATE leads_lead l SET score = s.score "
                "FROM scores s WHERE s.lead_id = l.id AND l.score <> s.score",
                {"now": now},
            )
            elapsed = time.perf_counter() - started
        connection.rollback()
    finally:
        connection.close()
    return elapsed


def steady_state(dsn: str, now: datetime) -> None:
    """Every lead scored under the current rules; identified leads at 50+ already MQL
    (their crossing happened before), as in a running system before a rule change."""
    import psycopg2

    sql = BASELINE_SQL.replace("'pricing', 'page_view', 7", "'pricing', 'page_view', 6")
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            f"WITH scores AS ({sql}) UPDATE leads_lead l SET score = s.score, "
            "stage = CASE WHEN s.score >= 50 AND l.email IS NOT NULL THEN 'mql' ELSE l.stage END, "
            "mql_armed = NOT (s.score >= 50 AND l.email IS NOT NULL), "
            "mql_crossings = CASE WHEN s.score >= 50 AND l.email IS NOT NULL THEN 1 ELSE 0 END "
            "FROM scores s WHERE s.lead_id = l.id",
            {"now": now},
        )
    connection.close()
    vacuum = psycopg2.connect(dsn)
    vacuum.autocommit = True
    with vacuum.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
    vacuum.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--server", default=None)
    parser.add_argument("--reuse", action="store_true", help="Keep the database a previous run loaded.")
    args = parser.parse_args()

    server = server_url(args.server)
    dsn = with_database(server, BENCH_DB)
    if not args.reuse:
        recreate_database(server)
    os.environ["DATABASE_URL"] = dsn
    os.environ.pop("REDIS_URL", None)  # no broker traffic into anyone's Redis database
    os.environ.setdefault("FUNNEL_VAR_DIR", str(ROOT / "var" / "bench-rescore"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "funnel.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from scoring.models import RescoreJob, ScoreChange, ScoringRule
    from scoring.rules import update_rule
    from scoring.tasks import run_rescore_job

    now = timezone.now()
    if not args.reuse:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrated {BENCH_DB} in {time.perf_counter() - started:.1f} s")
        load(connection, leads=args.leads, events=args.events, now=now)
    else:
        # Back to the rules before the change, without a job (the bench database only).
        ScoringRule.objects.filter(label="Pricing page view").update(points=6)
        RescoreJob.objects.all().delete()
    steady_state(dsn, now)

    pricing = ScoringRule.objects.get(label="Pricing page view")
    store_seconds = baseline_store(dsn, timezone.now())
    update_rule(rule=pricing, changes={"points": 7})
    job = RescoreJob.objects.order_by("-id").first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sales_salesalert")
        alerts_before = cursor.fetchone()[0]

    spent = {"statement": 0.0, "locks": 0.0, "other": 0.0}
    counts = {"statement": 0, "locks": 0, "other": 0}

    def where_the_time_goes(execute, sql, params, many, context):
        kind = "statement" if sql.startswith("WITH rules") else "locks" if sql.endswith("FOR UPDATE") else "other"
        begun = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[kind] += time.perf_counter() - begun
            counts[kind] += 1

    started = time.perf_counter()
    with connection.execute_wrapper(where_the_time_goes):
        while True:
            run_rescore_job.apply(args=[job.pk])
            job.refresh_from_db()
            if job.status in ("done", "superseded"):
                break
    funnel_seconds = time.perf_counter() - started

    expected, baseline_seconds = baseline_scores(dsn, timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, score FROM leads_lead")
        stored = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM sales_salesalert")
        alerts = cursor.fetchone()[0] - alerts_before
    changed = ScoreChange.objects.filter(cause__startswith=f"rules changed (job {job.pk})").count()
    exact = sum(1 for lead_id, score in expected.items() if stored.get(lead_id) == score)
    close = sum(1 for lead_id, score in expected.items() if abs(stored.get(lead_id, -99) - score) <= 1)

    print()
    print(f"full rescore after a rule change, {args.leads:,} leads / {args.events:,} events, PostgreSQL")
    print(f"{'path':<58} {'seconds':>8}")
    print(f"{'funnel: scoring.run_rescore_job task (real code)':<58} {funnel_seconds:8.2f}")
    print(f"{'baseline: one hand-written SQL statement via psycopg2':<58} {baseline_seconds:8.2f}")
    print(f"{'ratio funnel / baseline (target <= 2.0)':<58} {funnel_seconds / baseline_seconds:8.2f}")
    print(f"{'baseline storing the changed scores (UPDATE … FROM)':<58} {store_seconds:8.2f}")
    print(f"{'ratio funnel / storing baseline':<58} {funnel_seconds / store_seconds:8.2f}")
    print(
        f"where the job's time went: scoring statements {spent['statement']:.2f} s ({counts['statement']}), "
        f"row locks {spent['locks']:.2f} s ({counts['locks']}), other queries (crossings: moves, transitions, "
        f"alerts; the job's bookkeeping) {spent['other']:.2f} s ({counts['other']}), Python and commits "
        f"{funnel_seconds - sum(spent.values()):.2f} s"
    )
    print(
        f"batch {settings.FUNNEL_RESCORE_JOB_BATCH:,} leads; {changed:,} scores changed (history rows written); "
        f"{alerts:,} new MQL crossings handled; scores equal to the baseline: {exact:,}/{len(expected):,} "
        f"(within 1 point: {close:,}; the two ran seconds apart, so decay differs slightly)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
