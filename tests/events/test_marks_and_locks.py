"""What ingestion leaves for the scoring worker, and how concurrent writers share leads."""

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from events.ingest import record_events
from events.models import EngagementEvent
from events.validation import Event
from leads.models import Lead
from scoring.models import RescoreMark
from scoring.services import DOORBELL_WINDOW, _coalesced_countdown, claim_marks, settle_marks
from tests.factories import AnonymousLeadFactory, LeadFactory
from tests.services import need_postgres

from .test_concurrency import ingest_concurrently

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def page_view(message_id, anonymous_id="anon-1", **fields):
    return {"message_id": message_id, "type": "page_view", "anonymous_id": anonymous_id, **fields}


def mark_of(anonymous_id="anon-1") -> RescoreMark:
    return RescoreMark.objects.get(lead__anonymous_id=anonymous_id)


@pytest.mark.smoke
@pytest.mark.django_db
def test_a_second_batch_for_a_lead_already_waiting_leaves_its_mark_as_it_was(post_events):
    post_events({"events": [page_view("m1")]})
    before = mark_of()
    post_events({"events": [page_view("m2")]})
    after = mark_of()
    assert (after.generation, after.settled_generation) == (1, 0)
    assert (after.marked_at, after.last_marked_at) == (before.marked_at, before.last_marked_at)


@pytest.mark.django_db
def test_a_batch_arriving_while_a_worker_rescores_the_lead_leaves_it_due_for_the_next_rescore(post_events):
    post_events({"events": [page_view("m1")]})
    claims = claim_marks()
    post_events({"events": [page_view("m2")]})
    settle_marks(claims=claims, now=timezone.now())
    mark = mark_of()
    assert (mark.generation, mark.settled_generation) == (2, 1)


@pytest.mark.django_db
def test_a_batch_for_a_lead_rescored_moments_ago_moves_its_last_mark_so_the_burst_waits(post_events):
    post_events({"events": [page_view("m1")]})
    settle_marks(claims=claim_marks(), now=timezone.now())
    settled = mark_of()
    post_events({"events": [page_view("m2")]})
    mark = mark_of()
    assert (mark.generation, mark.settled_generation) == (2, 1)
    assert mark.last_marked_at > settled.last_marked_at
    assert claim_marks() == []  # in a burst: it waits for the marks to pause


def test_rings_within_one_tenth_of_a_second_send_one_doorbell_now_and_one_for_the_end_of_it():
    window_starts = (int(time.time() / DOORBELL_WINDOW) + 1) * DOORBELL_WINDOW
    time.sleep(window_starts - time.time() + 0.005)  # well inside one window
    now, late, covered = _coalesced_countdown(), _coalesced_countdown(), _coalesced_countdown()
    assert now is None
    assert 0 < late <= DOORBELL_WINDOW + 0.01
    assert covered is not None and not isinstance(covered, float)


def lead_event(message_id: str, anonymous_id: str, minutes: int) -> Event:
    return Event(
        message_id=message_id,
        type="page_view",
        occurred_at=START + timedelta(minutes=minutes),
        properties={},
        properties_json="{}",
        anonymous_id=anonymous_id,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lead_another_transaction_holds_gets_its_last_engaged_at_right_after_the_commit():
    need_postgres()
    held, free = AnonymousLeadFactory(anonymous_id="held"), AnonymousLeadFactory(anonymous_id="free")
    settings = connection.settings_dict
    other = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )
    with other.cursor() as cursor:
        cursor.execute("SELECT id FROM leads_lead WHERE id = %s FOR NO KEY UPDATE", [held.pk])
    releaser = threading.Timer(0.5, other.rollback)
    releaser.start()
    try:
        statuses = record_events(events=[lead_event("h", "held", 5), lead_event("f", "free", 7)])
    finally:
        releaser.join()
        other.close()
    assert statuses == ["accepted", "accepted"]
    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.last_engaged_at, free.last_engaged_at) == (START + timedelta(minutes=5), START + timedelta(minutes=7))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_visitors_identified_in_one_process_while_another_stores_their_page_views_lose_no_event(tmp_path):
    need_postgres()
    for number in range(40):
        AnonymousLeadFactory(anonymous_id=f"visitor-{number}")
        LeadFactory(email=f"person{number}@example.com")
    identify = [
        page_view(f"id-{number}", f"visitor-{number}", type="signed_up", email=f"person{number}@example.com")
        for number in range(40)
    ]
    browse = [page_view(f"pv-{number}", f"visitor-{number % 40}") for number in range(400)]
    replies = ingest_concurrently(tmp_path, identify, browse)
    assert [reply["accepted"] for reply in replies] == [40, 400]
    assert Lead.objects.filter(merged_into__isnull=False).count() == 40
    assert not EngagementEvent.objects.filter(lead__merged_into__isnull=False).exists()
    for number in range(40):
        survivor = Lead.objects.get(email=f"person{number}@example.com")
        assert survivor.events.count() == 11
