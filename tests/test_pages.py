from uuid import uuid4

import pytest
from django.urls import reverse

from leads.stages import Stage
from tests import factories
from tests.factories import LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_login_page_is_served_to_anonymous_visitors(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in to Funnel" in response.content


def test_home_sends_an_anonymous_visitor_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_sends_a_marketer_to_the_pipeline(client, marketer):
    client.force_login(marketer)
    assert client.get("/")["Location"] == reverse("pipeline")


def test_deactivated_user_cannot_log_in(client, marketer):
    marketer.is_active = False
    marketer.save()
    response = client.post("/accounts/login/", {"username": "marketer", "password": "s3cret-pass"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


def test_login_form_refuses_a_post_without_csrf_token(marketer):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "marketer", "password": "s3cret-pass"}
    )
    assert response.status_code == 403


def test_password_reset_sends_an_email(client, mailoutbox, db):
    # An address of its own: reset mails are throttled per address in the shared cache,
    # and a fixed one runs out of its hourly slots after a few runs of the suite.
    person = factories.marketer(username="forgetful", email=f"forgetful-{uuid4().hex}@example.com")
    response = client.post("/accounts/password_reset/", {"email": person.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/reset/" in mailoutbox[0].body


def test_pipeline_overview_counts_leads_per_stage(client, marketer):
    LeadFactory.create_batch(3, stage=Stage.MQL)
    LeadFactory(stage=Stage.CUSTOMER)
    client.force_login(marketer)
    response = client.get("/pipeline/")
    counts = {column["stage"]: column["count"] for column in response.context["columns"]}
    assert counts[Stage.MQL] == 3
    assert counts[Stage.CUSTOMER] == 1
    assert counts[Stage.SAL] == 0


def test_home_sends_a_sales_rep_to_the_queue(client, rep1):
    client.force_login(rep1)
    assert client.get("/")["Location"] == reverse("sales:queue")
