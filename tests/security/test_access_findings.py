"""Issue 11's access findings, one test each, every door asking leads.access: a rep acts
on an MQL only through an alert that is unassigned or theirs, moves through the sales
stages need queue:write, a key bound to nobody cannot accept, the sales actions load a
lead by the rule of its page, a rep sees their own SAL/SQL leads and the alerts they may
take, and leads are created at their first stage with owners who are reps or managers."""

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from events.services import create_api_key
from leads import access
from leads.actors import Actor
from leads.models import Activity, Lead
from leads.stages import Stage
from sales import services as sales_services
from sales.errors import InvalidSalesInput, SalesActionForbidden
from sales.models import AlertStatus, SalesAlert
from tests.factories import LeadFactory
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


def key_client(*scopes: str, user=None) -> APIClient:
    _, raw = create_api_key(name="Findings key", scopes=list(scopes), user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def accept_by_move(client, lead):
    return client.post(f"/api/v1/leads/{lead.pk}/transitions", {"to": "sal"}, format="json")


def assert_untouched(alert):
    alert.refresh_from_db()
    alert.lead.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert alert.lead.stage == Stage.MQL and alert.lead.owner_id is None


# --- rep2 and rep1's alert, through every door ------------------------------------------


def test_another_rep_cannot_accept_a_reps_alert_by_moving_its_lead(rep1, rep2):
    alert = make_alert(assignee=rep1)
    response = accept_by_move(session(rep2), alert.lead)
    assert response.status_code == 404
    assert_untouched(alert)


def test_another_rep_cannot_reject_a_reps_alert_by_moving_its_lead_to_nurture(rep1, rep2):
    alert = make_alert(assignee=rep1)
    response = session(rep2).post(
        f"/api/v1/leads/{alert.lead_id}/transitions", {"to": "nurture", "reason": "Not mine"}, format="json"
    )
    assert response.status_code == 404
    assert_untouched(alert)


@pytest.mark.parametrize("scopes", [("leads:write",), ("leads:write", "queue:write")])
def test_another_reps_api_key_cannot_accept_a_reps_alert_by_a_move(rep1, rep2, scopes):
    alert = make_alert(assignee=rep1)
    response = accept_by_move(key_client(*scopes, user=rep2), alert.lead)
    assert response.status_code == 404
    assert_untouched(alert)


def test_the_move_service_refuses_another_reps_alert_whatever_door_calls_it(rep1, rep2):
    alert = make_alert(assignee=rep1)
    with pytest.raises(SalesActionForbidden):
        sales_services.transition_lead(lead=alert.lead, to=Stage.SAL, actor=Actor.for_user(rep2))
    assert_untouched(alert)


def test_a_reps_own_key_needs_queue_write_to_accept_by_a_move(rep1):
    alert = make_alert(assignee=rep1)
    response = accept_by_move(key_client("leads:write", user=rep1), alert.lead)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert_untouched(alert)


def test_a_reps_own_key_with_queue_write_accepts_by_a_move_and_the_rep_owns_the_lead(rep1):
    alert = make_alert(assignee=rep1)
    response = accept_by_move(key_client("leads:write", "queue:write", user=rep1), alert.lead)
    assert response.status_code == 201
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACCEPTED
    assert Lead.objects.get(pk=alert.lead_id).owner_id == rep1.pk


def test_a_key_without_queue_write_cannot_move_a_lead_out_of_the_sales_stages(rep1):
    lead = LeadFactory(stage=Stage.SAL, owner=rep1)
    response = key_client("leads:write").post(
        f"/api/v1/leads/{lead.pk}/transitions", {"to": "nurture", "reason": "No budget"}, format="json"
    )
    assert response.status_code == 403
    assert "queue:write" in response.json()["error"]["message"]
    lead.refresh_from_db()
    assert lead.stage == Stage.SAL


def test_a_key_bound_to_nobody_cannot_accept_as_the_lead_would_have_no_owner():
    alert = make_alert(unassigned=True)
    response = accept_by_move(key_client("leads:write", "queue:write"), alert.lead)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "owner_required" and "owner" in error["message"]
    assert_untouched(alert)


def test_a_key_bound_to_nobody_is_refused_alike_by_the_queue_and_by_a_move():
    alert = make_alert(unassigned=True)
    client = key_client("leads:write", "queue:write")
    by_queue = client.post(f"/api/v1/queue/{alert.pk}/accept")
    by_move = accept_by_move(client, alert.lead)
    assert (by_queue.status_code, by_queue.json()["error"]["code"]) == (403, "owner_required")
    assert (by_move.status_code, by_move.json()["error"]["code"]) == (403, "owner_required")
    assert_untouched(alert)


# --- The sales actions load the lead by the rule of its page -------------------------------


def test_a_rep_cannot_log_an_activity_on_a_lead_they_cannot_see(rep1, rep2):
    lead = LeadFactory(stage=Stage.SAL, owner=rep1)
    response = page(rep2).post(f"/queue/leads/{lead.pk}/activities/", {"kind": "call", "note": "Hello"})
    assert response.status_code == 404
    assert not Activity.objects.filter(lead=lead).exists()


def test_an_erased_lead_takes_no_new_activity_from_the_page(manager):
    lead = LeadFactory(stage=Stage.SAL, owner=manager, erased_at=timezone.now(), email=None, first_name="")
    response = page(manager).post(f"/queue/leads/{lead.pk}/activities/", {"kind": "note", "note": "Jane's number"})
    assert response.status_code == 404
    assert not Activity.objects.filter(lead=lead).exists()


def test_an_erased_lead_takes_no_new_activity_from_the_service(manager):
    lead = LeadFactory(stage=Stage.SAL, owner=manager, erased_at=timezone.now(), email=None, first_name="")
    with pytest.raises((SalesActionForbidden, InvalidSalesInput)):
        sales_services.log_activity(lead=lead, user=manager, kind="note", note="Jane's number")
    assert not Activity.objects.filter(lead=lead).exists()


# --- What a rep sees -------------------------------------------------------------------------


def test_a_rep_no_longer_reads_or_edits_their_lead_once_it_left_sal_and_sql(rep1):
    lead = LeadFactory(stage=Stage.NURTURE, owner=rep1)
    client = session(rep1)
    assert client.get(f"/api/v1/leads/{lead.pk}").status_code == 404
    assert client.patch(f"/api/v1/leads/{lead.pk}", {"job_title": "CEO"}, format="json").status_code == 404


def test_the_queue_shows_a_rep_unassigned_alerts_and_their_own_but_not_another_reps(rep1, rep2):
    theirs, own, nobodys = make_alert(assignee=rep1), make_alert(assignee=rep2), make_alert(unassigned=True)
    body = session(rep2).get("/api/v1/queue?filter=all").json()
    shown = {row["id"] for row in body["results"]}
    assert shown == {own.pk, nobodys.pk}
    assert theirs.lead.email not in str(body)


def test_the_queue_shows_a_manager_every_alert(rep1, rep2, manager):
    alerts = {make_alert(assignee=rep1).pk, make_alert(assignee=rep2).pk, make_alert(unassigned=True).pk}
    body = session(manager).get("/api/v1/queue?filter=all").json()
    assert {row["id"] for row in body["results"]} == alerts


def test_the_queue_page_shows_a_rep_no_other_reps_alert(rep1, rep2):
    theirs = make_alert(assignee=rep1, email="hidden-from-rep2@example.com")
    response = page(rep2).get("/queue/")
    assert response.status_code == 200
    assert theirs.lead.email not in response.content.decode()


# --- Creating and owning -------------------------------------------------------------------------


def test_creating_a_lead_past_lead_generation_is_400_naming_stage(marketer):
    response = session(marketer).post(
        "/api/v1/leads", {"email": "late@example.com", "stage": "customer"}, format="json"
    )
    assert response.status_code == 400
    assert "stage" in response.json()["error"]["fields"]
    assert not Lead.objects.filter(email="late@example.com").exists()


def test_setting_a_marketer_as_owner_through_the_api_is_400_naming_owner(marketer, manager):
    lead = LeadFactory()
    response = session(manager).patch(f"/api/v1/leads/{lead.pk}", {"owner": marketer.pk}, format="json")
    assert response.status_code == 400
    assert "owner" in response.json()["error"]["fields"]
    lead.refresh_from_db()
    assert lead.owner_id is None


def test_setting_a_marketer_as_owner_on_the_edit_page_is_refused_next_to_the_field(marketer, manager):
    lead = LeadFactory()
    response = page(manager).post(
        f"/leads/{lead.pk}/edit/", {"email": lead.email, "first_name": "Ada", "owner": marketer.pk}
    )
    assert response.status_code == 400
    assert "owner" in response.context["form"].errors
    lead.refresh_from_db()
    assert lead.owner_id is None


def test_an_inactive_rep_is_not_a_valid_owner(rep1):
    rep1.is_active = False
    assert not access.is_valid_owner(rep1)


def test_a_rep_and_a_manager_are_valid_owners_and_a_marketer_is_not(rep1, manager, marketer):
    assert access.is_valid_owner(rep1) and access.is_valid_owner(manager)
    assert not access.is_valid_owner(marketer)


def test_a_manager_who_accepts_by_a_move_owns_the_lead(rep1, manager):
    alert = make_alert(assignee=rep1)
    assert accept_by_move(session(manager), alert.lead).status_code == 201
    assert Lead.objects.get(pk=alert.lead_id).owner_id == manager.pk
    assert SalesAlert.objects.get(pk=alert.pk).status == AlertStatus.ACCEPTED
