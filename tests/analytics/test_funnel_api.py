"""GET /api/v1/analytics/funnel: the report's numbers for API clients."""

import pytest

from events.services import create_api_key
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/analytics/funnel"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def bearer(scopes, user=None) -> dict:
    _, raw = create_api_key(name="reporting", scopes=scopes, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.smoke
def test_a_key_with_leads_read_gets_every_section(client, story):
    response = client.get(URL, MARCH, **bearer(["leads:read"]))
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {
        "conversion",
        "time_in_stage",
        "cohorts",
        "handoff",
        "close",
        "engagement",
        "delight",
        "scoring_accuracy",
    }
    assert body["handoff"]["raised"] == 3
    assert body["filters"] == {
        "from": "2026-03-01",
        "to": "2026-03-31",
        "source": None,
        "campaign": None,
        "owner": None,
    }


def test_the_path_with_a_trailing_slash_answers_the_same(client, story):
    response = client.get(URL + "/", MARCH, **bearer(["leads:read"]))
    assert response.status_code == 200
    assert response.json()["close"]["won"] == 1


def test_filters_narrow_the_numbers(client, story):
    response = client.get(URL, {**MARCH, "campaign": "autumn"}, **bearer(["leads:read"]))
    assert response.json()["close"]["lost"] == 1
    assert response.json()["close"]["won"] == 0


def test_no_key_is_401_with_the_bearer_challenge(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"]


def test_a_key_without_leads_read_is_403(client):
    response = client.get(URL, **bearer(["events:write"]))
    assert response.status_code == 403


def test_a_key_bound_to_a_sales_rep_is_403(client, rep1):
    response = client.get(URL, **bearer(["leads:read"], user=rep1))
    assert response.status_code == 403, response.content


def test_a_marketers_session_may_read_it(client, marketer):
    client.force_login(marketer)
    assert client.get(URL).status_code == 200


def test_bad_dates_are_a_400_envelope_naming_the_field(client):
    response = client.get(URL, {"from": "2026-05-01", "to": "2026-04-01"}, **bearer(["leads:read"]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "from" in error["fields"]


def test_a_non_numeric_owner_is_a_400_naming_owner(client):
    response = client.get(URL, {"owner": "rep1"}, **bearer(["leads:read"]))
    assert response.status_code == 400
    assert "owner" in response.json()["error"]["fields"]


def test_an_admin_key_reads_it_too(client):
    admin = factories.admin_user(username="root")
    assert client.get(URL, **bearer(["admin"], user=admin)).status_code == 200


@pytest.mark.parametrize(
    "query, field",
    [
        ({"from": "0001-01-01", "to": "0001-01-03"}, "from"),
        ({"from": "9999-12-20", "to": "9999-12-31"}, "from"),
        ({"owner": str(10**30)}, "owner"),
        ({"source": "web\x00site"}, "source"),
    ],
)
def test_edge_values_are_400s_naming_the_field_never_500s(client, query, field):
    response = client.get(URL, query, **bearer(["leads:read"]))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_api_costs_the_same_queries_however_much_data(client, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analytics.services import refresh_analytics
    from tests.analytics.conftest import build_story

    headers = bearer(["leads:read"])
    client.get(URL, MARCH, **headers)  # the key's first use writes last_used_at once
    build_story()
    refresh_analytics()
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL, MARCH, **headers).status_code == 200
    for _ in range(3):
        build_story()
    refresh_analytics()
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(URL, MARCH, **headers).status_code == 200
