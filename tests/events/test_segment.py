import base64
import gzip

import orjson
import pytest
from django.test import Client
from django.utils import timezone

from events.models import EngagementEvent
from events.services import create_api_key
from leads.models import Lead
from leads.stages import Stage

pytestmark = pytest.mark.django_db


def basic(raw_key: str) -> str:
    return "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()


@pytest.fixture
def segment(ingest_key):
    client = Client()

    def post(path, body, *, auth=True, content_type="application/json", gzipped=False, raw=None, **extra):
        data = raw if raw is not None else orjson.dumps(body)
        if gzipped:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        if auth:
            extra["HTTP_AUTHORIZATION"] = basic(ingest_key.raw)
        return client.generic("POST", path, data, content_type=content_type, **extra)

    return post


@pytest.mark.smoke
def test_a_track_call_is_stored_under_its_event_name_and_answered_success(segment):
    response = segment(
        "/v1/track",
        {"messageId": "s1", "anonymousId": "a1", "event": "Webinar Registered", "properties": {"webinar": "w1"}},
    )
    assert response.status_code == 200
    assert response.json() == {"success": True}
    stored = EngagementEvent.objects.get(message_id="s1")
    assert (stored.type, stored.properties, stored.source) == ("webinar_registered", {"webinar": "w1"}, "segment")


def test_a_page_call_is_a_page_view(segment):
    segment("/v1/page", {"messageId": "p1", "anonymousId": "a1", "name": "Pricing", "properties": {"url": "/pricing"}})
    stored = EngagementEvent.objects.get(message_id="p1")
    assert stored.type == "page_view" and stored.properties == {"url": "/pricing", "name": "Pricing"}


def test_identify_maps_traits_onto_the_lead_and_is_stored_as_identify(segment):
    segment("/v1/page", {"messageId": "p1", "anonymousId": "a1"})
    segment(
        "/v1/identify",
        {
            "messageId": "i1",
            "anonymousId": "a1",
            "userId": "u-42",
            "traits": {"email": "ada@example.com", "name": "Ada Lovelace", "company": "Engines", "title": "CTO"},
        },
    )
    lead = Lead.objects.get(anonymous_id="a1")
    assert (lead.email, lead.external_id, lead.first_name, lead.last_name) == (
        "ada@example.com",
        "u-42",
        "Ada",
        "Lovelace",
    )
    assert (lead.company, lead.job_title, lead.stage) == ("Engines", "CTO", Stage.LEAD_GEN)
    assert EngagementEvent.objects.get(message_id="i1").type == "identify"


def test_alias_links_an_anonymous_id_to_a_user_id(segment):
    segment("/v1/track", {"messageId": "t1", "userId": "u-7", "event": "Signed Up"})
    segment("/v1/page", {"messageId": "p1", "anonymousId": "browser-1"})
    segment("/v1/alias", {"messageId": "al1", "previousId": "browser-1", "userId": "u-7"})
    survivor = Lead.objects.get(external_id="u-7")
    assert Lead.objects.get(anonymous_id="browser-1").merged_into == survivor
    assert set(survivor.events.values_list("message_id", flat=True)) == {"t1", "p1", "al1"}


def test_a_batch_with_the_browser_short_form_text_plain_and_write_key_in_the_body(segment, ingest_key):
    body = {
        "writeKey": ingest_key.raw,
        "batch": [
            {"type": "page", "messageId": "b1", "anonymousId": "a1"},
            {"type": "track", "messageId": "b2", "anonymousId": "a1", "event": "Clicked"},
        ],
    }
    response = segment("/v1/b", body, auth=False, content_type="text/plain")
    assert response.status_code == 200
    assert EngagementEvent.objects.filter(message_id__in=["b1", "b2"]).count() == 2


def test_every_short_form_is_routed(segment):
    for short in "itpsg":
        message = {"messageId": f"x-{short}", "anonymousId": "a1", "event": "E", "groupId": "g"}
        assert segment(f"/v1/{short}", message).status_code == 200, short
    assert segment("/v1/a", {"messageId": "x-a", "previousId": "a2", "userId": "u"}).status_code == 200


def test_a_gzip_body_is_accepted(segment):
    response = segment("/v1/track", {"messageId": "g1", "anonymousId": "a", "event": "E"}, gzipped=True)
    assert response.status_code == 200
    assert EngagementEvent.objects.filter(message_id="g1").exists()


