"""Whatever JSON arrives, the ingest endpoints answer 2xx or 4xx, never 5xx."""

import base64
import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["2026-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01", "", "\x00", "a@b.co"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(
    [
        "message_id",
        "type",
        "email",
        "external_id",
        "anonymous_id",
        "properties",
        "occurred_at",
        "traits",
        "messageId",
        "userId",
        "anonymousId",
        "event",
        "timestamp",
        "sentAt",
        "previousId",
        "name",
        "events",
        "batch",
    ]
)
bodies = st.dictionaries(keys, values, max_size=6) | st.lists(st.dictionaries(keys, values, max_size=6), max_size=3)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(body=bodies)
def test_the_native_endpoint_never_answers_5xx(post_events, body):
    # json, not orjson: the strategies reach integers past 64 bits, which orjson cannot write.
    assert post_events(None, raw=json.dumps(body).encode()).status_code < 500


@SETTINGS
@given(body=bodies, call=st.sampled_from(["track", "identify", "page", "alias", "group", "batch"]))
def test_the_segment_endpoints_never_answer_5xx(ingest_key, body, call):
    auth = "Basic " + base64.b64encode(f"{ingest_key.raw}:".encode()).decode()
    response = Client().post(f"/v1/{call}", json.dumps(body), content_type="text/plain", HTTP_AUTHORIZATION=auth)
    assert response.status_code < 500
