"""The trail of every change of a lead (leads.models.LeadChange): written by the service
that makes the change, shown on the lead's timeline with who made it, read-only in the admin."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from events.services import create_api_key
from leads.actors import Actor
from leads.models import ChangeKind, LeadChange
from leads.services import erase_lead, merge_leads, update_lead
from leads.stages import Stage
from sales import services as sales_services
from tests.factories import LeadFactory
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def timeline_of(user, lead) -> list:
    return page(user).get(f"/leads/{lead.pk}/").context["timeline"]


def test_the_timeline_shows_an_owner_change_a_field_edit_and_a_reassignment_with_who_made_them(
    marketer, manager, rep1, rep2
):
    alert = make_alert(assignee=rep1, job_title="Engineer")
    lead = alert.lead
    form = page(marketer).get(f"/leads/{lead.pk}/edit/").context["form"]
    data = {name: form[name].value() if form[name].value() is not None else "" for name in form.fields}
    assert page(marketer).post(f"/leads/{lead.pk}/edit/", {**data, "job_title": "CTO"}).status_code == 302
    assert api(manager).patch(f"/api/v1/leads/{lead.pk}", {"owner": rep2.pk}, format="json").status_code == 200
    assert page(manager).post(f"/queue/alerts/{alert.pk}/reassign/", {"assignee": rep2.pk}).status_code == 302

    changes = [(entry.title, entry.who) for entry in timeline_of(manager, lead) if entry.kind == "change"]

    assert changes == [
        ("Alert reassigned: rep1 → rep2", "manager"),
        ("Owner: nobody → rep2", "manager"),
        ("Job title: Engineer → CTO", "marketer"),
    ]
    page_text = page(manager).get(f"/leads/{lead.pk}/").content.decode()
    assert "Job title: Engineer → CTO" in page_text and "(marketer)" in page_text


def test_the_timeline_merges_changes_with_stage_moves_in_time_order(marketer, rep1):
    alert = make_alert(assignee=rep1)
    update_lead(lead=alert.lead, actor=Actor.for_user(marketer), company="Before")
    sales_services.accept_alert(alert=alert, user=rep1)
    update_lead(lead=alert.lead, actor=Actor.for_user(marketer), company="After")

    kinds = [entry.kind for entry in timeline_of(marketer, alert.lead) if entry.kind in ("change", "stage")]

    assert kinds[:3] == ["change", "stage", "change"]


def test_an_edit_through_an_api_key_names_the_key_and_keeps_old_and_new_values(marketer):
    lead = LeadFactory(job_title="Engineer")
    api_key, raw = create_api_key(name="CRM sync", scopes=["leads:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.patch(f"/api/v1/leads/{lead.pk}", {"job_title": "CTO"}, format="json").status_code == 200

    change = LeadChange.objects.get(lead=lead)
    assert (change.kind, change.field, change.old_value, change.new_value) == (
        ChangeKind.FIELD_EDIT,
        "job_title",
        "Engineer",
        "CTO",
    )
    assert (change.actor_kind, change.actor_api_key_id, change.actor_label) == (
        "api_key",
        api_key.pk,
        "API key CRM sync",
    )


def test_an_unchanged_field_leaves_no_row(marketer):
    lead = LeadFactory(job_title="CTO")
    update_lead(lead=lead, actor=Actor.for_user(marketer), job_title="CTO")
    assert not LeadChange.objects.filter(lead=lead).exists()


def test_bulk_assigning_owners_leaves_an_owner_change_per_lead(client, marketer, rep1):
    leads = LeadFactory.create_batch(2)
    client.force_login(marketer)
    client.post("/leads/bulk/", {"action": "assign", "owner": rep1.pk, "leads": [lead.pk for lead in leads]})
    rows = LeadChange.objects.filter(kind=ChangeKind.OWNER_CHANGE).values_list("lead_id", "new_value", "actor_label")
    assert sorted(rows) == sorted((lead.pk, "rep1", "marketer") for lead in leads)


def test_qualifying_with_a_deal_leaves_deal_edits(rep1):
    lead = LeadFactory(stage=Stage.SAL, owner=rep1)
    sales_services.qualify_lead(lead=lead, user=rep1, deal={"value": "1200", "currency": "EUR"})
    rows = set(LeadChange.objects.filter(lead=lead, kind=ChangeKind.DEAL_EDIT).values_list("field", "new_value"))
    assert rows == {("deal.value", "1200.00"), ("deal.currency", "EUR")}


def test_marking_the_proposal_sent_leaves_a_deal_edit(rep1):
    lead = LeadFactory(stage=Stage.SAL, owner=rep1)
    sales_services.qualify_lead(lead=lead, user=rep1, deal={"value": "1200"})
    sales_services.mark_proposal_sent(lead=lead, user=rep1)
    assert LeadChange.objects.filter(lead=lead, kind=ChangeKind.DEAL_EDIT, field="deal.proposal_sent_at").exists()


def test_a_merge_is_on_both_leads_trails(marketer):
    survivor, merged = LeadFactory(), LeadFactory()
    merge_leads(survivor=survivor, merged=merged, actor=Actor.for_user(marketer), reason="Same person")
    assert LeadChange.objects.get(lead=survivor, kind=ChangeKind.MERGE).new_value == f"#{merged.pk}"
    assert LeadChange.objects.get(lead=merged, kind=ChangeKind.MERGE).new_value == f"#{survivor.pk}"


def test_an_erasure_is_on_the_trail_and_the_trail_no_longer_holds_the_erased_values(marketer):
    lead = LeadFactory(email="jane@example.com", first_name="Jane", phone="+1 555 0100")
    update_lead(lead=lead, actor=Actor.for_user(marketer), first_name="Janet", phone="+1 555 0199")
    erase_lead(lead=lead, actor=Actor.for_user(marketer))

    rows = list(LeadChange.objects.filter(lead=lead).values("kind", "old_value", "new_value", "actor_label"))
    assert {"kind": "erasure", "old_value": "", "new_value": "", "actor_label": "marketer"} in rows
    assert not any(row["old_value"] or row["new_value"] for row in rows)


def test_the_admin_shows_the_trail_read_only(admin, marketer):
    lead = LeadFactory(job_title="Engineer")
    update_lead(lead=lead, actor=Actor.for_user(marketer), job_title="CTO")
    change = LeadChange.objects.get(lead=lead)
    client = page(admin)

    assert client.get("/admin/leads/leadchange/").status_code == 200
    assert client.get("/admin/leads/leadchange/add/").status_code == 403
    assert client.post(f"/admin/leads/leadchange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "CTO" in client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()


def test_an_edit_in_the_admin_leaves_its_trail_and_refuses_a_marketer_as_owner(admin, marketer):
    lead = LeadFactory(job_title="Engineer")
    client = page(admin)
    form = client.get(f"/admin/leads/lead/{lead.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "attributes"}
    data.update({"job_title": "CTO", "attributes": "{}", "owner": marketer.pk})
    for inline in ("transitions", "changes"):
        data.update({f"{inline}-TOTAL_FORMS": "0", f"{inline}-INITIAL_FORMS": "0"})
    assert client.post(f"/admin/leads/lead/{lead.pk}/change/", data).status_code == 200  # the form, with its error
    data["owner"] = ""
    response = client.post(f"/admin/leads/lead/{lead.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    change = LeadChange.objects.get(lead=lead)
    assert (change.field, change.new_value, change.actor_label) == ("job_title", "CTO", "admin")
