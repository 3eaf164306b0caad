import pytest
from django.core.cache import cache

from attribution.models import AttributionCredit, AttributionRefresh
from attribution.services import PENDING_KEY
from leads.stages import Stage
from sales.services import win_lead
from tests import factories
from tests.workers import running_worker, wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_won_deal_makes_a_worker_rebuild_the_credits():
    cache.delete(PENDING_KEY)
    rep = factories.sales_rep()
    deal = factories.DealFactory(lead__owner=rep, lead__utm_campaign="spring", value=7000)
    assert deal.lead.stage == Stage.SQL
    with running_worker():
        win_lead(lead=deal.lead, user=rep, value=7000)
        rebuilt = wait_for(lambda: AttributionRefresh.objects.filter(refreshed_at__isnull=False).exists(), timeout=60)
    assert rebuilt, "no worker rebuilt the credits after the deal was won"
    won = AttributionCredit.objects.filter(milestone="customer", campaign="spring").first()
    assert won is not None and won.revenue_first_touch == 7000
