"""Erasing a person also removes their events still waiting in the ingest intake
(answered `accepted`, not yet processed by a worker): otherwise the worker would
process them after the erasure and bring the person back as a new lead."""

import pytest

from events.models import EngagementEvent, IncomingEvent
from events.processing import process_all_incoming_events
from leads.actors import Actor
from leads.models import Lead
from leads.services import erase_lead
from tests.factories import LeadFactory
from tests.services import need_postgres

pytestmark = pytest.mark.django_db

EMAIL = "wilhelmina.erasable@example.com"


@pytest.fixture
def deferred(settings):
    need_postgres()
    settings.FUNNEL_INGEST_INLINE = False


def event(message_id: str, **person) -> dict:
    return {"message_id": message_id, "type": "page_view", **person}


def test_an_erased_persons_waiting_events_never_bring_them_back(deferred, post_events, marketer):
    lead = LeadFactory(email=EMAIL, external_id="crm-4711", anonymous_id="anon-4711")
    post_events(
        {
            "events": [
                event("by-email", email=EMAIL.upper()),
                event("by-external-id", external_id="crm-4711"),
                event("by-anonymous-id", anonymous_id="anon-4711"),
            ]
        }
    )

    erase_lead(lead=lead, actor=Actor.for_user(marketer))
    process_all_incoming_events()

    assert IncomingEvent.objects.count() == 0
    assert EngagementEvent.objects.count() == 0
    assert list(Lead.objects.values_list("pk", flat=True)) == [lead.pk]


def test_erasing_a_person_leaves_other_peoples_waiting_events(deferred, post_events, marketer):
    lead = LeadFactory(email=EMAIL)
    post_events({"events": [event("theirs", email=EMAIL), event("someone-else", email="other@example.com")]})

    erase_lead(lead=lead, actor=Actor.for_user(marketer))

    assert list(IncomingEvent.objects.values_list("message_id", flat=True)) == ["someone-else"]
