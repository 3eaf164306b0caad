"""The contract's promises that cut across every app (CONTRACT.md "URLs", "Errors",
"Authentication"; GOALS.md "Security"): trailing slashes, the error envelope, bad JSON,
secrets at rest, CSV formula injection, HTML escaping and CSRF."""

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from analytics.services import refresh_analytics
from events.models import ApiKey, EngagementEvent
from events.services import create_api_key
from leads.stages import Stage
from sales.models import WebhookEndpoint
from sales.webhooks import create_webhook_endpoint, decrypt_secret
from scoring import rules
from tests import factories
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


def key_client(raw: str, **extra) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"}, **extra)


def send(client: Client, method: str, path: str, body=None, *, raw: bytes | None = None, content_type=None):
    if raw is None and body is None:
        return client.generic(method, path)
    data = raw if raw is not None else json.dumps(body)
    return client.generic(method, path, data, content_type=content_type or "application/json")


@pytest.fixture
def admin_key(admin) -> str:
    return create_api_key(name="admin", scopes=["admin"], user=admin)[1]


@pytest.fixture
def objects(rep1):
    lead = factories.LeadFactory(stage=Stage.SAL, owner=rep1)
    alert = make_alert()
    rule = rules.create_rule(
        data={"label": "Conformance", "kind": "behaviour", "event_type": "webinar_registered", "points": 3}
    )
    return {"lead": lead.pk, "alert": alert.pk, "rule": rule.pk}


def assert_envelope(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "fields"} <= set(error), error
    assert isinstance(error["code"], str) and error["code"] == error["code"].lower() and " " not in error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


# --- Trailing slashes ---------------------------------------------------------------

# Every API path of CONTRACT.md, with a request each that changes nothing, so the two
# spellings can be compared on the same data.
SLASH_REQUESTS = [
    ("POST", "/api/v1/events", {"message_id": "slash-1", "type": "page_view", "anonymous_id": "a"}),
    ("GET", "/api/v1/leads", None),
    ("POST", "/api/v1/leads", {"email": "not an email"}),
    ("GET", "/api/v1/leads/{lead}", None),
    ("PATCH", "/api/v1/leads/{lead}", {"email": "not an email"}),
    ("DELETE", "/api/v1/leads/999999999", None),
    ("POST", "/api/v1/leads/{lead}/transitions", {"to": "nowhere"}),
    ("GET", "/api/v1/scoring-rules", None),
    ("POST", "/api/v1/scoring-rules", {"label": ""}),
    ("GET", "/api/v1/scoring-rules/{rule}", None),
    ("PATCH", "/api/v1/scoring-rules/{rule}", {"points": "many"}),
    ("DELETE", "/api/v1/scoring-rules/999999999", None),
    ("GET", "/api/v1/queue", None),
    ("POST", "/api/v1/queue/999999999/accept", None),
    ("POST", "/api/v1/queue/{alert}/reject", {"reason": "not a reason"}),
    ("GET", "/api/v1/analytics/funnel", None),
    ("GET", "/api/v1/analytics/attribution", None),
    ("GET", "/api/v1/campaign-spend", None),
    ("POST", "/api/v1/campaign-spend", {"campaign": "", "month": "never", "amount": -1}),
]


@pytest.mark.parametrize(("method", "path", "body"), SLASH_REQUESTS, ids=[f"{m} {p}" for m, p, _ in SLASH_REQUESTS])
def test_an_api_path_answers_the_same_with_and_without_a_trailing_slash(admin_key, objects, method, path, body):
    client = key_client(admin_key)
    path = path.format(**objects)
    bare = send(client, method, path, body)
    slashed = send(client, method, path + "/", body)

    assert bare.status_code < 300 or bare.status_code >= 400, "no redirect"
    assert (slashed.status_code, slashed["Content-Type"]) == (bare.status_code, bare["Content-Type"])
    if method == "GET":
        assert slashed.json() == bare.json()


