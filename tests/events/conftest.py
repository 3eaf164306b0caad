import gzip

import orjson
import pytest
from rest_framework.test import APIClient

from events.services import create_api_key


@pytest.fixture
def ingest_key(db):
    api_key, raw = create_api_key(name="Website", scopes=["events:write"])
    api_key.raw = raw
    return api_key


@pytest.fixture
def client_for():
    def make(raw_key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        return client

    return make


@pytest.fixture
def post_events(client_for, ingest_key):
    client = client_for(ingest_key.raw)

    def post(body, *, gzipped: bool = False, raw: bytes | None = None, **extra):
        data = raw if raw is not None else orjson.dumps(body)
        if gzipped:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        return client.generic("POST", "/api/v1/events", data, content_type="application/json", **extra)

    return post
