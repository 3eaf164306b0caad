import pytest
from rest_framework.test import APIClient

from events.services import create_api_key


@pytest.fixture
def api_as():
    """A client authenticated with a fresh API key: api_as(scopes, user=None)."""

    def make(*scopes: str, user=None) -> APIClient:
        _, raw = create_api_key(name="Test key", scopes=scopes, user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def session_as():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make
