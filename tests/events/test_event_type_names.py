"""Conventional (Segment-style) event names are stored as Funnel's canonical types, so
the rules written for those types score them; other names are stored as given."""

import pytest
from rest_framework.test import APIClient

from events.event_types import canonical_event
from events.models import EngagementEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Form Submitted", "form_submitted"),
        ("form submitted", "form_submitted"),
        ("Email Opened", "email_opened"),
        ("Email Link Clicked", "email_clicked"),
        ("Page Viewed", "page_view"),
        ("Webinar Attended", "webinar_attended"),
        ("form_submitted", "form_submitted"),
        ("Trial Started", "Trial Started"),
    ],
)
def test_a_conventional_name_is_stored_as_its_canonical_type(sent, stored):
    assert canonical_event(sent, {})[0] == stored


def test_demo_requested_is_a_demo_request_form_unless_the_event_names_its_form():
    assert canonical_event("Demo Requested", {}) == ("form_submitted", {"form": "demo-request"})
    assert canonical_event("Demo Requested", {"form": "trial"}) == ("form_submitted", {"form": "trial"})


def test_the_api_stores_form_submitted_for_a_title_case_name(post_events):
    response = post_events({"type": "Form Submitted", "email": "ada@example.com", "properties": {"form": "x"}})
    assert response.status_code == 202, response.content
    assert EngagementEvent.objects.get().type == "form_submitted"


def test_a_segment_track_of_demo_requested_is_scored_as_a_demo_request(ingest_key):
    body = {"userId": "u-1", "event": "Demo Requested", "properties": {}, "writeKey": ingest_key.raw}
    response = APIClient().post("/v1/track", body, format="json")
    assert response.status_code == 200, response.content
    event = EngagementEvent.objects.get()
    assert (event.type, event.properties) == ("form_submitted", {"form": "demo-request"})