def test_a_replayed_message_is_success_and_stored_once(segment):
    message = {"messageId": "dup", "anonymousId": "a", "event": "E"}
    assert segment("/v1/track", message).status_code == 200
    assert segment("/v1/track", message).status_code == 200
    assert EngagementEvent.objects.filter(message_id="dup").count() == 1


def test_the_timestamp_is_corrected_by_sent_at_for_client_clock_skew(segment):
    # The client's clock runs one hour ahead: it says it sent at 13:00 an event of 12:59.
    segment(
        "/v1/track",
        {
            "messageId": "skew",
            "anonymousId": "a",
            "event": "E",
            "timestamp": "2030-01-01T12:59:00Z",
            "sentAt": "2030-01-01T13:00:00Z",
        },
    )
    occurred = EngagementEvent.objects.get(message_id="skew").occurred_at
    assert abs((timezone.now() - occurred).total_seconds() - 60) < 5


def test_a_message_without_user_id_or_anonymous_id_is_400(segment):
    response = segment("/v1/track", {"messageId": "x", "event": "E"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"userId": ["Give userId or anonymousId."]}


def test_a_body_that_is_not_json_is_400(segment):
    assert segment("/v1/track", None, raw=b"<xml/>").status_code == 400


def test_a_message_over_32_kb_is_413(segment):
    big = {"messageId": "big", "anonymousId": "a", "event": "E", "properties": {"x": "y" * 33 * 1024}}
    assert segment("/v1/track", big).status_code == 413
    assert segment("/v1/batch", {"batch": [{**big, "type": "track"}]}).status_code == 413


def test_a_batch_over_500_kb_is_413(segment):
    messages = [
        {"type": "track", "messageId": f"m{i}", "anonymousId": "a", "event": "E", "properties": {"x": "y" * 20000}}
        for i in range(30)
    ]
    assert segment("/v1/batch", {"batch": messages}).status_code == 413
    assert not EngagementEvent.objects.exists()


def test_a_missing_write_key_is_401_and_a_key_without_events_write_is_403(segment):
    message = {"messageId": "x", "anonymousId": "a", "event": "E"}
    response = segment("/v1/track", message, auth=False)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    _, reader = create_api_key(name="Reader", scopes=["leads:read"])
    response = segment("/v1/track", message, auth=False, HTTP_AUTHORIZATION=basic(reader))
    assert response.status_code == 403


def test_cors_preflight_from_a_configured_origin_is_allowed(segment, settings):
    settings.FUNNEL_CORS_ORIGINS = ["https://www.example.com"]
    response = Client().options(
        "/v1/t",
        HTTP_ORIGIN="https://www.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]


def test_a_post_from_a_configured_origin_carries_the_cors_header(segment, settings):
    settings.FUNNEL_CORS_ORIGINS = ["https://www.example.com"]
    response = segment(
        "/v1/t", {"messageId": "c1", "anonymousId": "a", "event": "E"}, HTTP_ORIGIN="https://www.example.com"
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://www.example.com"


def test_an_origin_that_is_not_configured_is_refused(segment, settings):
    settings.FUNNEL_CORS_ORIGINS = ["https://www.example.com"]
    response = segment("/v1/t", {"messageId": "c1", "anonymousId": "a", "event": "E"}, HTTP_ORIGIN="https://evil.test")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not EngagementEvent.objects.exists()


def test_a_timestamp_and_sent_at_centuries_apart_is_400_not_500(segment):
    message = {"anonymousId": "a", "event": "E", "timestamp": "9999-12-31T23:59:59Z", "sentAt": "1970-01-01T00:00:00Z"}
    response = segment("/v1/track", message)
    assert response.status_code == 400
    assert "timestamp" in response.json()["error"]["fields"]


def test_a_clock_skew_correction_that_lands_before_2000_is_400_naming_the_timestamp(segment):
    # 1970 with sentAt 2900: the plain correction would store an event in the year 1096.
    message = {"anonymousId": "a", "event": "E", "timestamp": "1970-01-01T00:00:00Z", "sentAt": "2900-01-01T00:00:00Z"}
    response = segment("/v1/track", message)
    assert response.status_code == 400
    assert "before 2000" in response.json()["error"]["fields"]["timestamp"][0]
    assert not EngagementEvent.objects.exists()
