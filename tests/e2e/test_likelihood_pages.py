"""The likelihood is visible where people work: the model page, a lead's detail and
the sales queue, in a real Chromium (screenshots kept)."""

import pytest

from leads.models import Lead
from sales.models import SalesAlert
from scoring.likelihood.refresh import refresh_likelihoods
from tests.e2e.conftest import log_in, screenshot
from tests.factories import EngagementEventFactory as EventFactory
from tests.factories import LeadFactory
from tests.scoring.likelihood_helpers import publish_small_model

pytestmark = pytest.mark.django_db(transaction=True)


def test_model_page_lead_detail_and_queue_show_the_likelihood(page, live_server, manager):
    publish_small_model()
    lead = LeadFactory(first_name="Ada", last_name="Buyer", stage="mql")
    EventFactory(lead=lead, type="page_view", properties={"url": "https://x.example/pricing"})
    SalesAlert.objects.create(lead=lead, cycle=1, crossing=1, score=60, contributions=[])
    refresh_likelihoods(lead_ids=[lead.pk])
    lead = Lead.objects.get(pk=lead.pk)
    percent = f"{round(lead.likelihood * 100)}%"

    log_in(page, live_server, manager.username)
    page.goto(f"{live_server.url}/scoring/model/")
    assert page.get_by_test_id("comparison").is_visible()
    assert page.get_by_test_id("reliability").is_visible() and page.get_by_test_id("lift").is_visible()
    screenshot(page, "likelihood-model-page")

    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    panel = page.get_by_test_id("likelihood")
    assert percent in panel.inner_text() and "Reasons up" in panel.inner_text()
    screenshot(page, "likelihood-lead-detail")

    page.goto(f"{live_server.url}/queue/?sort=likelihood")
    assert percent in page.locator(f'tr[data-lead="{lead.pk}"]').inner_text()
    screenshot(page, "likelihood-queue")
