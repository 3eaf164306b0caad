"""Drill: two gunicorn servers and two workers on one database, four clients replaying
overlapping batches, one worker SIGKILLed halfway: 0 lost, 0 doubled, every alert
exactly once, and the board's counts equal a recount."""

import threading
import time

import pytest
from django.db.models import Count

from events.models import EngagementEvent, IncomingEvent
from leads.models import Lead
from leads.selectors import pipeline_counts
from sales.models import SalesAlert
from scoring.models import RescoreMark
from tests.drills.stack import (
    OwnRedis,
    Tally,
    drill_events,
    post_until_stored,
    report,
    running,
    stack_env,
    start_celery_worker,
    start_gunicorn,
    stop_process,
)
from tests.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def test_two_webs_two_workers_four_overlapping_clients_and_a_killed_worker_lose_and_double_nothing(drill_key):
    redis = OwnRedis()
    redis.start()
    env = stack_env(redis.url, FUNNEL_RESCORE_LEASE_SECONDS="3")
    first_web, first_base = start_gunicorn(env=env, name="two-web-a")
    second_web, second_base = start_gunicorn(env=env, name="two-web-b")
    victim = start_celery_worker(env=env, name="two-worker-a")
    # The survivor runs beat too, as a deployment does: the intake's sweep rings for the
    # events the victim had claimed when it was killed, after the answers.
    survivor = start_celery_worker(env={**env, "FUNNEL_INGEST_SWEEP_SECONDS": "2"}, name="two-worker-b", beat=True)
    events, hot = drill_events(leads=1600, hot_every=25, prefix="tw")
    batches = [events[start : start + 100] for start in range(0, len(events), 100)]
    # Client k posts every batch whose index ≡ k or k+1 (mod 4): each batch twice, in two orders.
    plans = [[batch for index, batch in enumerate(batches) if index % 4 in (k, (k + 1) % 4)] for k in range(4)]
    for k in (1, 3):
        plans[k].reverse()
    tally = Tally()
    deadline = time.monotonic() + 60

    def client(k):
        base = first_base if k % 2 == 0 else second_base
        for batch in plans[k]:
            post_until_stored(base, drill_key, batch, tally, deadline=deadline)
            time.sleep(0.05)

    try:
        with running(first_web, second_web, survivor):
            threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
            for thread in threads:
                thread.start()
            wait_for(lambda: tally.events["accepted"] >= len(events) // 2, timeout=30, interval=0.05)
            waiting_at_kill = IncomingEvent.objects.count()  # answered, not yet processed
            stop_process(victim, kill=True)
            for thread in threads:
                thread.join()
            settled = wait_for(
                lambda: (
                    not IncomingEvent.objects.exists()
                    and not RescoreMark.pending().exists()
                    and SalesAlert.objects.count() >= len(hot)
                ),
                timeout=45,
            )
            webs_alive = first_web.poll() is None and second_web.poll() is None
    finally:
        stop_process(victim, kill=True)
        redis.stop()

    stored = EngagementEvent.objects.filter(message_id__startswith="tw-").count()
    doubled = EngagementEvent.objects.values("message_id").annotate(n=Count("id")).filter(n__gt=1).count()
    alerts_per_lead = SalesAlert.objects.values("lead").annotate(n=Count("id"))
    recount = dict(Lead.objects.filter(merged_into__isnull=True).values_list("stage").annotate(n=Count("id")))
    board = {stage: n for stage, n in pipeline_counts().items() if n}
    report(
        "two webs, two workers, four overlapping clients, one worker killed",
        sent=sum(len(batch) for plan in plans for batch in plan),
        unique=len(events),
        waiting_in_intake_at_kill=waiting_at_kill,
        stored=stored,
        accepted=tally.events["accepted"],
        duplicates=tally.events["duplicate"],
        answers=dict(tally.answers),
        alerts_expected=len(hot),
        alerts_raised=SalesAlert.objects.count(),
        board=board,
        recount=recount,
    )
    assert webs_alive and settled
    assert set(tally.answers) == {202}
    assert stored == len(events) == tally.events["accepted"] and doubled == 0
    assert tally.events["duplicate"] == len(events)  # every event was sent twice
    assert SalesAlert.objects.count() == len(hot) and all(row["n"] == 1 for row in alerts_per_lead)
    assert set(SalesAlert.objects.values_list("lead__email", flat=True)) == hot
    assert board == recount