@pytest.mark.parametrize("path", ["/v1/track", "/v1/t", "/v1/batch", "/v1/b"])
def test_a_segment_path_answers_the_same_with_and_without_a_trailing_slash(path):
    _, raw = create_api_key(name="segment", scopes=["events:write"])
    client = Client()
    message = {"type": "track", "event": "Signed Up", "userId": "u-1", "messageId": "slash-seg", "writeKey": raw}
    body = {"batch": [message], "writeKey": raw} if path.endswith(("batch", "b")) else message
    bare = send(client, "POST", path, body)
    slashed = send(client, "POST", path + "/", body)
    assert bare.status_code == slashed.status_code == 200
    assert bare.json() == slashed.json() == {"success": True}


# --- The error envelope ---------------------------------------------------------------


@pytest.mark.smoke
def test_no_key_is_a_401_in_the_envelope_asking_for_a_bearer_key():
    response = Client().get("/api/v1/leads")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert assert_envelope(response)["code"] == "not_authenticated"


def test_a_malformed_authorization_header_is_a_401_not_a_500():
    for header in ["Bearer", "Bearer a b", "Bearer fk_short_x", "Bearer fk__", "Bearer \u00e9\u00e9"]:
        response = Client(headers={"Authorization": header}).get("/api/v1/leads")
        assert response.status_code == 401, header
        assert_envelope(response)


def test_a_missing_scope_is_a_403_in_the_envelope():
    _, raw = create_api_key(name="reader", scopes=["leads:read"])
    response = send(key_client(raw), "POST", "/api/v1/leads", {"email": "x@example.com"})
    assert response.status_code == 403
    assert assert_envelope(response)["code"] == "missing_scope"


def test_an_unknown_object_is_a_404_in_the_envelope(admin_key):
    response = key_client(admin_key).get("/api/v1/leads/999999999")
    assert response.status_code == 404
    assert assert_envelope(response)["code"] == "not_found"


def test_invalid_fields_are_a_400_naming_each_field(admin_key):
    response = send(key_client(admin_key), "POST", "/api/v1/leads", {"email": "not an email", "company_size": -3})
    assert response.status_code == 400
    error = assert_envelope(response)
    assert error["code"] == "invalid"
    assert {"email", "company_size"} <= set(error["fields"])


def test_a_refused_stage_move_is_a_409_stage_move_refused(admin_key):
    lead = factories.LeadFactory(stage=Stage.NURTURE)
    response = send(key_client(admin_key), "POST", f"/api/v1/leads/{lead.pk}/transitions", {"to": "demand_gen"})
    assert response.status_code == 409
    assert assert_envelope(response)["code"] == "stage_move_refused"


def test_a_method_an_endpoint_lacks_is_refused_in_the_envelope(admin_key):
    response = send(key_client(admin_key), "DELETE", "/api/v1/analytics/funnel")
    assert response.status_code == 405
    assert assert_envelope(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/v1/leads"), ("DELETE", "/api/v1/queue"), ("GET", "/api/v1/leads/{lead}/transitions")],
)
def test_a_method_an_endpoint_does_not_have_is_a_405_naming_the_ones_it_has(admin_key, objects, method, path):
    response = send(key_client(admin_key), method, path.format(**objects))
    assert response.status_code == 405
    assert assert_envelope(response)["code"] == "method_not_allowed"
    assert response["Allow"]


def test_an_undeclared_method_still_asks_an_anonymous_caller_for_a_key():
    response = send(Client(), "PUT", "/api/v1/leads")
    assert response.status_code == 401


def test_a_body_in_an_unsupported_media_type_is_a_415_in_the_envelope(admin_key):
    response = send(key_client(admin_key), "POST", "/api/v1/leads", raw=b"email,x", content_type="text/csv")
    assert response.status_code == 415
    assert_envelope(response)


def test_an_oversized_event_batch_is_a_413_in_the_envelope(admin_key):
    event = {"type": "page_view", "anonymous_id": "a", "properties": {"padding": "x" * 2000}}
    response = send(key_client(admin_key), "POST", "/api/v1/events", {"events": [event] * 600})
    assert response.status_code == 413
    assert_envelope(response)


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/leads/abc", "/api/v1/queue/-1/accept"])
def test_an_api_path_no_route_matches_is_a_404_in_the_envelope(admin_key, path):
    response = key_client(admin_key).get(path)
    assert response.status_code == 404
    assert_envelope(response)


