"""The worker's watchman collects intake rows no doorbell delivered (the broker was
down, or a consumer stopped listening): overdue rows are processed, fresh ones are
left to the doorbell that is on its way."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import EngagementEvent, IncomingEvent
from events.overdue import process_overdue_incoming
from tests.services import need_postgres

pytestmark = pytest.mark.django_db

TEN_SECONDS = timedelta(seconds=10)


@pytest.fixture
def deferred(settings):
    need_postgres()
    settings.FUNNEL_INGEST_INLINE = False


def page_view(message_id: str) -> dict:
    return {"message_id": message_id, "type": "page_view", "email": f"{message_id}@example.com"}


def test_events_that_waited_longer_than_a_doorbell_takes_are_processed(deferred, post_events):
    post_events({"events": [page_view("waited-1"), page_view("waited-2")]})
    IncomingEvent.objects.update(received_at=timezone.now() - timedelta(seconds=30))

    assert process_overdue_incoming(older_than=TEN_SECONDS) == 2

    assert not IncomingEvent.objects.exists()
    assert set(EngagementEvent.objects.values_list("message_id", flat=True)) == {"waited-1", "waited-2"}


def test_events_that_just_arrived_are_left_to_their_doorbell(deferred, post_events):
    post_events({"events": [page_view("just-now")]})

    assert process_overdue_incoming(older_than=TEN_SECONDS) == 0

    assert list(IncomingEvent.objects.values_list("message_id", flat=True)) == ["just-now"]
    assert not EngagementEvent.objects.exists()


def test_an_empty_intake_costs_one_query(deferred, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert process_overdue_incoming(older_than=TEN_SECONDS) == 0
