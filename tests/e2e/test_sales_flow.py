"""The sales queue in a real Chromium: an MQL raised by posted events is accepted,
worked and won; a second rep is told who was first; a rejection goes back to nurture
with its reason; an overdue alert escalates to the manager."""

import json
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from events.services import create_api_key
from leads.models import Deal, DealStatus, Lead
from leads.stages import Stage
from sales.models import SalesAlert
from sales.services import sweep_slas
from scoring.rules import install_default_rules
from scoring.services import rescore_marked_leads
from tests.e2e.conftest import log_in, screenshot
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db(transaction=True)


def post_events(live_server, events: list[dict]) -> dict:
    _, key = create_api_key(name="Website", scopes=["events:write"])
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/events",
        data=json.dumps({"events": events}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        return json.loads(response.read())


def an_mql_from_posted_events(live_server) -> SalesAlert:
    """A demo request and two pricing views cross the default MQL threshold of 50; the
    rescoring a worker would run is run here, so the test controls when it happens."""
    install_default_rules()
    email = "ada@analytical.example"
    post_events(
        live_server,
        [
            {"message_id": "e2e-1", "type": "form_submitted", "email": email, "properties": {"form": "demo-request"}},
            {"message_id": "e2e-2", "type": "page_view", "email": email, "properties": {"url": "https://x.io/pricing"}},
            {"message_id": "e2e-3", "type": "page_view", "email": email, "properties": {"url": "https://x.io/pricing"}},
        ],
    )
    rescore_marked_leads(ring=False)
    return SalesAlert.objects.select_related("lead").get(lead__email=email)


def test_rep1_accepts_a_new_mql_works_it_to_a_won_deal_and_rep2_is_told_who_was_first(
    browser, page, live_server, rep1, rep2, settings
):
    settings.FUNNEL_ROUND_ROBIN = False  # unassigned, so both reps see the Accept button
    alert = an_mql_from_posted_events(live_server)
    row = f'tr[data-alert="{alert.pk}"]'

    log_in(page, live_server, "rep1")
    assert page.url.endswith("/queue/")
    page.locator(row).wait_for()
    assert "Demo request" in page.locator(row).inner_text()
    screenshot(page, "sales-queue")

    other = browser.new_context(viewport={"width": 1366, "height": 900})
    rep2_page = other.new_page()
    log_in(rep2_page, live_server, "rep2")
    rep2_page.locator(row).wait_for()

    page.locator(row).get_by_role("button", name="Accept").click()
    page.wait_for_url(f"**/queue/leads/{alert.lead_id}/")
    assert "the lead is yours now" in page.content()

    rep2_page.locator(row).get_by_role("button", name="Accept").click()
    rep2_page.wait_for_load_state()
    assert rep2_page.get_by_text("This alert was already accepted by rep1.").is_visible()
    screenshot(rep2_page, "sales-queue-already-taken")
    other.close()

    page.get_by_label("Kind").select_option("call")
    page.get_by_label("Outcome").fill("Keen; wants a proposal for 20 seats")
    page.get_by_label("Next step", exact=True).first.fill("Send the proposal")
    page.get_by_role("button", name="Log activity").click()
    page.wait_for_load_state()
    assert "Keen; wants a proposal for 20 seats" in page.locator('[data-testid="activities"]').inner_text()

    page.get_by_label("Deal value").fill("18000")
    page.get_by_role("button", name="Qualify").click()
    page.wait_for_load_state()
    assert page.locator('[data-testid="lead-stage"]').get_attribute("data-stage") == Stage.SQL

    page.get_by_label("Final value").fill("19500")
    page.get_by_role("button", name="Mark won").click()
    page.wait_for_load_state()
    assert page.locator('[data-testid="lead-stage"]').get_attribute("data-stage") == Stage.CUSTOMER
    screenshot(page, "sales-deal-won")
    deal = Deal.objects.get(lead_id=alert.lead_id)
    assert (deal.status, str(deal.value), deal.owner.username) == (DealStatus.WON, "19500.00", "rep1")


def test_rejecting_an_mql_sends_it_back_to_nurture_with_the_reason_on_its_history(page, live_server, rep1, settings):
    settings.FUNNEL_ROUND_ROBIN = False
    alert = make_alert(first_name="Linus", last_name="Pauling")
    row = page.locator(f'tr[data-alert="{alert.pk}"]')
    log_in(page, live_server, "rep1")
    row.get_by_text("Reject", exact=True).click()
    row.get_by_label("Reason").select_option("bad_timing")
    row.get_by_label("Note").fill("Budget opens in April")
    row.get_by_role("button", name="Reject to nurture").click()
    page.wait_for_load_state()
    assert page.get_by_text("Rejected: the lead is back in nurture.").is_visible()
    assert not page.locator(f'tr[data-alert="{alert.pk}"]').count()

    page.goto(f"{live_server.url}/queue/leads/{alert.lead_id}/")
    assert page.locator('[data-testid="lead-stage"]').get_attribute("data-stage") == Stage.NURTURE
    assert "Rejected: Bad timing — Budget opens in April" in page.locator('[data-testid="history"]').inner_text()
    screenshot(page, "sales-rejected-history")
    assert Lead.objects.get(pk=alert.lead_id).stage == Stage.NURTURE


def test_an_overdue_alert_escalates_to_the_manager(page, live_server, rep1, manager):
    alert = make_alert(first_name="Katherine", last_name="Johnson")
    SalesAlert.objects.filter(pk=alert.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    assert sweep_slas()["escalated"] == 1  # what the beat task runs every minute

    log_in(page, live_server, "manager")
    assert page.locator('[data-testid="overdue-count"]').inner_text() == "1 overdue"
    assert page.locator('[data-testid="unread-count"]').inner_text() == "1"
    page.locator('[data-testid="overdue-count"]').click()
    page.wait_for_load_state()
    assert "overdue by" in page.locator(f'tr[data-alert="{alert.pk}"] [data-testid="sla"]').inner_text()
    screenshot(page, "sales-queue-overdue")
    page.get_by_role("link", name="Notifications, 1 unread").click()
    page.wait_for_load_state()
    assert "Overdue MQL escalated: Katherine Johnson" in page.locator('[data-testid="notifications"]').inner_text()
    screenshot(page, "sales-notifications")