# --- Bad JSON is a 400, never a 500 -------------------------------------------------------

BODY_ENDPOINTS = [
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/leads"),
    ("PATCH", "/api/v1/leads/{lead}"),
    ("POST", "/api/v1/leads/{lead}/transitions"),
    ("POST", "/api/v1/scoring-rules"),
    ("PATCH", "/api/v1/scoring-rules/{rule}"),
    ("POST", "/api/v1/queue/{alert}/reject"),
]
BAD_BODIES = {
    "cut short": b'{"email": ',
    "not utf-8": b'{"email": "\xff\xfe"}',
    "a list": b"[1, 2]",
    "a string": b'"lead"',
    "null": b"null",
    "nan": b'{"points": NaN}',
    "deeply nested": b"[" * 5000 + b"]" * 5000,
}


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS, ids=[f"{m} {p}" for m, p in BODY_ENDPOINTS])
@pytest.mark.parametrize("body", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_a_body_that_is_not_a_json_object_is_a_400_never_a_500(admin_key, objects, method, path, body):
    response = send(key_client(admin_key), method, path.format(**objects), raw=body)
    assert response.status_code == 400, response.content[:300]
    assert_envelope(response)


@pytest.mark.smoke
def test_bad_json_to_the_leads_api_is_a_400_parse_error(admin_key):
    response = send(key_client(admin_key), "POST", "/api/v1/leads", raw=b"{")
    assert response.status_code == 400
    assert assert_envelope(response)["code"] == "parse_error"


@pytest.mark.parametrize("body", [b"{", b"[]", b'"x"', b"\x1f\x8b not gzip"], ids=["cut", "list", "string", "gzip"])
def test_bad_json_to_a_segment_endpoint_is_a_400(body):
    _, raw = create_api_key(name="segment", scopes=["events:write"])
    response = Client().post("/v1/track", body, content_type="application/json", headers=_basic(raw))
    assert response.status_code == 400


def test_lead_filters_out_of_postgresqls_range_are_a_400_not_a_500(admin_key):
    client = key_client(admin_key)
    assert client.get("/api/v1/leads", {"created_before": "0667-11-13T15:37:49-21:30"}).status_code == 200
    response = client.get("/api/v1/leads", {"created_after": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert "created_after" in assert_envelope(response)["fields"]


def _basic(raw: str) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{raw}:".encode()).decode()}


# --- What the schema documents --------------------------------------------------------------


@pytest.fixture
def openapi(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


def _operations(schema: dict):
    """(method, path, operation), the path spelled as the contract writes it (no trailing slash)."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method != "parameters":
                yield method.upper(), path.rstrip("/"), operation


def _operation(schema: dict, method: str, path: str) -> dict:
    return next(op for m, p, op in _operations(schema) if (m, p) == (method, path))


OPERATIONS = [
    ("GET", "/api/v1/analytics/funnel"),
    ("GET", "/api/v1/analytics/attribution"),
    ("GET", "/api/v1/campaign-spend"),
    ("POST", "/api/v1/campaign-spend"),
    ("POST", "/api/v1/events"),
    ("GET", "/api/v1/leads"),
    ("POST", "/api/v1/leads"),
    ("GET", "/api/v1/leads/{lead_id}"),
    ("PATCH", "/api/v1/leads/{lead_id}"),
    ("DELETE", "/api/v1/leads/{lead_id}"),
    ("POST", "/api/v1/leads/{lead_id}/transitions"),
    ("GET", "/api/v1/queue"),
    ("POST", "/api/v1/queue/{alert_id}/accept"),
    ("POST", "/api/v1/queue/{alert_id}/reject"),
    ("GET", "/api/v1/scoring-rules"),
    ("POST", "/api/v1/scoring-rules"),
    ("GET", "/api/v1/scoring-rules/{rule_id}"),
    ("PATCH", "/api/v1/scoring-rules/{rule_id}"),
    ("DELETE", "/api/v1/scoring-rules/{rule_id}"),
]


def test_the_schema_lists_every_api_operation_of_the_contract(openapi):
    listed = {(method, path) for method, path, _ in _operations(openapi)}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_each_operation_documents_the_errors_it_answers(openapi, method, path):
    operation = _operation(openapi, method, path)
    documented = set(operation["responses"])
    expected = {"401", "403"}
    if "{" in path:
        expected.add("404")
    if method in ("POST", "PATCH") and not path.endswith("/accept"):
        expected.add("400")
    assert expected <= documented, f"undocumented: {sorted(expected - documented)}"


def test_every_id_in_a_path_is_documented_as_an_integer(openapi):
    for _, path, operation in _operations(openapi):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["type"] == "integer", (path, parameter)


def _components_reached(openapi: dict, node) -> set[str]:
    if isinstance(node, dict):
        reached = set()
        for key, value in node.items():
            if key == "$ref":
                name = value.rsplit("/", 1)[-1]
                reached |= {name} | _components_reached(openapi, openapi["components"]["schemas"][name])
            else:
                reached |= _components_reached(openapi, value)
        return reached
    if isinstance(node, list):
        return set().union(*(_components_reached(openapi, item) for item in node))
    return set()


def test_the_ingest_400_documents_both_answers_it_gives(openapi):
    """A rejected single event answers the ingest reply; a body that is not JSON, the envelope."""
    documented = _operation(openapi, "POST", "/api/v1/events")["responses"]["400"]
    assert {"IngestReply", "IngestError"} <= _components_reached(openapi, documented)


# --- Secrets at rest -------------------------------------------------------------------------


def _stored_values(instance) -> str:
    return " ".join(str(getattr(instance, field.attname)) for field in instance._meta.concrete_fields)


def _assert_key_kept_as_prefix_and_sha256(raw: str) -> None:
    _, prefix, secret = raw.split("_", 2)
    api_key = ApiKey.objects.get(prefix=prefix)
    assert api_key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in _stored_values(api_key)
    assert raw not in _stored_values(api_key)


@pytest.mark.smoke
def test_an_api_key_is_kept_only_as_its_prefix_and_a_sha256_of_its_secret(admin):
    _, raw = create_api_key(name="Website", scopes=["events:write"], user=admin)
    _assert_key_kept_as_prefix_and_sha256(raw)


def test_the_create_api_key_command_prints_a_key_that_is_not_stored(admin):
    out = StringIO()
    call_command("create_api_key", "CRM sync", "--scopes", "leads:read,leads:write", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip().splitlines()[-1]
    _assert_key_kept_as_prefix_and_sha256(raw)


def test_the_settings_page_shows_a_new_key_once_and_keeps_only_its_hash(client, admin):
    client.force_login(admin)
    response = client.post("/settings/api-keys/", {"name": "Zapier", "scopes": ["leads:read"]})
    assert response.status_code == 200
    raw = next(word for word in response.content.decode().split() if "fk_" in word)
    raw = raw[raw.index("fk_") :].split("<")[0].strip("\"'")
    _assert_key_kept_as_prefix_and_sha256(raw)
    assert raw not in client.get("/settings/").content.decode()


def test_a_webhook_secret_is_kept_encrypted_and_shown_once(client, admin):
    client.force_login(admin)
    response = client.post(
        "/settings/webhooks/", {"url": "https://hooks.example.com/funnel", "event_types": ["lead.mql"]}
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(url="https://hooks.example.com/funnel")
    secret = decrypt_secret(endpoint.secret_encrypted)
    assert secret in response.content.decode()
    assert secret not in _stored_values(endpoint)
    assert secret not in client.get("/settings/").content.decode()


def test_two_webhooks_get_different_secrets_and_ciphertexts():
    first, first_secret = create_webhook_endpoint(url="https://a.example.com/", event_types=["lead.mql"])
    second, second_secret = create_webhook_endpoint(url="https://b.example.com/", event_types=["lead.mql"])
    assert first_secret != second_secret
    assert first.secret_encrypted != second.secret_encrypted


# --- CSV formula injection -------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("https://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _assert_no_cell_starts_a_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.smoke
def test_the_lead_export_neutralises_formulas(client, marketer):
    for index, formula in enumerate(FORMULAS):
        factories.LeadFactory(first_name=formula, last_name=formula, company=formula, job_title=formula, source="web")
        factories.LeadFactory(email=f"f{index}@example.com", first_name="Plain", utm_campaign=formula)
    client.force_login(marketer)
    response = client.get("/leads/export.csv")
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = _csv_rows(content)
    _assert_no_cell_starts_a_formula(rows)
    cells = {cell for row in rows for cell in row}
    assert '\'=HYPERLINK("https://evil.example","x")' in cells
    assert "'@SUM(A1:A9)" in cells


def test_the_funnel_report_csv_neutralises_formulas_in_sources(client, marketer):
    now = datetime.now(UTC)
    for formula in FORMULAS:
        lead = factories.LeadFactory(source=formula, created_at=now - timedelta(days=1))
        EngagementEvent.objects.create(
            message_id=f"csv-{lead.pk}", lead=lead, type="page_view", occurred_at=now - timedelta(hours=1)
        )
    refresh_analytics()
    client.force_login(marketer)
    response = client.get("/analytics/funnel/engagement-sources.csv")
    assert response.status_code == 200
    rows = _csv_rows(response.content)
    _assert_no_cell_starts_a_formula(rows)
    assert "'+1+1" in {row[0] for row in rows}


# --- HTML escaping ---------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture
def hostile_lead(rep1):
    alert = make_alert(first_name=SCRIPT, last_name=IMG, company=SCRIPT, job_title=IMG, source=SCRIPT, score=99)
    return alert.lead


@pytest.mark.parametrize(
    "page", ["/leads/", "/leads/{id}/", "/pipeline/", "/queue/", "/queue/leads/{id}/", "/analytics/funnel/"]
)
def test_a_hostile_lead_name_shows_escaped(client, manager, hostile_lead, page):
    refresh_analytics()
    client.force_login(manager)
    response = client.get(page.format(id=hostile_lead.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert SCRIPT not in html
    assert IMG not in html
    if page != "/analytics/funnel/":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.smoke
def test_the_lead_detail_escapes_a_hostile_name(client, marketer):
    lead = factories.LeadFactory(first_name=SCRIPT)
    client.force_login(marketer)
    html = client.get(f"/leads/{lead.pk}/").content.decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;" in html


# --- CSRF --------------------------------------------------------------------------------------

CSRF_FORMS = [
    "/leads/new/",
    "/leads/{lead}/edit/",
    "/leads/bulk/",
    "/leads/import/",
    "/leads/{lead}/move/",
    "/leads/{lead}/erase/",
    "/queue/alerts/{alert}/accept/",
    "/queue/alerts/{alert}/reject/",
    "/scoring/rules/new/",
    "/scoring/rules/thresholds/",
    "/settings/api-keys/",
    "/settings/webhooks/",
    "/accounts/logout/",
]


@pytest.mark.parametrize("path", CSRF_FORMS)
def test_a_browser_form_refuses_a_post_without_a_csrf_token(admin, objects, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(path.format(**objects), {"name": "x"})
    assert response.status_code == 403
    assert b"CSRF" in response.content


@pytest.mark.smoke
def test_the_same_form_with_its_token_is_accepted(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    client.get("/settings/")
    token = client.cookies["csrftoken"].value
    response = client.post("/settings/api-keys/", {"name": "x", "scopes": ["leads:read"], "csrfmiddlewaretoken": token})
    assert response.status_code == 200


def test_the_api_with_a_session_refuses_a_post_without_a_csrf_token(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    response = send(client, "POST", "/api/v1/leads", {"email": "csrf@example.com"})
    assert response.status_code == 403
    assert "CSRF" in assert_envelope(response)["message"]


def test_the_api_with_a_key_needs_no_csrf_token(admin_key):
    client = key_client(admin_key, enforce_csrf_checks=True)
    response = send(client, "POST", "/api/v1/leads", {"email": "keyed@example.com"})
    assert response.status_code == 201
