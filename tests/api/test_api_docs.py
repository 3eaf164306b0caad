"""The API docs work without internet, describe the ingest body, are linked from the
settings page, and a client using the wrong auth scheme is told the right one."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from events.services import create_api_key

pytestmark = pytest.mark.django_db


def test_the_docs_page_loads_swagger_ui_from_the_installation_not_a_cdn(admin):
    client = Client()
    client.force_login(admin)
    html = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html


def test_the_ingest_endpoint_describes_single_and_batch_bodies(admin):
    client = Client()
    client.force_login(admin)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/IngestRequest"}
    variants = schema["components"]["schemas"]["IngestRequest"]["oneOf"]
    assert {"$ref": "#/components/schemas/IngestEvent"} in variants
    assert {"$ref": "#/components/schemas/IngestBatch"} in variants
    assert "type" in schema["components"]["schemas"]["IngestEvent"]["required"]


def test_the_settings_page_links_the_docs(admin):
    client = Client()
    client.force_login(admin)
    assert 'href="/api/docs/"' in client.get("/settings/").content.decode()


@pytest.mark.parametrize("scheme", ["Token", "ApiKey"])
def test_a_key_sent_with_another_scheme_is_told_the_scheme_is_bearer(scheme):
    _, raw = create_api_key(name="Test key", scopes=["leads:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {raw}")
    response = client.get("/api/v1/leads")
    assert response.status_code == 401
    assert "“Bearer”" in response.json()["error"]["message"]
