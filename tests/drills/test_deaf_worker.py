"""Drill: a worker whose consumer hears nothing while work waits (as Celery's Redis
consumer sometimes does after a quick broker restart, celery#8030). Deafness is made
here by a worker that listens on a queue nobody sends to: its watchman must do the
overdue intake work itself, see that the broker answers while its consumer received
nothing, and shut the worker down, and what runs it (make run's loop) starts it again."""

import pytest
from rest_framework.test import APIClient

from events.models import EngagementEvent, IncomingEvent
from tests.drills.stack import (
    RESTARTED,
    OwnRedis,
    report,
    running,
    stack_env,
    start_celery_worker,
    worker_log_count,
)
from tests.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

DEAF = b"it has gone deaf"
COLLECTED = b"overdue items that no doorbell delivered"


def test_a_deaf_worker_does_the_waiting_work_itself_and_is_started_again(drill_key, settings):
    settings.FUNNEL_INGEST_INLINE = False  # the events wait in the intake, as a web server leaves them
    redis = OwnRedis()
    redis.start()
    env = stack_env(
        redis.url,
        FUNNEL_WATCHMAN_SECONDS="0.5",
        FUNNEL_WATCHMAN_OVERDUE_SECONDS="1",
        FUNNEL_WATCHMAN_DEAF_SECONDS="3",
    )
    worker = start_celery_worker(env=env, name="deaf-drill-worker", restarted=True, queues="nobody-sends-here")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {drill_key}")
    sent = 0
    try:
        with running(worker):
            # Batches keep arriving: each waits past the overdue time, no doorbell reaches the worker.
            for batch in range(8):
                events = [
                    {"message_id": f"deaf-{batch}-{n}", "type": "page_view", "email": f"deaf-{n}@drill.example"}
                    for n in range(25)
                ]
                answer = client.post("/api/v1/events", {"events": events}, format="json")
                assert answer.status_code == 202, answer.content
                sent += len(events)
                wait_for(lambda: not IncomingEvent.objects.exists(), timeout=20)
            restarted = wait_for(lambda: worker_log_count(worker, RESTARTED) >= 1, timeout=60)
            loop_alive = worker.poll() is None
    finally:
        redis.stop()

    stored = EngagementEvent.objects.filter(message_id__startswith="deaf-").count()
    report(
        "deaf worker",
        sent=sent,
        stored=stored,
        waiting=IncomingEvent.objects.count(),
        collected_by_watchman=worker_log_count(worker, COLLECTED),
        deaf_restarts=worker_log_count(worker, DEAF),
        worker_restarts=worker_log_count(worker, RESTARTED),
    )
    assert stored == sent
    assert worker_log_count(worker, DEAF) >= 1
    assert restarted and loop_alive
