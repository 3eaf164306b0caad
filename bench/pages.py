"""Pages and API reads at scale: the real server against raw baselines, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python bench/pages.py [--full]

Size: 100k leads / 1M events by default (`make bench` stays short); `--full` (or
FUNNEL_BENCH_SIZE=full) loads GOALS.md's 1M leads / 10M events; `--leads/--events`
set any size. The script uses a database of its own (`funnel_bench_pages`, dropped
and created unless `--reuse` finds it filled; only the host and credentials of
DATABASE_URL are used), then:

1. fills it: `migrate`, `generate_load` (COPY + ANALYZE), `seed_demo` (the demo users
   and 2,400 leads with stage histories, deals, activities and open alerts, so the
   queue and the detail pages have real rows), `refresh_analytics` (the report's
   summary tables), and one real rescore of the two demo leads whose pages we read;
2. signs marketer and manager in through Django's session store (no password posted)
   and makes an API key for the manager (`leads:read` to read, `events:write` for the
   authenticated no-op baseline);
3. starts gunicorn (2 workers) on BENCH_PAGES_PORT (default 8711) and, for every page
   and API read, makes warm-up requests then ~50 timed ones, one at a time;
4. counts each endpoint's queries in-process (Django's test Client against the same
   database, CaptureQueriesContext) at two page sizes or row counts: the count must
   not move;
5. baselines in the same run: `/healthz` (no auth, SELECT 1), an authenticated no-op
   on the same server (`/` for a session: login check and redirect; POST
   /api/v1/bench/noop for a key), and the page's own SQL replayed through plain
   psycopg2 (all of its queries, and its main query for the list pages);
6. deep pages: the lead list's page 5,000 (cursor built exactly as leads.selectors
   builds it, checked against the cursor the app hands out) against page 1;
7. totals: EXPLAIN ANALYZE of the board's counts query (the summary table, not the
   leads) against a full COUNT(*) … GROUP BY stage over the leads.

Run time on this 2-core machine: quick ~4 min from scratch; full ~38 min from scratch
(generate_load alone ~29 min, seed_demo ~3 min, refresh_analytics ~1 min) and ~6 min
with `--full --reuse` once the database is filled.

Not part of the test suite: it prints figures, it asserts nothing about time.
"""

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from _server import start_gunicorn, stop_server  # noqa: E402 - bench/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

BENCH_DB = os.environ.get("BENCH_PAGES_DATABASE", "funnel_bench_pages")
PORT = int(os.environ.get("BENCH_PAGES_PORT", "8711"))
SIZES = {"quick": (100_000, 1_000_000), "full": (1_000_000, 10_000_000)}
GOAL_P95_MS = 150.0
DEEP_PAGE = 5_000
PAGE_SIZE = 50  # the lead list's page (leads.selectors.lead_page, the API's default limit)
ENDPOINT_BUDGET_S = 60.0  # a pathological endpoint stops early instead of stalling the run
SECRET_KEY = "bench-pages-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


