"""Drill: Redis stopped and started again, several times, while two clients post events
through gunicorn and a worker scores. The broker is only a doorbell: every answer is a
202, every event is stored once, every hot lead crosses once, and the web server and
what runs the worker (make run's restart loop) are still running at the end.

After a quick restart Celery's consumer sometimes takes no message again (celery#8030);
the worker's watchman then does the overdue work itself and restarts the deaf worker,
so the drill passes whichever way the timing falls, and prints which it was."""

import os
import threading
import time

import pytest
from django.db.models import Count

from events.models import EngagementEvent, IncomingEvent
from leads.models import Lead
from leads.stages import Stage
from sales.models import SalesAlert
from scoring.models import RescoreMark
from tests.drills.stack import (
    RESTARTED,
    OwnRedis,
    drill_events,
    report,
    running,
    send_in_parallel,
    split,
    stack_env,
    start_celery_worker,
    start_gunicorn,
    worker_log_count,
)
from tests.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

ROUNDS = int(os.environ.get("FUNNEL_DRILL_ROUNDS", "3"))


def test_redis_restarts_during_ingest_lose_nothing_and_stop_nothing(drill_key):
    redis = OwnRedis()
    redis.start()
    env = stack_env(redis.url)
    server, base = start_gunicorn(env=env, name="redis-drill-web")
    worker = start_celery_worker(env=env, name="redis-drill-worker", restarted=True)
    events, hot = drill_events(leads=1200, hot_every=30, prefix="rr")
    outages = []

    def outage_rounds():
        for _ in range(ROUNDS):
            time.sleep(1.5)
            redis.stop()
            down_at = time.monotonic()
            time.sleep(2.0)
            redis.start()
            outages.append(time.monotonic() - down_at)

    try:
        with running(server, worker):
            faults = threading.Thread(target=outage_rounds)
            faults.start()
            tally = send_in_parallel(base, drill_key, split(events, clients=2, batch=40), budget=60, pause=0.4)
            faults.join()
            # One more doorbell after the last restart: what was marked while it was down is drained.
            send_in_parallel(
                base,
                drill_key,
                [[[{"message_id": "rr-last", "type": "page_view", "email": "rr-x@drill.example"}]]],
                budget=10,
            )
            scored = wait_for(
                lambda: (
                    not IncomingEvent.objects.exists()
                    and not RescoreMark.pending().exists()
                    and SalesAlert.objects.count() >= len(hot)
                ),
                timeout=60,
            )
            worker_alive, web_alive = worker.poll() is None, server.poll() is None
    finally:
        redis.stop()

    stored = EngagementEvent.objects.filter(message_id__startswith="rr-").count()
    doubled = EngagementEvent.objects.values("message_id").annotate(n=Count("id")).filter(n__gt=1).count()
    alerts = SalesAlert.objects.filter(lead__email__in=hot).values("lead").annotate(n=Count("id"))
    alerted_once = sum(1 for row in alerts if row["n"] == 1)
    report(
        "redis restarted during ingest",
        rounds=len(outages),
        sent=len(events),
        stored=stored - 1,
        accepted=tally.events["accepted"],
        duplicates=tally.events["duplicate"],
        answers=dict(tally.answers),
        refused=tally.refused,
        alerts_expected=len(hot),
        alerts_raised=SalesAlert.objects.count(),
        collected_by_watchman=worker_log_count(worker, b"overdue items that no doorbell delivered"),
        deaf_restarts=worker_log_count(worker, b"it has gone deaf"),
        worker_restarts=worker_log_count(worker, RESTARTED),
    )
    assert len(outages) == ROUNDS
    assert (worker_alive, web_alive) == (True, True)
    assert set(tally.answers) == {202}, tally.answers
    assert stored - 1 == len(events) and doubled == 0
    assert scored
    assert alerted_once == len(hot) == SalesAlert.objects.count()
    assert Lead.objects.filter(email__in=hot, stage=Stage.MQL).count() == len(hot)
