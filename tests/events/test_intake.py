"""The two halves of ingest on PostgreSQL (events/intake.py, events/processing.py): the
answer is exact before anything is processed, a worker processes each event once, and a
worker killed between the answer and the processing loses nothing."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from events.models import EngagementEvent, IncomingEvent
from events.processing import process_all_incoming_events, process_incoming_for_a_while
from events.services import ingest_batch
from leads.models import Lead
from leads.stages import Stage
from sales.models import SalesAlert
from scoring.models import RescoreMark
from scoring.rules import install_default_rules
from scoring.services import rescore_leads
from tests.factories import EngagementEventFactory, LeadFactory
from tests.services import need_postgres, need_redis
from tests.workers import start_worker, stop_worker, wait_for, worker_env

PROCESS_SCRIPT = Path(__file__).with_name("process_intake.py")


@pytest.fixture
def deferred(settings):
    """As in production: the request answers, a worker processes later."""
    need_postgres()
    settings.FUNNEL_INGEST_INLINE = False


def page_views(count: int, *, prefix: str = "m", people: int = 10) -> list[dict]:
    return [
        {"message_id": f"{prefix}{n}", "type": "page_view", "email": f"person{n % people}@example.com"}
        for n in range(count)
    ]


def statuses(reply) -> list[str]:
    return [result["status"] for result in reply.json()["results"]]


@pytest.mark.django_db
def test_accepted_events_wait_in_the_intake_until_processed(deferred, post_events):
    reply = post_events({"events": page_views(20)})

    assert (reply.status_code, reply.json()["accepted"]) == (202, 20)
    assert (IncomingEvent.objects.count(), EngagementEvent.objects.count(), Lead.objects.count()) == (20, 0, 0)


@pytest.mark.django_db
def test_processing_stores_the_events_creates_the_leads_and_marks_them(deferred, post_events):
    post_events({"events": page_views(20)})

    assert process_all_incoming_events() == 20

    assert IncomingEvent.objects.count() == 0
    assert EngagementEvent.objects.count() == 20
    assert Lead.objects.count() == 10
    assert Lead.objects.filter(last_engaged_at__isnull=True).count() == 0
    assert RescoreMark.objects.count() == 10


@pytest.mark.django_db
def test_a_replay_of_a_waiting_batch_is_answered_duplicate(deferred, post_events):
    post_events({"events": page_views(20)})

    replay = post_events({"events": page_views(20)})

    assert statuses(replay) == ["duplicate"] * 20
    assert IncomingEvent.objects.count() == 20


@pytest.mark.django_db
def test_a_replay_of_a_processed_batch_is_answered_duplicate_and_leaves_nothing_waiting(deferred, post_events):
    post_events({"events": page_views(20)})
    process_all_incoming_events()

    replay = post_events({"events": page_views(20)})

    assert statuses(replay) == ["duplicate"] * 20
    assert (IncomingEvent.objects.count(), EngagementEvent.objects.count()) == (0, 20)


@pytest.mark.django_db
def test_a_batch_mixing_new_waiting_processed_and_repeated_ids_is_answered_event_by_event(deferred, post_events):
    post_events({"events": page_views(2, prefix="done")})
    process_all_incoming_events()
    post_events({"events": page_views(2, prefix="waiting")})
    batch = page_views(1, prefix="done") + page_views(1, prefix="waiting") + page_views(2, prefix="new")
    batch.append(dict(batch[-1]))
    batch.append({"message_id": "bad", "type": "page_view"})

    reply = post_events({"events": batch})

    assert statuses(reply) == ["duplicate", "duplicate", "accepted", "accepted", "duplicate", "rejected"]
    assert (reply.json()["accepted"], reply.json()["duplicates"], reply.json()["rejected"]) == (2, 3, 1)


@pytest.mark.django_db
def test_processing_keeps_the_person_and_properties_the_request_validated(deferred, post_events):
    post_events(
        {
            "message_id": "form-1",
            "type": "form_submitted",
            "email": "Ada@Example.com",
            "anonymous_id": "a-1",
            "occurred_at": "2026-11-20T10:15:00.123456+01:00",
            "properties": {"form": "demo-request", "nested": {"n": [1, 2.5, None]}},
            "traits": {"first_name": "Ada", "company": "Analytical Engines", "employees": 40},
        }
    )

    process_all_incoming_events()

    event = EngagementEvent.objects.select_related("lead").get()
    assert event.properties == {"form": "demo-request", "nested": {"n": [1, 2.5, None]}}
    assert event.occurred_at.isoformat() == "2026-11-20T09:15:00.123456+00:00"
    assert (event.lead.email, event.lead.anonymous_id, event.lead.first_name) == ("ada@example.com", "a-1", "Ada")
    assert (event.lead.company, event.lead.company_size) == ("Analytical Engines", 40)


@pytest.mark.django_db
def test_a_known_lead_does_not_block_the_answer_while_another_transaction_holds_it(deferred, ingest_key):
    """The rescore worker holds its leads FOR UPDATE; the request takes no lead lock."""
    lead = LeadFactory(email="busy@example.com")
    with transaction.atomic():
        Lead.objects.select_for_update().get(pk=lead.pk)
        reply = ingest_batch(items=page_views(1, people=1, prefix="busy"), api_key=ingest_key)
    assert reply["accepted"] == 1


@pytest.mark.django_db(transaction=True)
def test_two_processes_draining_one_intake_process_each_event_once(deferred, ingest_key):
    for start in range(0, 3000, 500):
        batch = [
            {"message_id": f"x{n}", "type": "page_view", "anonymous_id": f"v{n % 400}"}
            for n in range(start, start + 500)
        ]
        ingest_batch(items=batch, api_key=ingest_key)
    start_at = time.time() + 2.5
    processes = [
        subprocess.Popen(
            [sys.executable, str(PROCESS_SCRIPT), str(start_at)],
            env=worker_env(FUNNEL_INGEST_PROCESS_BATCH="250"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    processed = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()[-2000:]
        processed.append(int(out))

    assert sum(processed) == 3000
    assert all(count > 0 for count in processed), processed  # both took part
    assert (IncomingEvent.objects.count(), EngagementEvent.objects.count()) == (0, 3000)
    assert Lead.objects.count() == 400


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_the_answer_and_the_processing_loses_nothing(deferred, ingest_key):
    need_redis()
    held = LeadFactory(email="person0@example.com")
    replies = [ingest_batch(items=page_views(300, prefix=f"b{b}-"), api_key=ingest_key) for b in range(3)]
    assert sum(reply["accepted"] for reply in replies) == 900
    with transaction.atomic():
        # A lead the processing must lock is held, as a rescore holds its leads: the
        # worker claims every waiting event, then waits here, mid-transaction, and is
        # SIGKILLed (its process group: the pool's child too).
        Lead.objects.select_for_update().get(pk=held.pk)
        first = start_worker(FUNNEL_INGEST_PROCESS_BATCH="5000")  # one claim holds them all
        try:
            waiting = wait_for(backends_waiting_for_a_lock, timeout=60)
            assert waiting, "the worker never reached the held lead"
            assert claimable_incoming_events() == 0  # it holds all 900
        finally:
            stop_worker(first, kill=True)
        assert EngagementEvent.objects.count() == 0
    # The killed worker's transaction ends when its backend finds the client gone.
    assert wait_for(lambda: not set(waiting) & set(backends_waiting_for_a_lock(any_state=True)), timeout=30)
    assert IncomingEvent.objects.count() == 900

    worker = start_worker()  # a Celery worker rings for what the intake holds as it starts
    try:
        assert wait_for(lambda: not IncomingEvent.objects.exists(), timeout=60), "the intake was not drained"
    finally:
        stop_worker(worker)
    assert EngagementEvent.objects.count() == 900
    assert EngagementEvent.objects.values("message_id").distinct().count() == 900
    assert EngagementEvent.objects.filter(lead=held).count() == 90
    assert Lead.objects.count() == 10


def backends_waiting_for_a_lock(*, any_state: bool = False) -> list[int]:
    """Other backends of this database waiting for a lock (with any_state: present at all)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees its first snapshot
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            + ("" if any_state else "AND wait_event_type = 'Lock'")
        )
        return [pid for (pid,) in cursor.fetchall()]


