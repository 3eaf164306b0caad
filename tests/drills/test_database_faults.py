"""Drills: the database drops a connection mid-batch (the web's) and mid-rescore (the
worker's), and turns read-only during ingest. Each request hit gets a clear 503 with
Retry-After, its retry with the same message ids succeeds, nothing is half-written,
and the rescore job finishes by itself."""

import threading
import time

import pytest
from django.db import connection
from django.db.models import Count

from events.models import EngagementEvent, IncomingEvent
from events.processing import process_all_incoming_events
from leads.models import Lead
from scoring.models import RescoreJob, RescoreJobStatus
from scoring.services import start_full_rescore
from tests.drills.stack import (
    OwnRedis,
    drill_events,
    report,
    running,
    send_in_parallel,
    split,
    stack_env,
    start_celery_worker,
    start_gunicorn,
    terminate_backends,
)
from tests.scoring.test_workers import (
    assert_every_score_is_the_reference_and_every_crossing_alerted_once,
    leads_with_events,
)
from tests.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def enqueue_job_on(broker_url: str, job_id: int) -> None:
    """The drill's worker listens on the drill's own Redis, not the test process's broker."""
    from funnel.celery import app
    from scoring.services import RESCORE_JOB_TASK

    with app.connection_for_write(broker_url) as broker:
        app.send_task(RESCORE_JOB_TASK, args=[job_id], connection=broker)


def doubled_events() -> int:
    return EngagementEvent.objects.values("message_id").annotate(n=Count("id")).filter(n__gt=1).count()


def test_the_web_connection_terminated_mid_batch_answers_503_and_the_retry_stores_the_rest(drill_key):
    redis = OwnRedis()
    redis.start()
    server, base = start_gunicorn(env=stack_env(redis.url), name="pg-web")
    events, _hot = drill_events(leads=1500, hot_every=50, prefix="pw")
    kills = []
    sending = threading.Event()

    def terminate_active_queries():
        deadline = time.monotonic() + 30
        while sending.is_set() and time.monotonic() < deadline and len(kills) < 8:
            # Only connections inside a statement: a batch in flight, not an idle one.
            killed = terminate_backends(where="AND state = 'active' AND query ILIKE %s", params=("%events%",))
            if killed:
                kills.append(killed)
                time.sleep(0.3)
            time.sleep(0.01)
        connection.close()  # this thread's own connection

    try:
        with running(server):
            sending.set()
            faults = threading.Thread(target=terminate_active_queries)
            faults.start()
            tally = send_in_parallel(base, drill_key, split(events, clients=2, batch=100), budget=60, pause=0.05)
            sending.clear()
            faults.join()
            web_alive = server.poll() is None
    finally:
        redis.stop()

    # No worker runs in this drill: what the answers stored is processed here, as one would.
    waiting = IncomingEvent.objects.count()
    process_all_incoming_events()
    stored = EngagementEvent.objects.filter(message_id__startswith="pw-").count()
    emails = {event["email"] for event in events}
    report(
        "web connection terminated mid-batch",
        kills=len(kills),
        sent=len(events),
        waiting_in_intake=waiting,
        stored=stored,
        accepted=tally.events["accepted"],
        duplicates=tally.events["duplicate"],
        answers=dict(tally.answers),
        retries=tally.retries,
    )
    assert kills, "no batch was in flight when the drill looked"
    assert web_alive
    assert set(tally.answers) <= {202, 503} and tally.answers[503] >= 1, tally.answers
    assert tally.missing_retry_after == 0
    # The retries' answers: what a killed batch committed comes back `duplicate`, the rest `accepted`.
    assert tally.events["accepted"] + tally.events["duplicate"] == len(events) + tally.events["duplicate"]
    assert stored == len(events) and doubled_events() == 0
    # Nothing half-written: a rolled-back batch left no lead behind without its events.
    assert Lead.objects.count() == len(emails)
    assert not Lead.objects.filter(events__isnull=True).exists()


def test_the_worker_connection_terminated_mid_rescore_job_resumes_and_finishes(transactional_db):
    from tests.services import need_postgres

    need_postgres()
    from scoring.rules import install_default_rules

    install_default_rules()
    lead_ids = leads_with_events(3000, ready_every=5)
    redis = OwnRedis()
    redis.start()
    worker = start_celery_worker(env=stack_env(redis.url, FUNNEL_RESCORE_JOB_BATCH="200"), name="pg-worker")
    kills = 0
    try:
        with running(worker):
            job = start_full_rescore(cause="drill", enqueue=False)
            enqueue_job_on(redis.url, job.pk)
            deadline = time.monotonic() + 40
            while kills < 3 and time.monotonic() < deadline:
                job.refresh_from_db()
                if job.status == RescoreJobStatus.DONE:
                    break
                if job.done and terminate_backends(
                    where="AND state = 'active' AND query NOT ILIKE %s", params=("%pg_stat_activity%",)
                ):
                    kills += 1
                    time.sleep(0.5)
                time.sleep(0.02)
            finished = wait_for(
                lambda: RescoreJob.objects.filter(pk=job.pk, status=RescoreJobStatus.DONE).exists(), timeout=60
            )
            worker_alive = worker.poll() is None
    finally:
        redis.stop()
    job.refresh_from_db()
    report(
        "worker connection terminated mid-rescore",
        leads=len(lead_ids),
        kills=kills,
        job_done=job.done,
        status=job.status,
    )
    assert kills >= 1, "the job finished before a kill landed"
    assert finished and worker_alive
    assert_every_score_is_the_reference_and_every_crossing_alerted_once(lead_ids)


def test_a_read_only_database_refuses_a_batch_whole_with_503_and_takes_it_once_writable(drill_key):
    redis = OwnRedis()
    redis.start()
    server, base = start_gunicorn(env=stack_env(redis.url), name="pg-readonly")
    events, _hot = drill_events(leads=200, hot_every=20, prefix="ro")
    database = connection.settings_dict["NAME"]
    try:
        with running(server):
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
            terminate_backends()  # the web's connections come back read-only
            try:
                refused = send_in_parallel(base, drill_key, split(events, clients=1, batch=500), budget=3)
                stored_meanwhile = EngagementEvent.objects.count() + IncomingEvent.objects.count()
                leads_meanwhile = Lead.objects.count()
            finally:
                with connection.cursor() as cursor:
                    cursor.execute(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
                terminate_backends()
            taken = send_in_parallel(base, drill_key, split(events, clients=1, batch=500), budget=30)
    finally:
        redis.stop()
    process_all_incoming_events()  # no worker in this drill
    report(
        "read-only database during ingest",
        sent=len(events),
        answers_read_only=dict(refused.answers),
        stored_read_only=stored_meanwhile,
        answers_writable=dict(taken.answers),
        accepted=taken.events["accepted"],
        stored=EngagementEvent.objects.count(),
    )
    assert set(refused.answers) == {503} and refused.missing_retry_after == 0
    assert (stored_meanwhile, leads_meanwhile) == (0, 0)
    assert taken.answers[202] == 1 and taken.events["accepted"] == len(events)
    assert EngagementEvent.objects.count() == len(events)
