"""Ingest benchmark: the real server against a raw COPY, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python bench/ingest.py

Uses its own database (`funnel_bench`, recreated and migrated each run; only the host
and credentials of DATABASE_URL are used), starts gunicorn with 2 workers on
BENCH_PORT (default 8150), and measures:

1. batches: 200,000 events in batches of 500 posted by 2 concurrent client processes
   over loopback, end to end (validated, leads resolved, stored, deduplicated,
   marked for rescoring), timed in two halves: people mostly new, then mostly known;
2. the baseline: the same rows loaded with one psycopg2 `COPY` into a copy of the
   events table with the same indexes (`LIKE … INCLUDING ALL`, no foreign key);
   On PostgreSQL a request stores the events in the intake and a worker processes them
   after the answer (events/intake.py); the bench runs no worker while it posts, and
   after each half drains the intake in one process, timed: the processing rate;
3. single events: one event per request, against an authenticated no-op view on the
   same server (FUNNEL_BENCH_NOOP=1), and the cost of verifying an API key.

BENCH_WORKLOAD=known_leads runs issue 14's workload instead of 1.: BENCH_KNOWN_LEADS
(6,000) people are created first (one event each, processed, not timed), then
BENCH_EVENTS (default 60,000 there) events about them by email, in batches of 500
from 2 clients, timed in one phase; the COPY baseline copies those rows only.

Not part of the test suite: it prints figures, it asserts nothing about time.
"""

import io
import multiprocessing
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dj_database_url
import orjson
import psycopg2
import requests
from _server import start_gunicorn, stop_server  # noqa: E402 - bench/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_DB = os.environ.get("BENCH_DATABASE", "funnel_bench")
PORT = int(os.environ.get("BENCH_PORT", "8150"))
WORKLOAD = os.environ.get("BENCH_WORKLOAD", "mix")
if WORKLOAD not in ("mix", "known_leads"):
    sys.exit("BENCH_WORKLOAD is mix (the default) or known_leads.")
EVENTS = int(os.environ.get("BENCH_EVENTS", "200000" if WORKLOAD == "mix" else "60000"))
DRAIN_LABEL = "process" if os.environ.get("BENCH_DRAIN", "task") == "plain" else "task (+rescore)"
KNOWN_LEADS = int(os.environ.get("BENCH_KNOWN_LEADS", "6000"))
BATCH = 500
CLIENTS = 2
SINGLE_REQUESTS = int(os.environ.get("BENCH_SINGLE_REQUESTS", "4000"))
IDENTITIES = 20_000
HALVES = ("first half (people mostly new)", "second half (people mostly known)")
TYPES = ["page_view", "email_opened", "email_clicked", "form_submitted", "content_downloaded", "webinar_attended"]


def database_urls() -> tuple[dict, str]:
    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (its host and credentials are used).")
    parsed = dj_database_url.parse(source)
    auth = parsed["USER"] + (f":{parsed['PASSWORD']}" if parsed.get("PASSWORD") else "")
    url = f"postgres://{auth}@{parsed['HOST'] or '127.0.0.1'}:{parsed['PORT'] or 5432}/{BENCH_DB}"
    return parsed, url


def connect(parsed: dict, dbname: str):
    return psycopg2.connect(
        dbname=dbname,
        user=parsed["USER"],
        password=parsed.get("PASSWORD") or None,
        host=parsed["HOST"] or "127.0.0.1",
        port=parsed["PORT"] or 5432,
    )