def claimable_incoming_events() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {IncomingEvent._meta.db_table} FOR UPDATE SKIP LOCKED) AS f"
        )
        return cursor.fetchone()[0]


def lead_at_46_points() -> Lead:
    """A demo request (+40) and a pricing view (+6): one more pricing view crosses 50."""
    install_default_rules()
    lead = LeadFactory(email="almost@example.com")
    EngagementEventFactory(lead=lead, type="form_submitted", properties={"form": "demo-request"})
    EngagementEventFactory(lead=lead, type="page_view", properties={"url": "https://example.com/pricing"})
    rescore_leads(lead_ids=[lead.pk], cause="test")
    lead.refresh_from_db()
    assert lead.score == 46
    return lead


def pricing_view_of(email: str, message_id: str) -> dict:
    return {"message_id": message_id, "type": "page_view", "email": email, "properties": {"url": "/pricing"}}


@pytest.mark.django_db
def test_an_event_that_crosses_the_threshold_raises_its_alert_within_the_processing_task(deferred, post_events):
    lead = lead_at_46_points()
    post_events({"events": [pricing_view_of(lead.email, "crossing")]})

    process_incoming_for_a_while()  # the ingest task; no rescore task runs (eager: the doorbell rings nothing)

    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (52, Stage.MQL)
    assert SalesAlert.objects.filter(lead=lead).count() == 1
    mark = RescoreMark.objects.get(lead=lead)
    assert (mark.settled_generation, mark.leased_until) == (mark.generation, None)


