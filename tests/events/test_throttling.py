import base64

import orjson
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_key_over_its_rate_gets_429_with_retry_after(post_events, settings):
    settings.FUNNEL_API_RATE_LIMIT = 2
    statuses = [post_events({"type": "page_view", "anonymous_id": "a"}).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    response = post_events({"type": "page_view", "anonymous_id": "a"})
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= settings.FUNNEL_API_RATE_WINDOW


def test_the_segment_endpoints_count_against_the_same_rate(ingest_key, settings):
    settings.FUNNEL_API_RATE_LIMIT = 1
    auth = "Basic " + base64.b64encode(f"{ingest_key.raw}:".encode()).decode()
    message = orjson.dumps({"anonymousId": "a", "event": "E"})
    client = Client()
    first = client.post("/v1/track", message, content_type="application/json", HTTP_AUTHORIZATION=auth)
    second = client.post("/v1/track", message, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert (first.status_code, second.status_code) == (200, 429)
    assert int(second["Retry-After"]) >= 1
