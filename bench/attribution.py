"""Attribution: all seven models over 1M touchpoints and 50k conversions, against one
hand-written SQL statement for the linear model alone.

Leads, their stage transitions, deals and touchpoints are loaded with COPY into a
database of their own (dropped and created by this script): by default 30,000 leads,
each a lead conversion; 12,000 reach MQL, 5,000 open a deal and 3,000 win it
(50,000 conversions), and 1,000,000 touchpoints spread over the months around them.
Then, each run three times, the median printed:

- funnel, all seven models: the refresh's two set-based statements for the default
  window (every model's credit and revenue per milestone, day, campaign, channel and
  source written to the summary table), in one transaction as the refresh runs them;
- funnel, full refresh: `refresh_attribution()` as beat runs it (new event touches,
  capture touches rebuilt, three windows: 30, 90 and 180 days);
- baseline: one hand-written statement computing linear credit per milestone, day and
  campaign (`attribution.sql.linear_baseline`), rows fetched, through plain psycopg2.

Usage: python bench/attribution.py [--leads 30000] [--touches 1000000] [--runs 3] [--reuse] [--server URL]
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from rescore import copy_rows, model_rows, server_url, with_database  # noqa: E402 - bench helpers

BENCH_DB = "funnel_bench_attribution"
# As real tagging goes, a campaign runs on one or two source/medium pairs; a tenth of the
# touches carry no campaign (organic visits, bare form submissions).
PAIRS = [
    ("google", "cpc"),
    ("linkedin", "social"),
    ("newsletter", "email"),
    ("facebook", "paid_social"),
    ("bing", "cpc"),
    ("partner", "referral"),
    ("google", "organic"),
]
CAMPAIGN_PAIRS = {f"campaign-{n}": [PAIRS[n % 7], PAIRS[(n * 3 + 1) % 7]] for n in range(40)}
CAMPAIGNS = list(CAMPAIGN_PAIRS)
KINDS = ["page_view", "ad_clicked", "email_clicked", "form_submitted", "webinar_attended"]


def tagging(rng) -> dict[str, str]:
    if rng.random() < 0.1:
        return {"utm_source": "", "utm_medium": "", "utm_campaign": ""}
    campaign = rng.choice(CAMPAIGNS)
    source, medium = rng.choice(CAMPAIGN_PAIRS[campaign])
    return {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}


def recreate_database(url: str) -> None:
    import psycopg2

    admin = psycopg2.connect(with_database(url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()


def load(connection, *, leads: int, touches: int, now: datetime, seed: int = 11) -> int:
    from attribution.models import Touchpoint
    from leads.models import Deal, Lead, StageTransition

    rng = random.Random(seed)
    started = time.perf_counter()
    created = [now - timedelta(days=rng.uniform(100, 300)) for _ in range(leads)]
    mql_count, sql_count, won_count = leads * 2 // 5, leads // 6, leads // 10
    raw = connection.connection
    with raw.cursor() as cursor:
        columns, rows = model_rows(
            Lead,
            leads,
            lambda n: {
                "id": n + 1,
                "email": f"lead{n + 1}@example.com",
                "stage": "lead_gen",
                "stage_entered_at": created[n],
                "created_at": created[n],
                "updated_at": now,
                **tagging(rng),
            },
        )
        copy_rows(cursor, "leads_lead", columns, rows)
        transitions, deals = [], []
        for n in range(leads):
            lead_id, at = n + 1, created[n]
            transitions.append((lead_id, "lead_gen", "created", at))
            if n < mql_count:
                at += timedelta(days=rng.uniform(1, 30))
                transitions.append((lead_id, "mql", "forward", at))
            if n < sql_count:
                at += timedelta(days=rng.uniform(1, 20))
                transitions.append((lead_id, "sql", "forward", at))
                won = n < won_count
                closed = at + timedelta(days=rng.uniform(5, 40)) if won else None
                deals.append((lead_id, at, won, closed, rng.randint(1000, 50000)))
                if won:
                    transitions.append((lead_id, "customer", "forward", closed))
        columns, rows = model_rows(
            StageTransition,
            len(transitions),
            lambda i: {
                "id": i + 1,
                "lead_id": transitions[i][0],
                "cycle": 1,
                "from_stage": "",
                "to_stage": transitions[i][1],
                "kind": transitions[i][2],
                "actor_kind": "system",
                "occurred_at": transitions[i][3],
            },
        )
        copy_rows(cursor, "leads_stagetransition", columns, rows)
        columns, rows = model_rows(
            Deal,
            len(deals),
            lambda i: {
                "id": i + 1,
                "lead_id": deals[i][0],
                "cycle": 1,
                "created_at": deals[i][1],
                "status": "won" if deals[i][2] else "open",
                "closed_at": deals[i][3],
                "value": deals[i][4],
                "currency": "EUR",
            },
        )
        copy_rows(cursor, "leads_deal", columns, rows)

        def touch(i):
            lead = rng.randint(1, leads)
            return {
                "id": i + 1,
                "event_id": None,
                "lead_id": lead,
                "kind": rng.choice(KINDS),
                "occurred_at": created[lead - 1] + timedelta(seconds=rng.randint(-30 * 86400, 120 * 86400)),
                **{key.removeprefix("utm_"): value for key, value in tagging(rng).items()},
                "content": "",
            }

        for start in range(0, touches, 200_000):
            count = min(200_000, touches - start)
            columns, rows = model_rows(Touchpoint, count, lambda i, start=start: touch(start + i))
            copy_rows(cursor, Touchpoint._meta.db_table, columns, rows)
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{Touchpoint._meta.db_table}', 'id'), %s)", [touches])
        for table in ("leads_lead", "leads_stagetransition", "leads_deal", Touchpoint._meta.db_table):
            cursor.execute(f"ANALYZE {table}")
    raw.commit()
    conversions = leads + mql_count + sql_count + won_count
    print(
        f"loaded {leads:,} leads ({conversions:,} conversions) and {touches:,} touchpoints "
        f"with COPY in {time.perf_counter() - started:.1f} s"
    )
    return conversions


def time_all_models(window: int) -> float:
    from django.db import connection, transaction

    from attribution import channels, sql
    from attribution.models import AttributionCredit

    dialect = sql.Dialect(postgres=True)
    case = channels.channel_case_sql(channels.active_rules(), "t", postgres=True)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        AttributionCredit.objects.all().delete()
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql.credit_statement(dialect, window_days=window, half_life_days=7.0, channel_case=case))
        cursor.execute(sql.direct_statement(dialect, window_days=window))
    return time.perf_counter() - started


def time_baseline(dsn: str, window: int) -> float:
    import psycopg2

    from attribution import sql

    connection = psycopg2.connect(dsn)
    try:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql.linear_baseline(sql.Dialect(postgres=True), window_days=window))
            cursor.fetchall()
            return time.perf_counter() - started
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=30_000)
    parser.add_argument("--touches", type=int, default=1_000_000)
    parser.add_argument("--server")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="time again on the database the last run loaded")
    args = parser.parse_args()

    url = server_url(args.server)
    if not args.reuse:
        recreate_database(url)
    dsn = with_database(url, BENCH_DB)
    os.environ["DATABASE_URL"] = dsn
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("FUNNEL_VAR_DIR", str(ROOT / "var" / "bench-attribution"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "funnel.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from attribution.models import AttributionCredit
    from attribution.services import refresh_attribution

    call_command("migrate", verbosity=0)
    if args.reuse:
        from leads.models import Deal, Lead, StageTransition

        conversions = (
            Lead.objects.count()
            + StageTransition.objects.filter(to_stage="mql").count()
            + Deal.objects.count()
            + Deal.objects.filter(status="won").count()
        )
    else:
        conversions = load(connection, leads=args.leads, touches=args.touches, now=datetime.now(UTC))
    window = int(settings.FUNNEL_ATTRIBUTION_WINDOW_DAYS)
    baseline, ours, full = [], [], []
    for _ in range(args.runs):
        baseline.append(time_baseline(dsn, window))
        ours.append(time_all_models(window))
        started = time.perf_counter()
        refresh_attribution()
        full.append(time.perf_counter() - started)
    rows = AttributionCredit.objects.filter(window_days=window).count()
    base, seven, whole = statistics.median(baseline), statistics.median(ours), statistics.median(full)
    print(f"\n{args.touches:,} touchpoints, {conversions:,} conversions, window {window} days ({rows:,} summary rows)")
    print(f"{'what':<58} {'seconds':>8} {'ratio':>7}")
    print(f"{'baseline: one hand-written statement, linear model only':<58} {base:>8.2f} {1.0:>7.2f}")
    print(f"{'funnel: all seven models, one window (goal <= 10 s)':<58} {seven:>8.2f} {seven / base:>7.2f}")
    print(f"{'funnel: full refresh (capture touches + 3 windows)':<58} {whole:>8.2f} {whole / base:>7.2f}")
    print("goal for the linear model: <= 2x the baseline (funnel computes all seven in the same pass)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