# --- Setup ------------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="GOALS.md's size: 1M leads / 10M events")
    parser.add_argument("--quick", action="store_true", help="100k leads / 1M events (the default)")
    parser.add_argument("--leads", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep an already filled benchmark database")
    args = parser.parse_args()
    size = "full" if args.full or (os.environ.get("FUNNEL_BENCH_SIZE") == "full" and not args.quick) else "quick"
    leads, events = SIZES[size]
    args.leads = args.leads or leads
    args.events = args.events or events
    args.size = size if (args.leads, args.events) == SIZES[size] else "custom"
    return args


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (its host and credentials are used).")
    return url


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def psycopg_connect(url: str):
    import psycopg2

    return psycopg2.connect(url)


def database_is_filled(url: str, leads: int) -> bool:
    import psycopg2

    try:
        connection = psycopg2.connect(with_database(url, BENCH_DB))
    except psycopg2.OperationalError:
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('leads_lead') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return False
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'leads_lead'")
            # The size asked for (plus the 2,400 demo leads), not a bigger or smaller load.
            return 0.9 * leads <= cursor.fetchone()[0] <= 1.1 * leads + 5_000
    finally:
        connection.close()


def recreate_database(url: str) -> None:
    admin = psycopg_connect(with_database(url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()


def manage(env: dict, *args: str, quiet: bool = False) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=quiet)
    if result.returncode != 0:
        if quiet:
            sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"manage.py {' '.join(args)} failed (exit {result.returncode})")
    return result.stdout if quiet else ""


def step(label: str, action):
    print(f"  {label} …", end="", flush=True)
    began = time.perf_counter()
    value = action()
    elapsed = time.perf_counter() - began
    print(f" {elapsed:,.1f} s", flush=True)
    return value, elapsed


def start_server(env: dict) -> subprocess.Popen:
    return start_gunicorn(port=PORT, env=env, name="pages", extra_args=("--timeout", "120"))


# --- In-process preparation (Django set up on the benchmark database) --------------------


def prepare_people():
    """Sessions made directly in the session store, and the manager's API key."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    from events.models import ApiKey

    engine = import_module(settings.SESSION_ENGINE)
    users = {user.username: user for user in get_user_model().objects.filter(username__in=["marketer", "manager"])}
    sessions = {}
    for name, user in users.items():
        session = engine.SessionStore()
        session[SESSION_KEY] = str(user.pk)
        # The backend a password login records (the first entry is django-axes' guard, which
        # only refuses and cannot load a user).
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        sessions[name] = session.session_key
    ApiKey.objects.filter(name="bench-pages").delete()
    return users, sessions


def pick_leads(marketer) -> dict:
    """The leads whose pages we read: a generated one (a needle among millions of
    events), and a demo lead with the longest history and one with the shortest
    (same stage family, both scored) for the query counts."""
    from django.db.models import Count

    from funnel.demo_data import DEMO_DOMAIN
    from leads import selectors

    demo = (
        selectors.leads_visible_to(marketer)
        .filter(email__iendswith=f"@{DEMO_DOMAIN}", stage__in=["sal", "sql"])
        .annotate(event_count=Count("events"))
    )
    rich = demo.order_by("-event_count", "id").values_list("pk", flat=True).first()
    sparse = demo.order_by("event_count", "id").values_list("pk", flat=True).first()
    generated = (
        selectors.leads_visible_to(marketer)
        .filter(email__endswith="@load.funnel.test")
        .order_by("id")
        .values_list("pk", flat=True)[1000]
    )
    return {"rich": rich, "sparse": sparse, "generated": generated}


def deep_cursor(marketer, page: int) -> tuple[str, str]:
    """The cursor that opens page `page` of the default list (-created), signed as
    leads.selectors.lead_page signs it: the last row of the previous page."""
    from django.core import signing

    from leads import selectors

    ordered = selectors.filtered_leads(user=marketer).order_by("-created_at", "-id")
    created_at, lead_id = ordered.values_list("created_at", "id")[(page - 1) * PAGE_SIZE - 1]
    return signing.dumps([created_at.isoformat(), lead_id], salt="leads.list"), created_at.isoformat()


def app_cursor_for_page_two(client) -> str:
    from urllib.parse import parse_qs

    response = client.get("/api/v1/leads", {"limit": PAGE_SIZE})
    next_link = response.json()["next"]
    return parse_qs(urlparse(next_link).query)["cursor"][0]


def capture(client, url: str, headers: dict, method: str = "get"):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        response = getattr(client, method)(url, **headers)
    if response.status_code >= 400:
        raise SystemExit(f"in-process {url} answered {response.status_code}: {response.content[:300]!r}")
    return [query["sql"] for query in context.captured_queries]


# --- Timing -----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def time_requests(session, url: str, *, headers: dict, n: int, warmup: int, method: str = "GET", ok=(200,)):
    timings = []
    deadline = time.monotonic() + ENDPOINT_BUDGET_S
    for number in range(warmup + n):
        began = time.perf_counter()
        response = session.request(method, url, headers=headers, allow_redirects=False, timeout=120)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code not in ok:
            raise SystemExit(f"{method} {url} answered {response.status_code}: {response.text[:300]}")
        if number >= warmup:
            timings.append(elapsed)
        if time.monotonic() > deadline and len(timings) >= 5:
            break
    return timings


def time_sql(connection, statements: list[str], repeats: int) -> list[float]:
    """Each repetition runs every statement once and fetches its rows: the page's
    database work without Django, in ms."""
    timings = []
    deadline = time.monotonic() + ENDPOINT_BUDGET_S / 4
    with connection.cursor() as cursor:
        for _ in range(repeats):
            if len(timings) >= 3 and time.monotonic() > deadline:
                break
            began = time.perf_counter()
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
            timings.append((time.perf_counter() - began) * 1000)
    connection.rollback()
    return timings


def is_session_or_auth(sql: str) -> bool:
    """Who is asking: the session, the user, their groups (role), the API key. A page's
    own statements may join auth_user for an owner; those stay."""
    return bool(
        re.search(r'FROM "(django_session|auth_group|events_apikey)"', sql)
        or 'FROM "auth_user" WHERE' in sql
        or sql.startswith('UPDATE "events_apikey"')
    )


def slowest_statement(connection, statements: list[str]) -> tuple[float, str]:
    slowest = (0.0, "")
    for sql in statements:
        time_sql(connection, [sql], 1)
        slowest = max(slowest, (statistics.median(time_sql(connection, [sql], 5)), sql))
    return slowest


def main() -> int:
    args = parse_args()
    source = server_url()
    bench_url = with_database(source, BENCH_DB)
    var_dir = ROOT / "var" / "bench-pages"
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DJANGO_SETTINGS_MODULE": "funnel.settings",
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "FUNNEL_BENCH_NOOP": "1",
        "FUNNEL_API_RATE_LIMIT": "100000000",
        "FUNNEL_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        # Work a request enqueues (webhooks) stays in the database; nothing is sent.
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    started = time.perf_counter()
    print(
        f"Pages benchmark, size {args.size}: {args.leads:,} leads / {args.events:,} events, "
        f"database {BENCH_DB}, gunicorn 2 workers on :{PORT}",
        flush=True,
    )
    setup_times = {}
    reuse = args.reuse and database_is_filled(source, args.leads)
    if reuse:
        print("  reusing the filled database", flush=True)
    else:
        step("create database", lambda: recreate_database(source))
    # Migrating a reused database keeps it in step with the code; seed_demo is idempotent.
    step("migrate", lambda: manage(env, "migrate", "-v", "0"))
    if not reuse:
        _, setup_times["generate_load"] = step(
            f"generate_load --leads {args.leads} --events {args.events}",
            lambda: manage(
                env, "generate_load", "--leads", str(args.leads), "--events", str(args.events), "--seed", str(args.seed)
            ),
        )
    _, setup_times["seed_demo"] = step("seed_demo", lambda: manage(env, "seed_demo", "-v", "0", quiet=True))
    step("collectstatic", lambda: manage(env, "collectstatic", "--noinput", "-v", "0"))

    os.environ.update(env)
    import django

    django.setup()
    import requests
    from django.conf import settings
    from django.core import signing
    from django.test import Client

    from analytics.services import refresh_analytics
    from events.models import Scope
    from events.services import create_api_key
    from leads import selectors
    from scoring.services import rescore_leads

    refreshed, setup_times["refresh_analytics"] = step("refresh_analytics", refresh_analytics)
    users, sessions = prepare_people()
    marketer, manager = users["marketer"], users["manager"]
    leads = pick_leads(marketer)
    step("rescore the two demo leads", lambda: rescore_leads(lead_ids=[leads["rich"], leads["sparse"]], cause="bench"))
    _, key = create_api_key(name="bench-pages", scopes=[Scope.LEADS_READ, Scope.EVENTS_WRITE], user=manager)

    live = selectors.live_leads().count()
    # Page 5,000 of 50 is a quarter into 1M leads; a smaller load takes its middle page,
    # where the keyset's `created_at < cursor` branch still matches half of the leads.
    deep = min(DEEP_PAGE, live // PAGE_SIZE // 2)
    cursor, cursor_at = deep_cursor(marketer, deep)
    rep1 = users_by_name("rep1")

    # The cursor we build must be the one the app builds: page 2's from page 1's link.
    api_client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    built_two, _ = deep_cursor(marketer, 2)
    cursor_matches = signing.loads(app_cursor_for_page_two(api_client), salt="leads.list") == signing.loads(
        built_two, salt="leads.list"
    )

    cookie = settings.SESSION_COOKIE_NAME
    as_marketer = {"Cookie": f"{cookie}={sessions['marketer']}"}
    as_manager = {"Cookie": f"{cookie}={sessions['manager']}"}
    as_key = {"Authorization": f"Bearer {key}"}

    # name, who, timed url, (count url A, count url B), main-query pattern (list pages)
    LIST_MAIN = r'FROM "leads_lead".*LIMIT %d$'
    QUEUE_MAIN = r'FROM "sales_salesalert".*LIMIT %d$'
    endpoints = [
        ("board /pipeline/", as_marketer, "/pipeline/", ("/pipeline/", "/pipeline/?source=webinar"), r"LIMIT 5$"),
        (
            "board, one owner",
            as_marketer,
            f"/pipeline/?owner={rep1}",
            (f"/pipeline/?owner={rep1}", "/pipeline/?owner=none"),
            r"LIMIT 5$",
        ),
        ("list /leads/", as_marketer, "/leads/", ("/leads/", "/leads/?stage=customer"), LIST_MAIN % (PAGE_SIZE + 1)),
        (
            f"list /leads/ page {deep:,}",
            as_marketer,
            f"/leads/?after={cursor}",
            (f"/leads/?after={cursor}", "/leads/?stage=customer"),
            LIST_MAIN % (PAGE_SIZE + 1),
        ),
        (
            "list, sort -score",
            as_marketer,
            "/leads/?sort=-score",
            ("/leads/?sort=-score", "/leads/?sort=-score&stage=customer"),
            LIST_MAIN % (PAGE_SIZE + 1),
        ),
        (
            "list, search q=",
            as_marketer,
            "/leads/?q=Company+77",
            ("/leads/?q=Company+77", "/leads/?q=Company+4999"),
            LIST_MAIN % (PAGE_SIZE + 1),
        ),
        (
            "detail /leads/<id>/ (generated)",
            as_marketer,
            f"/leads/{leads['generated']}/",
            (f"/leads/{leads['rich']}/", f"/leads/{leads['sparse']}/"),
            None,
        ),
        (
            "detail /leads/<id>/ (demo, scored)",
            as_marketer,
            f"/leads/{leads['rich']}/",
            (f"/leads/{leads['rich']}/", f"/leads/{leads['sparse']}/"),
            None,
        ),
        ("queue /queue/", as_manager, "/queue/", ("/queue/", "/queue/?filter=overdue"), QUEUE_MAIN % (PAGE_SIZE + 1)),
        (
            "report /analytics/funnel/",
            as_marketer,
            "/analytics/funnel/",
            ("/analytics/funnel/", "/analytics/funnel/?source=webinar"),
            None,
        ),
        (
            "API GET /leads",
            as_key,
            "/api/v1/leads",
            ("/api/v1/leads?limit=10", "/api/v1/leads?limit=200"),
            LIST_MAIN % (PAGE_SIZE + 1),
        ),
        (
            f"API GET /leads page {deep:,}",
            as_key,
            f"/api/v1/leads?cursor={cursor}",
            (f"/api/v1/leads?cursor={cursor}&limit=10", f"/api/v1/leads?cursor={cursor}&limit=200"),
            LIST_MAIN % (PAGE_SIZE + 1),
        ),
        (
            "API GET /leads/{id}",
            as_key,
            f"/api/v1/leads/{leads['generated']}",
            (f"/api/v1/leads/{leads['rich']}", f"/api/v1/leads/{leads['sparse']}"),
            None,
        ),
        (
            "API GET /queue",
            as_key,
            "/api/v1/queue",
            ("/api/v1/queue?limit=10", "/api/v1/queue?limit=200"),
            QUEUE_MAIN % (PAGE_SIZE + 1),
        ),
        (
            "API GET /analytics/funnel",
            as_key,
            "/api/v1/analytics/funnel",
            ("/api/v1/analytics/funnel", "/api/v1/analytics/funnel?source=webinar"),
            None,
        ),
    ]

    # In-process: what SQL each endpoint runs, and how many statements at two sizes.
    print("  counting queries in-process …", flush=True)
    counted = {}
    for name, who, url, (url_a, url_b), _ in endpoints:
        client = Client(**({"HTTP_AUTHORIZATION": who["Authorization"]} if who is as_key else {}))
        if who is not as_key:
            client.cookies[cookie] = sessions["marketer" if who is as_marketer else "manager"]
        counted[name] = (capture(client, url_a, {}), capture(client, url_b, {}), capture(client, url, {}))

    print(f"  timing {len(endpoints) + 3} endpoints × {args.requests} requests (after {args.warmup} warm-up) …")
    server = start_server(env)
    results = {}
    try:
        base = f"http://127.0.0.1:{PORT}"
        http = requests.Session()
        n, w = args.requests, args.warmup
        baselines = {
            "healthz": time_requests(http, f"{base}/healthz", headers={}, n=n, warmup=w),
            "session": time_requests(http, f"{base}/", headers=as_marketer, n=n, warmup=w, ok=(302,)),
            "key": time_requests(
                http, f"{base}/api/v1/bench/noop", headers=as_key, n=n, warmup=w, method="POST", ok=(200,)
            ),
        }
        for name, who, url, _, _ in endpoints:
            results[name] = time_requests(http, base + url, headers=who, n=n, warmup=w)
    finally:
        stop_server(server)

    # Raw SQL through psycopg2: the page's statements, minus session/user/key lookups.
    raw = psycopg_connect(bench_url)
    raw_all, raw_main, raw_slowest = {}, {}, {}
    for name, _, _, _, main_pattern in endpoints:
        statements = [sql for sql in counted[name][2] if not is_session_or_auth(sql)]
        time_sql(raw, statements, 2)  # warm
        raw_all[name] = time_sql(raw, statements, 20)
        raw_slowest[name] = slowest_statement(raw, statements)
        if main_pattern:
            main = [sql for sql in statements if re.search(main_pattern, sql, re.S)]
            if main:
                raw_main[name] = time_sql(raw, main, max(20, n))

    # --- Report ---------------------------------------------------------------------------
    noop = {"session": percentile(baselines["session"], 0.95), "key": percentile(baselines["key"], 0.95)}
    print()
    print(f"Pages and API reads — {args.leads:,} leads / {args.events:,} events ({args.size}); ms; goal p95 ≤ 150")
    header = (
        f"{'endpoint':<34} {'p50':>7} {'p95':>7} {'goal':>4} {'queries':>9} {'×noop':>6}"
        f" {'SQL ms':>7} {'main SQL p95':>12} {'×main':>6}"
    )
    print(header)
    print("-" * len(header))
    for label, key_name in (
        ("healthz (no auth, SELECT 1)", "healthz"),
        ("noop: GET / (session)", "session"),
        ("noop: POST /api/v1/bench/noop (key)", "key"),
    ):
        timings = baselines[key_name]
        print(f"{label:<34} {statistics.median(timings):>7.1f} {percentile(timings, 0.95):>7.1f}")
    for name, who, _, _, _ in endpoints:
        timings = results[name]
        p95 = percentile(timings, 0.95)
        count_a, count_b = len(counted[name][0]), len(counted[name][1])
        queries = f"{count_a}/{count_b}" + ("" if count_a == count_b else "!")
        ratio_noop = p95 / noop["key" if who is as_key else "session"]
        sql_ms = statistics.median(raw_all[name])
        main_cells = f"{'':>12} {'':>6}"
        if name in raw_main:
            main_p95 = percentile(raw_main[name], 0.95)
            main_cells = f"{main_p95:>12.2f} {p95 / main_p95:>6.0f}"
        goal = "ok" if p95 <= GOAL_P95_MS else "MISS"
        short = f" (n={len(timings)})" if len(timings) < args.requests else ""
        print(
            f"{(name + short)[:34]:<34} {statistics.median(timings):>7.1f} {p95:>7.1f} {goal:>4} {queries:>9}"
            f" {ratio_noop:>6.1f} {sql_ms:>7.2f} {main_cells}"
        )
    print("-" * len(header))
    for name, _, _, _, _ in endpoints:
        if percentile(results[name], 0.95) > GOAL_P95_MS:
            ms, sql = raw_slowest[name]
            print(f"MISS {name}: slowest statement {ms:.1f} ms: {sql[:300]}")
    print(
        "queries: statements per request in-process (incl. session/user or key lookups) at two page sizes or row\n"
        "counts (board: all sources / one; list: 50 rows / stage=customer; detail: longest / shortest demo history;\n"
        "API lists: limit=10 / limit=200; report: all / one source); '!' marks a count that moved.\n"
        "×noop: p95 ÷ p95 of the authenticated no-op (same auth) on the same server. SQL ms: the page's own\n"
        "statements (session/auth lookups left out) replayed through psycopg2, median. ×main: p95 ÷ p95 of the\n"
        "list's main query (the LIMIT 51 / LIMIT 5 statements) replayed through psycopg2."
    )

    # Deep pages.
    print()
    print(f"Deep pages (cursor to page {deep:,} = after the lead created {cursor_at}):")
    print(f"  the built cursor equals the one the app hands out for page 2: {'yes' if cursor_matches else 'NO'}")
    for first, deeper in (
        ("list /leads/", f"list /leads/ page {deep:,}"),
        ("API GET /leads", f"API GET /leads page {deep:,}"),
    ):
        one, far = percentile(results[first], 0.95), percentile(results[deeper], 0.95)
        verdict = "ok" if far <= 1.5 * one else "MISS"
        print(f"  {deeper:<28} p95 {far:7.1f} ms vs page 1 {one:7.1f} ms: ×{far / one:.2f} (goal ≤ 1.5) {verdict}")
    if deep < DEEP_PAGE:
        print(f"  ({live:,} live leads at this size: page {deep:,} is the middle one; --full reads page {DEEP_PAGE:,})")

    # Totals from the summary table.
    print()
    report_totals(raw, marketer)

    counted_sql = [sql for name in counted for run in counted[name] for sql in run]
    full_counts = [
        sql
        for sql in counted_sql
        if re.search(r"COUNT\(", sql) and re.search(r'FROM "(leads_lead|events_engagementevent)"', sql)
    ]
    print(
        f"  COUNT over leads_lead/events in any page's SQL: {len(full_counts)} statement(s)"
        + ("" if not full_counts else ":\n    " + "\n    ".join(sql[:200] for sql in full_counts[:5]))
    )
    raw.close()

    print()
    fills = ", ".join(f"{what} {seconds:,.0f} s" for what, seconds in setup_times.items())
    print(f"setup: {fills}; analytics refresh stored {refreshed.duration_ms:,} ms")
    print(
        f"machine: {os.cpu_count()} cores (shared); {datetime.now(UTC):%Y-%m-%d %H:%M} UTC;"
        f" whole run {time.perf_counter() - started:,.0f} s"
    )
    return 0


def users_by_name(username: str) -> int:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username).pk


def report_totals(raw, marketer) -> None:
    """The board's counts come from the summary table: its plan, next to a COUNT(*)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads import selectors

    with CaptureQueriesContext(connection) as context:
        selectors.pipeline_counts()
    counts_sql = context.captured_queries[-1]["sql"]
    full_sql = (
        "SELECT stage, count(*) FROM leads_lead WHERE merged_into_id IS NULL AND erased_at IS NULL GROUP BY stage"
    )
    with raw.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + counts_sql)
        plan = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM leads_pipelinecount")
        (buckets,) = cursor.fetchone()
    raw.rollback()
    summary = time_sql(raw, [counts_sql], 20)
    full = time_sql(raw, [full_sql], 3)
    print(f"Totals: the board's counts query ({buckets:,} summary rows), EXPLAIN ANALYZE:")
    for line in plan:
        print(f"    {line}")
    scans_leads = any("leads_lead " in line or "leads_lead_" in line for line in plan)
    print(f"  plan touches leads_lead: {'YES' if scans_leads else 'no'}")
    summary_ms, full_ms = statistics.median(summary), statistics.median(full)
    print(
        f"  summary query {summary_ms:.2f} ms vs COUNT(*) … GROUP BY stage over the leads {full_ms:,.1f} ms:"
        f" ×{full_ms / summary_ms:,.0f} cheaper"
    )


if __name__ == "__main__":
    sys.exit(main())
