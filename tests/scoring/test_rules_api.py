"""/api/v1/scoring-rules: read with leads:read, write with rules:write, errors in the envelope."""

import pytest
from rest_framework.test import APIClient

from events.services import create_api_key
from scoring.models import RescoreJob, RuleVersion, ScoringRule

pytestmark = pytest.mark.django_db

NEW_RULE = {
    "label": "Webinar registration",
    "kind": "behaviour",
    "event_type": "webinar_registered",
    "conditions": [{"field": "webinar", "op": "contains", "value": "pricing"}],
    "points": 8,
    "daily_cap": 1,
    "half_life_days": 14,
}


def client_with_key(*scopes, user=None) -> APIClient:
    _, raw = create_api_key(name="test", scopes=list(scopes), user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.smoke
def test_a_reader_lists_the_rules_with_the_latest_rescore_progress(default_rules, django_assert_max_num_queries):
    client = client_with_key("leads:read")
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/scoring-rules")
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == len(body["results"]) == ScoringRule.objects.count()
    assert body["results"][0]["label"] == "Demo request"
    assert body["rescore_job"] is None


def test_the_trailing_slash_reaches_the_same_view(default_rules):
    assert client_with_key("leads:read").get("/api/v1/scoring-rules/").status_code == 200


@pytest.mark.smoke
def test_a_marketer_creates_a_rule_and_a_full_rescore_starts(marketer):
    response = logged_in(marketer).post("/api/v1/scoring-rules", NEW_RULE, format="json")
    body = response.json()
    assert response.status_code == 201
    assert (body["version"], body["conditions"][0]["value"]) == (1, ["pricing"])
    assert RescoreJob.objects.get().status == "pending"


def test_patching_a_rule_returns_its_next_version(default_rules, marketer):
    rule = ScoringRule.objects.get(label="Demo request")
    response = logged_in(marketer).patch(f"/api/v1/scoring-rules/{rule.pk}", {"points": 45}, format="json")
    assert response.status_code == 200
    assert (response.json()["version"], response.json()["points"]) == (2, 45)
    assert RuleVersion.objects.get(rule=rule, version=2).changed_by == marketer


def test_deleting_a_rule_hides_it_and_keeps_its_versions(default_rules):
    rule = ScoringRule.objects.get(label="Blog view")
    client = client_with_key("rules:write", "leads:read")
    assert client.delete(f"/api/v1/scoring-rules/{rule.pk}").status_code == 204
    assert client.get(f"/api/v1/scoring-rules/{rule.pk}").status_code == 404
    assert RuleVersion.objects.filter(rule=rule).count() == 2


def test_an_invalid_rule_is_a_400_naming_the_field(marketer):
    bad = {**NEW_RULE, "conditions": [{"field": "url", "op": "matches", "value": "x"}]}
    response = logged_in(marketer).post("/api/v1/scoring-rules", bad, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "conditions.0.op" in response.json()["error"]["fields"]


def test_a_body_that_is_not_an_object_is_a_400(marketer):
    response = logged_in(marketer).post("/api/v1/scoring-rules", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_patching_an_unknown_field_is_a_400_naming_it(default_rules, marketer):
    rule = ScoringRule.objects.first()
    response = logged_in(marketer).patch(f"/api/v1/scoring-rules/{rule.pk}", {"version": 9}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()["error"]["fields"]


def test_an_unknown_rule_is_a_404_in_the_envelope(marketer):
    response = logged_in(marketer).get("/api/v1/scoring-rules/999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("who", "method", "expected"),
    [
        ("anonymous", "get", 401),
        ("reader key", "get", 200),
        ("reader key", "post", 403),
        ("rules key", "post", 201),
        ("sales rep", "get", 200),
        ("sales rep", "post", 403),
        ("rules key of a sales rep", "post", 403),
    ],
)
def test_who_may_read_and_edit_rules(who, method, expected, rep1):
    clients = {
        "anonymous": lambda: APIClient(),
        "reader key": lambda: client_with_key("leads:read"),
        "rules key": lambda: client_with_key("rules:write"),
        "sales rep": lambda: logged_in(rep1),
        "rules key of a sales rep": lambda: client_with_key("rules:write", user=rep1),
    }
    client = clients[who]()
    if method == "get":
        response = client.get("/api/v1/scoring-rules")
    else:
        response = client.post("/api/v1/scoring-rules", NEW_RULE, format="json")
    assert response.status_code == expected
