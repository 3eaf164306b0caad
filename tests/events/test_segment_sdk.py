"""The real segment-analytics-python SDK, pointed at Funnel's live test server."""

import pytest
from segment.analytics import Client

from events.models import EngagementEvent
from events.services import create_api_key
from leads.models import Lead


@pytest.mark.django_db(transaction=True)
def test_the_official_python_sdk_delivers_identify_track_page_and_alias(live_server):
    _, raw_key = create_api_key(name="Python SDK", scopes=["events:write"])
    failures = []
    client = Client(
        write_key=raw_key,
        host=live_server.url,
        sync_mode=True,
        gzip=True,
        max_retries=1,
        on_error=lambda error, batch: failures.append(error),
    )
    client.page(anonymous_id="browser-1", name="Pricing", properties={"url": "https://example.com/pricing"})
    client.track(user_id="u-1", event="Demo Requested", properties={"form": "demo"}, message_id="sdk-track-1")
    client.identify(user_id="u-1", traits={"email": "ada@example.com", "firstName": "Ada", "company": "Engines"})
    client.alias(previous_id="browser-1", user_id="u-1")
    client.track(user_id="u-1", event="Demo Requested", message_id="sdk-track-1")  # a retry: stored once
    client.flush()

    assert failures == []
    lead = Lead.objects.get(external_id="u-1")
    assert (lead.email, lead.first_name, lead.company) == ("ada@example.com", "Ada", "Engines")
    assert Lead.objects.get(anonymous_id="browser-1").merged_into == lead
    # Segment's conventional "Demo Requested" is stored as the canonical form_submitted.
    assert sorted(lead.events.values_list("type", flat=True)) == [
        "alias",
        "form_submitted",
        "identify",
        "page_view",
    ]
    assert EngagementEvent.objects.filter(message_id="sdk-track-1").count() == 1
