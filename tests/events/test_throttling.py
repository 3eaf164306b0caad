import base64
import uuid

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


def fresh_address() -> str:
    return f"2001:db8::{uuid.uuid4().hex[:4]}"


def test_wrong_api_keys_from_one_address_are_rate_limited(settings):
    settings.FUNNEL_API_BAD_KEY_LIMIT = 3
    client = Client(REMOTE_ADDR=fresh_address())  # the counters live in Redis across runs
    statuses = [
        client.get("/api/v1/leads", HTTP_AUTHORIZATION=f"Bearer fk_badbad{n:02d}_guess").status_code for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_wrong_segment_write_keys_are_rate_limited_too(settings):
    settings.FUNNEL_API_BAD_KEY_LIMIT = 2
    client = Client(REMOTE_ADDR=fresh_address())
    message = orjson.dumps({"anonymousId": "a", "event": "E", "writeKey": "fk_badbad00_guess"})
    statuses = [client.post("/v1/track", message, content_type="application/json").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
