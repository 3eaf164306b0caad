"""A required service that is down answers 503 with Retry-After (CONTRACT.md, Errors):
the error envelope for API clients, a page for people; the broker being down does not
cost an accepted event (the database is the source of truth)."""

import base64

import orjson
import pytest
from django.test import Client
from rest_framework.test import APIClient

from events.models import EngagementEvent
from events.services import create_api_key
from tests.outages import database_unreachable

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.smoke]

REDIS_DOWN = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
}


@pytest.fixture
def ingest_client(transactional_db):
    _api_key, raw = create_api_key(name="Website", scopes=["events:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def post_one(client, message_id="m-1"):
    body = orjson.dumps({"message_id": message_id, "type": "page_view", "email": "ada@example.com"})
    return client.generic("POST", "/api/v1/events", body, content_type="application/json")


def test_ingest_answers_503_with_retry_after_and_the_error_envelope_while_the_database_is_down(ingest_client):
    with database_unreachable():
        response = post_one(ingest_client)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.json()["error"]["service"] == "database"


def test_ingest_succeeds_again_by_itself_once_the_database_is_back(ingest_client):
    with database_unreachable():
        assert post_one(ingest_client).status_code == 503
    response = post_one(ingest_client)
    assert (response.status_code, response.json()["accepted"]) == (202, 1)
    assert EngagementEvent.objects.filter(message_id="m-1").count() == 1


def test_a_page_answers_503_with_a_page_for_people_while_the_database_is_down(marketer):
    client = Client()
    client.force_login(marketer)
    with database_unreachable():
        response = client.get("/leads/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert b"Back in a moment" in response.content


def basic(raw_key: str) -> str:
    return "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()


def test_a_segment_call_answers_503_while_the_database_is_down():
    _api_key, raw = create_api_key(name="Segment", scopes=["events:write"])
    body = orjson.dumps({"userId": "u-1", "event": "Signed Up", "messageId": "s-1"})
    with database_unreachable():
        response = Client().post("/v1/track", body, content_type="application/json", HTTP_AUTHORIZATION=basic(raw))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_ingest_still_accepts_events_while_the_rate_limit_cache_is_down(ingest_client, settings):
    settings.CACHES = REDIS_DOWN
    response = post_one(ingest_client, message_id="m-cache-down")
    assert (response.status_code, response.json()["accepted"]) == (202, 1)
    assert EngagementEvent.objects.filter(message_id="m-cache-down").exists()
