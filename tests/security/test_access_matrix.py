# ruff: noqa: E501 - the tables below are read across, one row per request
"""Who may do what: every API endpoint and page of CONTRACT.md against every kind of caller.

The two tables below are the specification; each cell is one test. Read a row as
"this request, made by each of these callers, answers this status".

Callers (columns):
  anon    nobody: no key, no session
  ev …adm an API key bound to no user, with the single scope events:write, leads:read,
          leads:write, queue:write, rules:write or admin (its scopes alone decide)
  rkey    an API key with queue:write bound to rep1 (scope AND role decide)
  mkt     a signed-in marketer
  rep     rep1, signed in, acting on their own objects (their SAL lead, their alert)
  orep    rep2, signed in, acting on rep1's objects
  mgr     a signed-in sales manager
  admin   a signed-in admin

Objects: {lead} is rep1's lead in SAL, {alert} an open alert assigned to rep1 and
{alert_lead} its lead (an MQL), {rule} a scoring rule, {marketer} the marketer's user id.

Status meanings (CONTRACT.md "Authentication", "Roles"):
  401  no or unknown key on the API, always with `WWW-Authenticate: Bearer`
  403  a known caller whose scope or role does not allow it
  404  where hiding the object is the design (a rep's view of another rep's lead)
  302  a page asked for without a session: to the login page (the admin's own login
       for /admin/). An API key is not a session, so key columns see a page as anonymous.
"""

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client, override_settings

from events.services import create_api_key
from leads.stages import Stage
from scoring import rules
from tests import factories
from tests.sales.conftest import make_alert

COLUMNS = ["anon", "ev", "lr", "lw", "qw", "rw", "adm", "rkey", "mkt", "rep", "orep", "mgr", "admin"]
KEY_SCOPES = {
    "ev": "events:write",
    "lr": "leads:read",
    "lw": "leads:write",
    "qw": "queue:write",
    "rw": "rules:write",
    "adm": "admin",
}

EVENT = {"type": "page_view", "anonymous_id": "matrix-visitor", "properties": {"url": "https://example.com/"}}
NEW_LEAD = {"email": "matrix-new@example.com", "first_name": "Matrix"}
QUALIFY = {"to": "sql", "reason": "Budget confirmed", "deal": {"value": "1000.00", "currency": "EUR"}}
EDIT = {"job_title": "CTO"}
EDIT_RULE = {"points": 7}
REJECT = {"reason": "no_budget"}
ACCEPT_BY_MOVE = {"to": "sal"}
REJECT_BY_MOVE = {"to": "nurture", "reason": "No budget this year", "reason_code": "no_budget"}
NEW_CUSTOMER = {"email": "matrix-customer@example.com", "stage": "customer"}
SPEND = {"campaign": "matrix", "month": "2026-03", "amount": 100}
NEW_RULE = {"label": "Matrix rule", "kind": "behaviour", "event_type": "webinar_attended", "points": 5}

