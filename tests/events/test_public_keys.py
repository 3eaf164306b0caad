"""A public key (the write key in a web page) can add people, never rewrite known ones."""

import base64
import io

import orjson
import pytest
from django.core.management import call_command
from django.test import Client

from events.models import ApiKey, EngagementEvent
from events.services import InvalidScopes, create_api_key
from leads.models import Lead
from leads.stages import Stage
from tests import factories

pytestmark = pytest.mark.django_db


def sender(*, public: bool):
    _api_key, raw = create_api_key(name="Website" if public else "Backend", scopes=["events:write"], public=public)
    auth = "Basic " + base64.b64encode(f"{raw}:".encode()).decode()

    def send(call: str, message: dict):
        response = Client().post(
            f"/v1/{call}", orjson.dumps(message), content_type="application/json", HTTP_AUTHORIZATION=auth
        )
        assert response.status_code == 200, response.content
        return response

    return send


@pytest.fixture
def known():
    return factories.LeadFactory(
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        company="Engines",
        phone="+1 555 0100",
        job_title="",
    )


def test_a_public_key_cannot_overwrite_a_known_leads_fields(known):
    traits = {"email": "ada@example.com", "name": "Eve Mallory", "company": "Evil Corp", "phone": "+1 555 6666"}
    sender(public=True)("identify", {"messageId": "i1", "anonymousId": "x", "traits": traits})
    known.refresh_from_db()
    assert (known.first_name, known.last_name, known.company, known.phone) == (
        "Ada",
        "Lovelace",
        "Engines",
        "+1 555 0100",
    )


def test_a_public_key_fills_a_known_leads_blank_fields(known):
    traits = {"email": "ada@example.com", "title": "CTO", "company": "Evil Corp"}
    sender(public=True)("identify", {"messageId": "i1", "anonymousId": "x", "traits": traits})
    known.refresh_from_db()
    assert (known.job_title, known.company) == ("CTO", "Engines")


def test_a_public_key_does_not_attach_a_new_user_id_to_a_known_lead(known):
    send = sender(public=True)
    send("identify", {"messageId": "i1", "userId": "attacker-1", "traits": {"email": "ada@example.com"}})
    send("track", {"messageId": "t1", "userId": "attacker-1", "event": "Viewed Pricing"})
    known.refresh_from_db()
    assert known.external_id is None
    assert not EngagementEvent.objects.filter(lead=known, message_id="t1").exists()


def test_a_public_key_never_replaces_an_external_id(known):
    Lead.objects.filter(pk=known.pk).update(external_id="u-1")
    sender(public=True)("identify", {"messageId": "i1", "userId": "u-2", "traits": {"email": "ada@example.com"}})
    known.refresh_from_db()
    assert known.external_id == "u-1"


def test_a_public_key_still_captures_an_anonymous_visitor():
    send = sender(public=True)
    send("page", {"messageId": "p1", "anonymousId": "browser-1"})
    traits = {"email": "grace@example.com", "name": "Grace Hopper", "company": "Navy"}
    send("identify", {"messageId": "i1", "anonymousId": "browser-1", "userId": "u-9", "traits": traits})
    lead = Lead.objects.get(anonymous_id="browser-1")
    assert (lead.email, lead.external_id, lead.first_name, lead.stage) == (
        "grace@example.com",
        "u-9",
        "Grace",
        Stage.LEAD_GEN,
    )


def test_a_server_key_updates_a_known_lead_as_before(known):
    traits = {"email": "ada@example.com", "company": "Analytical Engines"}
    sender(public=False)("identify", {"messageId": "i1", "userId": "u-5", "traits": traits})
    known.refresh_from_db()
    assert (known.company, known.external_id) == ("Analytical Engines", "u-5")


def test_a_public_key_may_only_write_events():
    with pytest.raises(InvalidScopes, match="public key may only write events"):
        create_api_key(name="Website", scopes=["events:write", "leads:read"], public=True)


def test_the_command_creates_a_public_key():
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "Website", "--scopes", "events:write", "--public", stdout=out, stderr=err)
    assert ApiKey.objects.get(name="Website").public
    assert "public API key" in err.getvalue()


def test_the_settings_page_creates_and_shows_a_public_key(admin):
    client = Client()
    client.force_login(admin)
    page = client.post("/settings/api-keys/", {"name": "Website", "scopes": ["events:write"], "public": "1"})
    assert page.status_code == 200
    assert ApiKey.objects.get(name="Website").public
    assert "<td>Public</td>" in client.get("/settings/").content.decode()
