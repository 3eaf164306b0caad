"""Issue 13 walked again in Chromium: what a person reads in a confirmation, and where a
corrected form lands. Screenshots land in var/screenshots/."""

import pytest

from leads.models import Deal
from leads.stages import Stage
from sales.services import accept_alert
from tests.e2e.conftest import log_in, screenshot
from tests.factories import LeadFactory, sales_rep
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db(transaction=True)


def confirmation_of(page, action) -> str:
    """Run `action`, dismiss the confirmation it asks for and return what it said."""
    said = []
    page.once("dialog", lambda dialog: (said.append(dialog.message), dialog.dismiss()))
    action()
    page.wait_for_timeout(200)
    assert said, "no confirmation was asked"
    return said[0]


def test_a_move_confirmation_names_the_stages_without_the_form_hint(page, live_server, marketer):
    lead = LeadFactory(first_name="Kira", last_name="Fischer", stage=Stage.LEAD_GEN)
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/leads/{lead.pk}/move/")
    page.get_by_label("Move to").select_option(Stage.MQL)
    said = confirmation_of(page, lambda: page.get_by_role("button", name="Confirm move").click())
    assert said == "Move Kira Fischer from Lead generation to Marketing qualified (MQL)?"


def test_a_bulk_confirmation_says_where_the_selected_leads_go(page, live_server, marketer):
    sales_rep(username="rep9", first_name="Ravi", last_name="Patel")
    LeadFactory.create_batch(2, stage=Stage.LEAD_GEN)
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/leads/")
    for box in page.locator('input[name="leads"]').all():
        box.check()
    bulk = page.get_by_role("group", name="With the selected leads")
    bulk.get_by_label("Action").select_option("move")
    bulk.get_by_label("Stage").select_option(Stage.NURTURE)
    apply = bulk.get_by_role("button", name="Apply")
    assert confirmation_of(page, apply.click) == "Move the 2 selected leads to Nurture?"
    bulk.get_by_label("Action").select_option("assign")
    bulk.get_by_label("Owner").select_option(label="Ravi Patel")
    assert confirmation_of(page, apply.click) == "Assign the 2 selected leads to Ravi Patel?"


def test_a_corrected_qualify_form_lands_on_the_lead_with_its_deal(page, live_server, rep1, settings):
    settings.FUNNEL_ROUND_ROBIN = False
    alert = make_alert(assignee=rep1, first_name="Umar", last_name="Tanaka")
    accept_alert(alert=alert, user=rep1)
    log_in(page, live_server, "rep1")
    page.goto(f"{live_server.url}/queue/leads/{alert.lead_id}/")
    form = page.get_by_test_id("qualify-form")
    form.get_by_label("Deal value").fill("12,000")
    form.get_by_label("Currency").fill("E1")
    form.get_by_label("Next step").fill("Send the proposal")
    form.get_by_role("button", name="Qualify").click()
    form = page.get_by_test_id("qualify-form")
    assert form.get_by_label("Deal value").input_value() == "12,000"
    form.get_by_label("Currency").fill("EUR")
    form.get_by_role("button", name="Qualify").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/queue/leads/{alert.lead_id}/"
    assert "Qualified: the deal is open." in page.locator(".messages").inner_text()
    assert str(Deal.objects.get(lead_id=alert.lead_id).value) == "12000.00"
    screenshot(page, "frictions-qualified-after-a-correction")