# fmt: off
API = [
    # method   path                                   body                  anon ev   lr   lw   qw   rw   adm  rkey mkt  rep  orep mgr  admin
    ("POST",   "/api/v1/events",                      EVENT,               "401 202  403  403  403  403  202  403  202  403  403  202  202"),
    ("GET",    "/api/v1/leads",                       None,                "401 403  200  403  403  403  200  403  200  200  200  200  200"),
    ("POST",   "/api/v1/leads",                       NEW_LEAD,            "401 403  403  201  403  403  201  403  201  403  403  201  201"),
    ("GET",    "/api/v1/leads/{lead}",                None,                "401 403  200  403  403  403  200  403  200  200  404  200  200"),
    ("PATCH",  "/api/v1/leads/{lead}",                EDIT,                "401 403  403  200  403  403  200  403  200  200  404  200  200"),
    ("DELETE", "/api/v1/leads/{lead}",                None,                "401 403  403  204  403  403  204  403  204  403  404  204  204"),
    # A lead is created at demand_gen or lead_gen; later stages are reached by moves.
    ("POST",   "/api/v1/leads",                       NEW_CUSTOMER,        "401 403  403  400  403  403  400  403  400  403  403  400  400"),
    # An owner is an active sales rep or manager, whoever sets it.
    ("PATCH",  "/api/v1/leads/{lead}",                {"owner": "{marketer}"}, "401 403  403  400  403  403  400  403  400  403  404  400  400"),
    # Marketers read every lead but the sales stages are sales' moves; moving into or out
    # of MQL/SAL/SQL needs queue:write as the queue does (leads:write alone is refused).
    ("POST",   "/api/v1/leads/{lead}/transitions",    QUALIFY,             "401 403  403  403  403  403  201  403  403  201  404  201  201"),
    # Accepting or rejecting by a move is the queue's rule: a rep only through an alert that
    # is unassigned or theirs (rep2 does not even see rep1's alert's lead), and a key bound
    # to nobody cannot accept, as there would be no owner.
    ("POST",   "/api/v1/leads/{alert_lead}/transitions", ACCEPT_BY_MOVE,   "401 403  403  403  403  403  403  403  403  201  404  201  201"),
    ("POST",   "/api/v1/leads/{alert_lead}/transitions", REJECT_BY_MOVE,   "401 403  403  403  403  403  201  403  403  201  404  201  201"),
    ("GET",    "/api/v1/leads/{alert_lead}",          None,                "401 403  200  403  403  403  200  403  200  200  404  200  200"),
    # Reading rules takes leads:read, which reps hold (scoring/api.py), though the rules page is not theirs.
    ("GET",    "/api/v1/scoring-rules",               None,                "401 403  200  403  403  403  200  403  200  200  200  200  200"),
    ("POST",   "/api/v1/scoring-rules",               NEW_RULE,            "401 403  403  403  403  201  201  403  201  403  403  403  201"),
    ("GET",    "/api/v1/scoring-rules/{rule}",        None,                "401 403  200  403  403  403  200  403  200  200  200  200  200"),
    ("PATCH",  "/api/v1/scoring-rules/{rule}",        EDIT_RULE,           "401 403  403  403  403  200  200  403  200  403  403  403  200"),
    ("DELETE", "/api/v1/scoring-rules/{rule}",        None,                "401 403  403  403  403  204  204  403  204  403  403  403  204"),
    ("GET",    "/api/v1/queue",                       None,                "401 403  200  403  403  403  200  403  200  200  200  200  200"),
    # Accepting makes a person the lead's owner, so a key bound to nobody cannot accept.
    ("POST",   "/api/v1/queue/{alert}/accept",        None,                "401 403  403  403  403  403  403  200  403  200  403  200  200"),
    ("POST",   "/api/v1/queue/{alert}/reject",        REJECT,              "401 403  403  403  200  403  200  200  403  200  403  200  200"),
    # leads:read admits reps, but the report is for the roles that steer.
    ("GET",    "/api/v1/analytics/funnel",            None,                "401 403  200  403  403  403  200  403  200  403  403  200  200"),
    ("GET",    "/api/v1/analytics/attribution",       None,                "401 403  200  403  403  403  200  403  200  403  403  200  200"),
    ("GET",    "/api/v1/campaign-spend",              None,                "401 403  200  403  403  403  200  403  200  403  403  200  200"),
    # Spend is marketing's to enter: leads:write, and a marketer's or admin's role.
    ("POST",   "/api/v1/campaign-spend",              SPEND,               "401 403  403  201  403  403  201  403  201  403  403  403  201"),
]

PAGES = {
    # page                               anon ev   lr   lw   qw   rw   adm  rkey mkt  rep  orep mgr  admin
    "/pipeline/":                       "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/leads/":                          "302 302  302  302  302  302  302  302  200  200  200  200  200",
    "/leads/new/":                      "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/leads/{lead}/":                   "302 302  302  302  302  302  302  302  200  200  404  200  200",
    # Editing from the browser is for editors; a rep edits their lead through its sales page.
    "/leads/{lead}/edit/":              "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/leads/import/":                   "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/queue/":                          "302 302  302  302  302  302  302  302  200  200  200  200  200",
    "/queue/leads/{lead}/":             "302 302  302  302  302  302  302  302  200  200  404  200  200",
    "/queue/leads/{alert_lead}/":       "302 302  302  302  302  302  302  302  200  200  404  200  200",
    "/my-leads/":                       "302 302  302  302  302  302  302  302  403  200  200  200  200",
    "/scoring/rules/":                  "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/analytics/funnel/":               "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/analytics/attribution/":          "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/analytics/attribution/spend/":    "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/analytics/attribution/channels/": "302 302  302  302  302  302  302  302  200  403  403  200  200",
    "/settings/":                       "302 302  302  302  302  302  302  302  403  403  403  403  200",
    # Django's admin sends everyone who is not staff to its own login page.
    "/admin/":                          "302 302  302  302  302  302  302  302  302  302  302  302  200",
}
# fmt: on