@pytest.mark.django_db
def test_the_processing_task_leaves_a_lead_in_a_burst_to_the_coalescing(deferred, post_events):
    lead = lead_at_46_points()
    post_events({"events": [pricing_view_of(lead.email, "first")]})
    process_incoming_for_a_while()
    post_events({"events": [pricing_view_of(lead.email, "second")]})

    process_incoming_for_a_while()  # rescored a moment ago, marked again: the burst waits to settle

    lead.refresh_from_db()
    assert lead.score == 52
    mark = RescoreMark.objects.get(lead=lead)
    assert mark.generation > mark.settled_generation
    assert SalesAlert.objects.filter(lead=lead).count() == 1


@pytest.fixture
def claims_of_two_to_eight(settings, monkeypatch):
    settings.FUNNEL_INGEST_PROCESS_BATCH = 2
    settings.FUNNEL_INGEST_PROCESS_BATCH_MAX = 8
    monkeypatch.setattr("events.processing._claim_size", 0)


@pytest.mark.django_db
def test_a_worker_whose_claims_come_back_full_claims_twice_as_many_next_time(
    deferred, post_events, claims_of_two_to_eight
):
    post_events({"events": page_views(30)})

    # No time budget: one claim per task, each twice the one before while they are full.
    assert [process_incoming_for_a_while(seconds=0) for _ in range(5)] == [2, 4, 8, 8, 8]
    assert IncomingEvent.objects.count() == 0
    assert EngagementEvent.objects.count() == 30


@pytest.mark.django_db
def test_a_worker_that_finds_less_waiting_than_it_claimed_goes_back_to_smaller_claims(
    deferred, post_events, claims_of_two_to_eight
):
    post_events({"events": page_views(14, prefix="a")})
    assert [process_incoming_for_a_while(seconds=0) for _ in range(4)] == [2, 4, 8, 0]
    post_events({"events": page_views(10, prefix="b")})

    assert [process_incoming_for_a_while(seconds=0) for _ in range(3)] == [4, 6, 0]
