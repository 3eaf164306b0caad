import pytest
from django.test import Client

from events.models import ApiKey
from leads.models import Activity, Deal, DealStatus
from leads.stages import Stage
from sales.models import Notification, WebhookEndpoint
from sales.services import accept_alert
from sales.webhooks import decrypt_secret
from tests.factories import ActivityFactory
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.smoke
def test_the_queue_shows_each_alert_with_its_explanation_and_sla(rep1):
    alert = make_alert(first_name="Grace", last_name="Hopper", company="Navy")
    page = signed_in(rep1).get("/queue/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Grace Hopper" in html and "Navy" in html
    assert "3× Visited the pricing page +18 (capped)" in html
    assert " left" in html
    assert f'action="/queue/alerts/{alert.pk}/accept/"' in html


def test_the_queue_page_takes_the_same_queries_for_3_or_30_alerts(rep1, round_robin_off, django_assert_num_queries):
    client = signed_in(rep1)
    for _ in range(3):
        ActivityFactory(lead=make_alert().lead)
    # session, user, role, the page's one query, the header's counts
    with django_assert_num_queries(5):
        client.get("/queue/")
    for _ in range(27):
        ActivityFactory(lead=make_alert().lead)
    with django_assert_num_queries(5):
        client.get("/queue/")


def test_each_queue_row_has_its_own_reject_and_reassign_forms_built_from_the_shared_parts(
    rep1, rep2, manager, round_robin_off
):
    rep1.username = 'rep1 <b>"quoted"</b>'
    rep1.save()
    first, second = make_alert(assignee=rep1), make_alert(assignee=rep2)
    html = signed_in(manager).get("/queue/?filter=all").content.decode()
    for alert in (first, second):
        assert f'<form method="post" action="/queue/alerts/{alert.pk}/reject/">' in html
        assert f'<select id="reason-{alert.pk}" name="reason" required>' in html
        assert f'<label for="note-{alert.pk}">Note</label>' in html
        assert f'<select id="assignee-{alert.pk}" name="assignee">' in html
    assert html.count('<option value="no_budget">No budget</option>') == 2
    rows = html.split("<tbody>")[1]
    assert rows.count('name="csrfmiddlewaretoken"') == 6
    assert f'<option value="{rep1.pk}" selected>rep1 &lt;b&gt;&quot;quoted&quot;&lt;/b&gt;</option>' in html
    assert f'<option value="{rep2.pk}" selected>rep2</option>' in html
    assert "<b>" not in rows


def test_a_marketer_reads_the_queue_without_action_buttons(unassigned_alert, marketer):
    page = signed_in(marketer).get("/queue/")
    assert page.status_code == 200
    assert b"/accept/" not in page.content


def test_a_marketer_posting_an_accept_gets_403(unassigned_alert, marketer):
    response = signed_in(marketer).post(f"/queue/alerts/{unassigned_alert.pk}/accept/")
    assert response.status_code == 403
    unassigned_alert.lead.refresh_from_db()
    assert unassigned_alert.lead.stage == Stage.MQL


def test_accepting_on_the_page_opens_the_leads_sales_page(unassigned_alert, rep1):
    response = signed_in(rep1).post(f"/queue/alerts/{unassigned_alert.pk}/accept/", follow=True)
    assert response.redirect_chain[-1][0] == f"/queue/leads/{unassigned_alert.lead_id}/"
    assert b"the lead is yours now" in response.content


def test_a_late_accept_on_the_page_says_who_was_first(unassigned_alert, rep1, rep2):
    accept_alert(alert=unassigned_alert, user=rep1)
    response = signed_in(rep2).post(f"/queue/alerts/{unassigned_alert.pk}/accept/", follow=True)
    assert response.status_code == 200
    assert b"already accepted by rep1" in response.content


def test_the_accept_form_needs_a_csrf_token(unassigned_alert, rep1):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep1)
    assert client.post(f"/queue/alerts/{unassigned_alert.pk}/accept/").status_code == 403


def test_a_rejection_reason_shows_on_the_leads_history(unassigned_alert, rep1):
    client = signed_in(rep1)
    client.post(f"/queue/alerts/{unassigned_alert.pk}/reject/", {"reason": "no_budget", "note": "Frozen until Q3"})
    page = client.get(f"/queue/leads/{unassigned_alert.lead_id}/").content.decode()
    assert "Rejected: No budget — Frozen until Q3" in page
    unassigned_alert.lead.refresh_from_db()
    assert unassigned_alert.lead.stage == Stage.NURTURE


def test_a_rejection_without_a_reason_is_explained_and_changes_nothing(unassigned_alert, rep1):
    response = signed_in(rep1).post(f"/queue/alerts/{unassigned_alert.pk}/reject/", {"reason": ""}, follow=True)
    assert b"Reason: Pick one of" in response.content
    unassigned_alert.lead.refresh_from_db()
    assert unassigned_alert.lead.stage == Stage.MQL