@dataclass
class World:
    ids: dict
    keys: dict  # column → raw API key
    sessions: dict  # column → session cookie value


def _cells(table):
    rows = table.items() if isinstance(table, dict) else ((row[:3], row[3]) for row in table)
    for row, statuses in rows:
        expected = statuses.split()
        assert len(expected) == len(COLUMNS), f"{row}: {len(expected)} cells for {len(COLUMNS)} columns"
        for column, status in zip(COLUMNS, expected, strict=True):
            name = f"{row[0]} {row[1]}" if isinstance(row, tuple) else row
            yield pytest.param(row, column, int(status), id=f"{name} | {column}")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Users, keys, a lead, an alert and a rule, made once for the module inside a
    transaction that is rolled back at its end; each test runs in a savepoint within it,
    so even erasing the lead leaves the next cell the same world."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        for role in ("marketer", "sales_rep", "sales_manager"):
            Group.objects.get_or_create(name=role)
        users = {
            "mkt": factories.marketer(username="matrix-marketer"),
            "rep": factories.sales_rep(username="matrix-rep1"),
            "orep": factories.sales_rep(username="matrix-rep2"),
            "mgr": factories.sales_manager(username="matrix-manager"),
            "admin": factories.admin_user(username="matrix-admin"),
        }
        lead = factories.LeadFactory(stage=Stage.SAL, owner=users["rep"], first_name="Owned")
        alert = make_alert(assignee=users["rep"])
        rule = rules.create_rule(
            data={"label": "Matrix webinar", "kind": "behaviour", "event_type": "webinar_registered", "points": 3}
        )
        keys = {column: create_api_key(name=column, scopes=[scope])[1] for column, scope in KEY_SCOPES.items()}
        keys["rkey"] = create_api_key(name="rep key", scopes=["queue:write"], user=users["rep"])[1]
        sessions = {}
        for column, user in users.items():
            client = Client()
            client.force_login(user)
            sessions[column] = client.cookies["sessionid"].value
        ids = {"lead": lead.pk, "alert": alert.pk, "alert_lead": alert.lead_id, "rule": rule.pk}
        ids["marketer"] = users["mkt"].pk
        yield World(ids=ids, keys=keys, sessions=sessions)
        transaction.set_rollback(True)


def client_for(world: World, column: str) -> Client:
    if column in world.keys:
        return Client(headers={"Authorization": f"Bearer {world.keys[column]}"})
    client = Client()
    if column in world.sessions:
        client.cookies["sessionid"] = world.sessions[column]
    return client


@pytest.mark.parametrize(("row", "column", "expected"), list(_cells(API)))
def test_api_answers_each_caller_as_designed(world, db, row, column, expected):
    method, template, body = row
    path = template.format(**world.ids)
    client = client_for(world, column)
    body = json.loads(json.dumps(body).replace('"{marketer}"', str(world.ids["marketer"])))
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    response = client.generic(method, path, **kwargs)

    assert response.status_code == expected, _explain(response)
    if expected == 400:
        # The error names the field at fault (stage, owner).
        assert set(response.json()["error"]["fields"]) & set(body), _explain(response)
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    if expected >= 400:
        error = response.json()["error"]
        assert set(error) >= {"code", "message", "fields"}


@pytest.mark.parametrize(("row", "column", "expected"), list(_cells(PAGES)))
def test_pages_answer_each_caller_as_designed(world, db, row, column, expected):
    response = client_for(world, column).get(row.format(**world.ids))

    assert response.status_code == expected, _explain(response)
    if expected == 302:
        login = "/admin/login/" if row == "/admin/" else "/accounts/login/"
        assert response["Location"].startswith(login)


@pytest.mark.smoke
def test_an_unknown_key_is_answered_like_no_key(world, db):
    forged = world.keys["adm"][:-4] + "abcd"
    response = Client(headers={"Authorization": f"Bearer {forged}"}).get("/api/v1/leads")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.smoke