def fresh_database(parsed: dict, env: dict) -> None:
    admin = connect(parsed, "postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def make_key(env: dict) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", "create_api_key", "bench", "--scopes", "events:write"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"create_api_key failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def start_server(env: dict) -> subprocess.Popen:
    return start_gunicorn(port=PORT, env=env, name="ingest", extra_args=())


def make_batches(client: int) -> list[bytes]:
    """Realistic traffic: 20k people, half known by an anonymous id, half by email;
    1% of events carry both (a visitor identifying), which merges or captures."""
    rng = random.Random(client)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    per_client = EVENTS // CLIENTS
    batches = []
    for first in range(0, per_client, BATCH):
        events = []
        for number in range(first, min(first + BATCH, per_client)):
            person = rng.randrange(IDENTITIES)
            event = {
                "message_id": f"c{client}-{number}",
                "type": rng.choice(TYPES),
                "occurred_at": (start + timedelta(seconds=number)).isoformat(),
                "properties": {"url": f"https://example.com/p/{rng.randrange(200)}", "campaign": "bench"},
            }
            if person % 2:
                event["anonymous_id"] = f"anon-{person}"
            else:
                event["email"] = f"person{person}@example.com"
            if rng.random() < 0.01:
                event["anonymous_id"] = f"anon-{person | 1}"
                event["email"] = f"person{person & ~1}@example.com"
            events.append(event)
        batches.append(orjson.dumps({"events": events}))
    return batches


def make_known_batches(client: int) -> list[bytes]:
    """Issue 14's workload: every event about one of KNOWN_LEADS people known by email."""
    rng = random.Random(100 + client)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    per_client = EVENTS // CLIENTS
    batches = []
    for first in range(0, per_client, BATCH):
        events = [
            {
                "message_id": f"k{client}-{number}",
                "type": rng.choice(TYPES),
                "occurred_at": (start + timedelta(seconds=number)).isoformat(),
                "email": f"known{rng.randrange(KNOWN_LEADS)}@example.com",
                "properties": {"url": f"https://example.com/p/{rng.randrange(200)}", "campaign": "bench"},
            }
            for number in range(first, min(first + BATCH, per_client))
        ]
        batches.append(orjson.dumps({"events": events}))
    return batches


def seed_known_leads(url: str, key: str, env: dict) -> None:
    """The known people, one identifying event each, processed before the timed phase."""
    start = datetime(2026, 10, 1, tzinfo=UTC)
    people = [
        {
            "message_id": f"seed-{n}",
            "type": "page_view",
            "email": f"known{n}@example.com",
            "occurred_at": start.isoformat(),
        }
        for n in range(KNOWN_LEADS)
    ]
    session = requests.Session()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for first in range(0, len(people), BATCH):
        response = session.post(url, data=orjson.dumps({"events": people[first : first + BATCH]}), headers=headers)
        response.raise_for_status()
    drain_intake(env)


def post_all(args) -> tuple[int, int, float]:
    url, key, bodies = args
    session = requests.Session()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    accepted = failures = 0
    began = time.perf_counter()
    for body in bodies:
        response = session.post(url, data=body, headers=headers, timeout=120)
        if response.status_code in (200, 202):
            accepted += response.json().get("accepted", 1) if response.status_code == 202 else 1
        else:
            failures += 1
            print(f"  {response.status_code}: {response.text[:200]}", file=sys.stderr)
    return accepted, failures, time.perf_counter() - began


def run_clients(url: str, key: str, per_client: list[list[bytes]]) -> tuple[int, int, float]:
    with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
        began = time.perf_counter()
        results = pool.map(post_all, [(url, key, bodies) for bodies in per_client])
        elapsed = time.perf_counter() - began
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed


def drain_intake(env: dict) -> tuple[int, float]:
    """Process what the intake holds in one process, as the ingest worker's task does
    (claims, then each claim's leads rescored), without Celery; BENCH_DRAIN=plain
    processes without rescoring (process_all_incoming_events)."""
    if os.environ.get("BENCH_DRAIN", "task") == "plain":
        work = "count = process_all_incoming_events()\n"
    else:
        work = "count = 0\nwhile done := process_incoming_for_a_while(seconds=3600):\n    count += done\n"
    script = (
        "import time, django; django.setup()\n"
        "from events.processing import process_all_incoming_events, process_incoming_for_a_while\n"
        "began = time.perf_counter()\n" + work + "print(count, time.perf_counter() - began)\n"
    )
    out = subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    count, seconds = out.stdout.split()[-2:]
    return int(count), float(seconds)


def copy_baseline(parsed: dict, *, where: str = "true") -> tuple[int, float]:
    connection = connect(parsed, BENCH_DB)
    with connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_events_copy")
        cursor.execute("CREATE TABLE bench_events_copy (LIKE events_engagementevent INCLUDING ALL)")
        buffer = io.StringIO()
        cursor.copy_expert(
            "COPY (SELECT message_id, lead_id, type, occurred_at, received_at, properties, source, api_key_id "
            f"FROM events_engagementevent WHERE {where} ORDER BY id) TO STDOUT",
            buffer,
        )
    rows = buffer.getvalue().count("\n")
    buffer.seek(0)
    with connection, connection.cursor() as cursor:
        began = time.perf_counter()
        cursor.copy_expert(
            "COPY bench_events_copy (message_id, lead_id, type, occurred_at, received_at, properties, source,"
            " api_key_id) FROM STDIN",
            buffer,
        )
    elapsed = time.perf_counter() - began  # the commit is inside: `with connection` committed
    with connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_events_copy")
    connection.close()
    return rows, elapsed


def single_events(url: str, key: str, prefix: str) -> tuple[float, int]:
    per_client = [
        [
            orjson.dumps({"message_id": f"{prefix}-{c}-{i}", "type": "page_view", "anonymous_id": f"anon-{i % 500}"})
            for i in range(SINGLE_REQUESTS // CLIENTS)
        ]
        for c in range(CLIENTS)
    ]
    _, failures, elapsed = run_clients(url, key, per_client)
    return SINGLE_REQUESTS / elapsed, failures


def key_verification_cost(env: dict, key: str) -> float:
    code = (
        "import time, django; django.setup()\n"
        "from events.auth import find_api_key\n"
        f"key = {key!r}\n"
        "find_api_key(key)\n"
        "n = 2000; t = time.perf_counter()\n"
        "for _ in range(n): find_api_key(key)\n"
        "print((time.perf_counter() - t) / n * 1000)\n"
    )
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parsed, url = database_urls()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "funnel.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FUNNEL_BENCH_NOOP": "1",
        "FUNNEL_API_RATE_LIMIT": "100000000",
        "LOG_LEVEL": "WARNING",
    }
    print(f"Preparing database {BENCH_DB} …", flush=True)
    fresh_database(parsed, env)
    key = make_key(env)
    print("Generating payloads …", flush=True)
    known = WORKLOAD == "known_leads"
    per_client = [(make_known_batches if known else make_batches)(client) for client in range(CLIENTS)]
    server = start_server(env)
    try:
        base = f"http://127.0.0.1:{PORT}/api/v1"
        if known:
            print(f"Creating {KNOWN_LEADS:,} known leads (not timed) …", flush=True)
            seed_known_leads(f"{base}/events", key, env)
        print(f"Posting {EVENTS:,} events in batches of {BATCH} from {CLIENTS} clients …", flush=True)
        # The mix in two halves, timed apart: in the first most people are new (leads
        # created, visitors identified and merged), in the second most are known.
        parts = [slice(None)] if known else [slice(None, len(per_client[0]) // 2), slice(len(per_client[0]) // 2, None)]
        halves, drains = [], []
        for part in parts:
            halves.append(run_clients(f"{base}/events", key, [bodies[part] for bodies in per_client]))
            drains.append(drain_intake(env))
        accepted = sum(half[0] for half in halves)
        failures = sum(half[1] for half in halves)
        api_seconds = sum(half[2] for half in halves)
        rows, copy_seconds = copy_baseline(parsed, where="message_id NOT LIKE 'seed-%'" if known else "true")
        print(f"Single events: {SINGLE_REQUESTS:,} requests each …", flush=True)
        noop_rate, noop_failures = single_events(f"{base}/bench/noop", key, "noop")
        single_rate, single_failures = single_events(f"{base}/events", key, "single")
    finally:
        stop_server(server)
    auth_ms = key_verification_cost(env, key)

    check = connect(parsed, BENCH_DB)
    with check.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT message_id) FROM events_engagementevent")
        stored, distinct = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM leads_lead WHERE merged_into_id IS NULL")
        (leads,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM scoring_rescoremark")
        (marks,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM events_incomingevent")
        (waiting,) = cursor.fetchone()
    check.close()

    api_rate = accepted / api_seconds
    copy_rate = rows / copy_seconds
    print()
    print(f"{'what':<52} {'figure':>14}")
    print("-" * 67)
    print(f"{'batches through the API (gunicorn 2 workers), rows/s':<52} {api_rate:>14,.0f}")
    labels = [f"known leads ({KNOWN_LEADS:,}), all events by email"] if known else HALVES
    for label, (half_accepted, _, half_seconds), (processed, seconds) in zip(labels, halves, drains, strict=True):
        print(f"{'  ' + label + ', rows/s':<52} {half_accepted / half_seconds:>14,.0f}")
        if processed:
            print(f"{'    then processed by one ' + DRAIN_LABEL + ', rows/s':<52} {processed / seconds:>14,.0f}")
    print(f"{'raw COPY into a copy of the events table, rows/s':<52} {copy_rate:>14,.0f}")
    print(f"{'ratio API / COPY (goal ≥ 0.5)':<52} {api_rate / copy_rate:>14.2f}")
    print(f"{'single event per request, req/s':<52} {single_rate:>14,.0f}")
    print(f"{'authenticated no-op view, req/s':<52} {noop_rate:>14,.0f}")
    print(f"{'ratio single / no-op (goal ≥ 0.5)':<52} {single_rate / noop_rate:>14.2f}")
    print(f"{'verifying an API key, ms (goal < 1)':<52} {auth_ms:>14.3f}")
    print("-" * 67)
    print(
        f"accepted {accepted:,} of {EVENTS:,} batch events; stored {stored:,} rows ({distinct:,} distinct message ids);"
        f" {leads:,} live leads; {marks:,} rescore marks; {waiting:,} events left in the intake;"
        f" failed requests: {failures + noop_failures + single_failures}"
    )
    print(f"workload: {WORKLOAD}; machine: {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