def test_a_rep_works_a_lead_from_call_to_won_deal_on_its_page(unassigned_alert, rep1):
    client = signed_in(rep1)
    lead_id = unassigned_alert.lead_id
    client.post(f"/queue/alerts/{unassigned_alert.pk}/accept/")
    client.post(f"/queue/leads/{lead_id}/activities/", {"kind": "call", "outcome": "Keen", "next_step": "Demo"})
    client.post(f"/queue/leads/{lead_id}/qualify/", {"value": "9000", "currency": "EUR", "next_step": "Proposal"})
    client.post(f"/queue/leads/{lead_id}/proposal/sent/")
    client.post(f"/queue/leads/{lead_id}/win/", {"value": "9500"})
    deal = Deal.objects.get(lead_id=lead_id)
    assert Activity.objects.filter(lead_id=lead_id, kind="call").count() == 1
    assert (deal.status, str(deal.value), deal.proposal_sent_at is not None) == (DealStatus.WON, "9500.00", True)


def test_my_leads_lists_my_accepted_leads_and_not_others(rep1, rep2):
    mine, theirs = make_alert(company="Mine Inc", assignee=rep1), make_alert(company="Theirs Ltd", assignee=rep2)
    accept_alert(alert=mine, user=rep1)
    accept_alert(alert=theirs, user=rep2)
    html = signed_in(rep1).get("/my-leads/").content.decode()
    assert "Mine Inc" in html and "Theirs Ltd" not in html


def test_my_leads_takes_the_same_queries_for_2_or_20_leads(rep1, round_robin_off, django_assert_num_queries):
    client = signed_in(rep1)
    for _ in range(2):
        accept_alert(alert=make_alert(), user=rep1)
    # session, user, role, leads with annotations, their open deals, the header's counts
    with django_assert_num_queries(6):
        client.get("/my-leads/")
    for _ in range(18):
        accept_alert(alert=make_alert(), user=rep1)
    with django_assert_num_queries(6):
        client.get("/my-leads/")


def test_the_header_shows_unread_notifications_to_a_rep(rep1):
    make_alert()
    html = signed_in(rep1).get("/queue/").content.decode()
    assert 'data-testid="unread-count">1<' in html


def test_reading_notifications_clears_the_badge(rep1):
    make_alert()
    client = signed_in(rep1)
    client.post("/notifications/")
    assert Notification.objects.filter(user=rep1, read_at__isnull=True).count() == 0
    assert b'data-testid="unread-count"' not in client.get("/queue/").content


# --- /settings/ ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["marketer", "rep1", "manager"])
def test_settings_are_for_admins_only(who, request):
    assert signed_in(request.getfixturevalue(who)).get("/settings/").status_code == 403


@pytest.mark.smoke
def test_an_admin_creates_an_api_key_that_is_shown_once(admin, rep1):
    client = signed_in(admin)
    response = client.post("/settings/api-keys/", {"name": "CRM sync", "scopes": ["leads:read"], "user": rep1.pk})
    key = ApiKey.objects.get(name="CRM sync")
    html = response.content.decode()
    raw = html.split("<code>fk_", 1)[1].split("</code>", 1)[0]
    assert raw.startswith(f"{key.prefix}_") and len(raw) > 20
    assert (key.scopes, key.user) == (["leads:read"], rep1)
    assert raw not in client.get("/settings/").content.decode()


def test_an_api_key_without_scopes_is_refused_next_to_the_field(admin):
    response = signed_in(admin).post("/settings/api-keys/", {"name": "Nothing"})
    assert response.status_code == 400
    assert b"Pick at least one scope." in response.content
    assert not ApiKey.objects.exists()


def test_an_admin_revokes_a_key(admin):
    from events.services import create_api_key

    key, _ = create_api_key(name="old", scopes=["events:write"])
    signed_in(admin).post(f"/settings/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_an_admin_registers_a_webhook_and_sees_its_secret_once(admin):
    client = signed_in(admin)
    response = client.post(
        "/settings/webhooks/", {"url": "https://hooks.example.com/funnel", "event_types": ["deal.won", "lead.mql"]}
    )
    endpoint = WebhookEndpoint.objects.get()
    secret = decrypt_secret(endpoint.secret_encrypted)
    assert secret in response.content.decode()
    assert secret not in client.get("/settings/").content.decode()
    assert endpoint.event_types == ["deal.won", "lead.mql"]


def test_a_webhook_with_a_bad_url_is_refused_next_to_the_field(admin):
    response = signed_in(admin).post("/settings/webhooks/", {"url": "javascript:alert(1)", "event_types": ["lead.mql"]})
    assert response.status_code == 400
    assert b"Enter an http:// or https:// address." in response.content