def test_a_revoked_key_is_answered_like_an_unknown_one(world, db):
    from events.models import ApiKey
    from events.services import revoke_api_key

    raw = world.keys["adm"]
    revoke_api_key(api_key=ApiKey.objects.get(prefix=raw.split("_")[1]))
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/leads")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def _explain(response) -> str:
    body = response.content[:300].decode(errors="replace")
    return f"got {response.status_code}: {body}"


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/leads", NEW_LEAD),
        ("POST", "/api/v1/scoring-rules", NEW_RULE),
        ("POST", "/api/v1/events", EVENT),
        ("GET", "/api/v1/analytics/funnel", None),
    ],
)
def test_a_key_with_every_scope_bound_to_a_rep_can_do_only_what_a_rep_may(world, db, method, path, body):
    from django.contrib.auth import get_user_model

    rep = get_user_model().objects.get(username="matrix-rep1")
    _, raw = create_api_key(name="rep's admin key", scopes=list(KEY_SCOPES.values()), user=rep)
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    response = Client(headers={"Authorization": f"Bearer {raw}"}).generic(method, path, **kwargs)
    assert response.status_code == 403, _explain(response)


# Browser actions another rep might try on rep1's lead and alert: each is refused and
# changes nothing (the pages above only read). The lead's actions load it by the rule of
# its page, so rep1's leads are not found (404) for rep2, as the page is.
OTHER_REPS_ACTIONS = [
    ("/queue/leads/{lead}/activities/", {"kind": "call", "note": "Called them"}, 404),
    ("/queue/leads/{lead}/qualify/", {"value": "1000", "currency": "EUR"}, 404),
    ("/queue/leads/{lead}/nurture/", {"reason": "no_budget"}, 404),
    ("/queue/leads/{alert_lead}/activities/", {"kind": "call", "note": "Called them"}, 404),
    # Taking or rejecting rep1's alert's lead through the lead's own actions, not the queue.
    ("/queue/leads/{alert_lead}/qualify/", {"value": "1000", "currency": "EUR", "note": "mine now"}, 404),
    ("/queue/leads/{alert_lead}/lose/", {"reason": "no_budget"}, 404),
    ("/queue/alerts/{alert}/accept/", {}, 403),
    ("/queue/alerts/{alert}/reject/", {"reason": "no_budget"}, 403),
    ("/queue/alerts/{alert}/reassign/", {"assignee": "1"}, 403),
    ("/leads/{lead}/edit/", {"first_name": "Taken"}, 403),
    ("/leads/{lead}/move/", {"to": "sql", "reason": "mine now"}, 403),
    ("/leads/{alert_lead}/move/", {"to": "sal", "reason": "mine now"}, 403),
    ("/leads/{lead}/erase/", {"confirm": "yes"}, 403),
]


@pytest.mark.parametrize(
    ("path", "form", "expected"), OTHER_REPS_ACTIONS, ids=[path for path, _, _ in OTHER_REPS_ACTIONS]
)
def test_another_rep_cannot_act_on_a_reps_lead_from_the_browser(world, db, path, form, expected):
    from leads.models import Activity, Lead
    from sales.models import SalesAlert

    leads = [world.ids["lead"], world.ids["alert_lead"]]
    before = list(Lead.objects.filter(pk__in=leads).values("stage", "owner_id", "first_name").order_by("pk"))
    response = client_for(world, "orep").post(path.format(**world.ids), form)

    assert response.status_code == expected, _explain(response)
    assert list(Lead.objects.filter(pk__in=leads).values("stage", "owner_id", "first_name").order_by("pk")) == before
    assert SalesAlert.objects.get(pk=world.ids["alert"]).status == "open"
    assert not Activity.objects.filter(lead_id__in=leads).exists()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "https:/\\evil.example"])
@pytest.mark.parametrize("path", ["/queue/alerts/{alert}/reject/", "/leads/bulk/"])
def test_a_next_parameter_never_leads_off_site(world, db, path, target):
    response = client_for(world, "mgr").post(path.format(**world.ids), {"next": target, "reason": "no_budget"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/"])
def test_logging_in_never_leads_off_site(world, db, target):
    response = Client().post(
        f"/accounts/login/?next={target}", {"username": "matrix-marketer", "password": "s3cret-pass"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
