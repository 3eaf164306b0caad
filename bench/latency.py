"""Event → MQL alert latency under a steady load, through the real system.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/latency.py

Uses its own database (`funnel_bench_latency`, recreated each run; only the host and
credentials of DATABASE_URL are used) and the Redis database of REDIS_URL (flushed).
Starts gunicorn (2 workers) on BENCH_LATENCY_PORT (default 8201) and the Celery workers
of the Procfile (the main one, prefork with 2 processes; the ingest queue's, 2 processes or
BENCH_INGEST_CONCURRENCY), then for BENCH_SECONDS (60):

- a steady 500 events/s (batches of 50, from 2 senders every 200 ms) of page views, email opens and
  blog reads for 5,000 background leads;
- twice a second, one "probe" lead already at 46 points (a demo request and a pricing
  view, posted and scored before the run) gets one more pricing view (+6 → 52), which
  crosses the MQL threshold;
- a poller reads GET /api/v1/queue every 50 ms; a probe's latency runs from just
  before its POST to the first poll whose answer lists its alert.

Prints p50, p95 and max. Not part of the test suite.

Sweep: BENCH_LATENCY_RATES (default 250,500,1000,2000,4000) runs the load above at each
rate in turn for BENCH_SECONDS each (more senders and larger batches above 1,000/s),
waits for the backlog to drain between rates, and prints per rate p50/p95/max event →
alert and the leads still marked for rescoring when the load stopped, then the highest
rate whose p95 stayed ≤ 1 s.
"""

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_DB = os.environ.get("BENCH_LATENCY_DATABASE", "funnel_bench_latency")
PORT = int(os.environ.get("BENCH_LATENCY_PORT", "8201"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
RATES = [int(rate) for rate in os.environ.get("BENCH_LATENCY_RATES", "250,500,1000,2000,4000").split(",") if rate]
PROBES_PER_SECOND = 2
# The ingest worker's processes, as the Procfile runs it.
INGEST_PROCESSES = int(os.environ.get("BENCH_INGEST_CONCURRENCY", "2"))
BACKGROUND_LEADS = 5000


def urls() -> tuple[str, str, str]:
    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (its host and credentials are used).")
    redis = os.environ.get("REDIS_URL", "")
    if not redis.startswith("redis://"):
        sys.exit("Set REDIS_URL to a Redis database this benchmark may flush.")
    parts = urlparse(source)
    return parts._replace(path="/postgres").geturl(), parts._replace(path=f"/{BENCH_DB}").geturl(), redis


def run(command: list[str], env: dict) -> str:
    return subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def start(command: list[str], env: dict, log_name: str) -> subprocess.Popen:
    log = open(ROOT / "var" / log_name, "wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Client:
    """One keep-alive HTTP connection per thread."""

    def __init__(self, key: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body=None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=payload, headers=self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError, OSError):
                self.connection.close()
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def event(email: str, event_type: str, **properties) -> dict:
    return {"message_id": uuid.uuid4().hex, "type": event_type, "email": email, "properties": properties}


def background_batch(rng: random.Random, size: int = 50) -> list[dict]:
    kinds = [("page_view", {"url": "/blog/post"}), ("page_view", {"url": "/docs"}), ("email_opened", {})]
    batch = []
    for _ in range(size):
        kind, properties = rng.choice(kinds)
        batch.append(event(f"bg-{rng.randrange(BACKGROUND_LEADS)}@example.com", kind, **properties))
    return batch


def main() -> int:
    admin_url, db_url, redis_url = urls()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "funnel.settings",
        "FUNNEL_VAR_DIR": str(ROOT / "var" / "bench-latency"),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FUNNEL_API_RATE_LIMIT": "100000000",
        "LOG_LEVEL": "WARNING",
    }
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()
    print(f"Preparing {BENCH_DB} …", flush=True)
    run([PYTHON, "manage.py", "migrate", "-v", "0"], env)
    run([PYTHON, "-c", "import redis, os; redis.Redis.from_url(os.environ['REDIS_URL']).flushdb()"], env)
    run(
        [
            PYTHON,
            "-c",
            "import django; django.setup()\n"
            "from django.contrib.auth import get_user_model\n"
            "get_user_model().objects.create_superuser('bench', 'bench@example.com', 'bench-pass-123')\n",
        ],
        env,
    )
    key = run(
        [PYTHON, "manage.py", "create_api_key", "bench", "--scopes", "events:write,leads:read", "--user", "bench"], env
    ).splitlines()[-1]

    (ROOT / "var").mkdir(exist_ok=True)
    server = start(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "funnel.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        env,
        f"bench-latency-gunicorn-{PORT}.log",
    )
    # As the Procfile runs them: the rescore's worker, and the ingest processing's own.
    celery = [PYTHON, "-m", "celery", "-A", "funnel", "worker", "--loglevel=WARNING", "--pool=prefork"]
    worker = start([*celery, "--queues=celery", "--concurrency=2"], env, "bench-latency-worker.log")
    ingest = start(
        [*celery, "--queues=ingest", "--hostname=ingest@%h", f"--concurrency={INGEST_PROCESSES}"],
        env,
        "bench-latency-ingest.log",
    )
    database = psycopg2.connect(db_url)
    database.autocommit = True
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if Client(key).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit("gunicorn did not come up; see var/bench-latency-gunicorn-*.log")
            time.sleep(0.2)

        probes = [f"probe-{n}@example.com" for n in range(int(SECONDS * PROBES_PER_SECOND + 10) * len(RATES))]
        seeding = Client(key)
        for start_at in range(0, len(probes), 50):
            batch = []
            for email in probes[start_at : start_at + 50]:
                batch.append(event(email, "form_submitted", form="demo-request"))
                batch.append(event(email, "page_view", url="/pricing"))
            assert seeding.request("POST", "/api/v1/events", {"events": batch})[0] == 202
        print(f"Seeding {len(probes)} probe leads at 46 points …", flush=True)
        with database.cursor() as cursor:
            for _ in range(600):
                cursor.execute("SELECT count(*) FROM leads_lead WHERE email LIKE 'probe-%%' AND score = 46")
                if cursor.fetchone()[0] == len(probes):
                    break
                time.sleep(0.1)
            else:
                sys.exit("The probe leads were not scored; see var/bench-latency-worker.log")
        results = []
        per_rate = len(probes) // len(RATES)
        for index, rate in enumerate(RATES):
            results.append(run_at(rate, key, database, probes[index * per_rate : (index + 1) * per_rate]))
            print("  " + row_line(results[-1]), flush=True)
    finally:
        stop(ingest)
        stop(worker)
        stop(server)
        database.close()

    print()
    print(
        f"event → alert visible in GET /api/v1/queue, {SECONDS:.0f} s per rate, "
        f"gunicorn (2) + the worker (2 processes) + the ingest worker ({INGEST_PROCESSES})"
    )
    print(f"{'events/s':>9} {'sent/s':>8} {'late':>6} {'alerts':>9} ", end="")
    print(f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'backlog':>8}")
    best = None
    for row in results:
        print(row_line(row))
        if row["seen"] == row["posted"] and row["p95"] <= 1000:
            best = row["rate"]
    print(f"highest rate with p95 <= 1 s: {best or 'none'} events/s (goals: p95 <= 500 ms at 500/s, <= 1 s at 2,000/s)")
    return 0


def row_line(row: dict) -> str:
    return (
        f"{row['rate']:>9,} {row['sent_per_s']:>8,.0f} {row['late']:>6} {row['seen']:>4}/{row['posted']:<4} "
        f"{row['p50']:>8.0f} {row['p95']:>8.0f} {row['max']:>8.0f} {row['backlog']:>8,}"
    )


def pending_marks(database) -> int:
    with database.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM scoring_rescoremark WHERE generation > settled_generation")
        return cursor.fetchone()[0]


def run_at(rate: int, key: str, database, probes: list[str]) -> dict:
    """The load at `rate` events/s for SECONDS with PROBES_PER_SECOND crossings; the
    backlog is the leads still marked when the load stops. Drains before returning."""
    batch_size = 50 if rate <= 1000 else 100
    senders = max(2, rate // 500)
    stop_at = time.monotonic() + SECONDS
    sent = {"events": 0, "late_batches": 0}
    posted: dict[str, float] = {}
    seen: dict[str, float] = {}

    def load(seed: int):
        # Several senders, each at rate / senders, so one slow reply does not stall the rate.
        client, rng = Client(key), random.Random(seed)
        tick = time.monotonic()
        # Stop at the end of the period even when behind: `sent/s` then shows the rate reached.
        while tick < stop_at and time.monotonic() < stop_at:
            status, _ = client.request("POST", "/api/v1/events", {"events": background_batch(rng, batch_size)})
            assert status == 202, status
            sent["events"] += batch_size
            tick += batch_size * senders / rate
            pause = tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                sent["late_batches"] += 1

    def probe():
        client = Client(key)
        for email in probes:
            if time.monotonic() >= stop_at:
                break
            posted[email] = time.monotonic()
            status, _ = client.request("POST", "/api/v1/events", event(email, "page_view", url="/pricing"))
            assert status == 202, status
            time.sleep(max(0.0, posted[email] + 1 / PROBES_PER_SECOND - time.monotonic()))

    def poll():
        client = Client(key)
        while time.monotonic() < stop_at + 20 and (len(seen) < len(posted) or time.monotonic() < stop_at):
            status, body = client.request("GET", "/api/v1/queue?limit=200")
            now = time.monotonic()
            if status == 200:
                for alert in json.loads(body)["results"]:
                    email = alert["lead"]["email"] or ""
                    if email in posted and email not in seen:
                        seen[email] = now
            time.sleep(0.05)

    print(f"Running {rate} events/s for {SECONDS:.0f} s with {PROBES_PER_SECOND} crossings/s …", flush=True)
    threads = [threading.Thread(target=load, args=(seed + rate,)) for seed in range(senders)]
    threads += [threading.Thread(target=probe)]
    for thread in threads:
        thread.start()
    poller = threading.Thread(target=poll)
    poller.start()
    for thread in threads:
        thread.join()
    load_seconds = time.monotonic() - (stop_at - SECONDS)
    backlog = pending_marks(database)
    poller.join()
    drain_until = time.monotonic() + 60
    while pending_marks(database) and time.monotonic() < drain_until:
        time.sleep(0.5)
    latencies = sorted((seen[email] - posted[email]) * 1000 for email in seen) or [float("inf")]

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, round(share * (len(latencies) - 1)))]

    return {
        "rate": rate,
        "sent_per_s": sent["events"] / load_seconds,
        "late": sent["late_batches"],
        "posted": len(posted),
        "seen": len(seen),
        "p50": percentile(0.5),
        "p95": percentile(0.95),
        "max": latencies[-1],
        "backlog": backlog,
    }


if __name__ == "__main__":
    sys.exit(main())
