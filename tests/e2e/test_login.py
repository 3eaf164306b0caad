import pytest

from leads.stages import Stage
from tests.e2e.conftest import log_in, screenshot
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_marketer_logs_in_and_sees_the_pipeline_overview(page, live_server, marketer):
    LeadFactory.create_batch(2, stage=Stage.MQL, score=60)
    log_in(page, live_server, "marketer")
    assert page.url.endswith("/pipeline/")
    assert page.locator('.count[data-stage="mql"]').inner_text() == "2"
    screenshot(page, "pipeline-overview")


def test_wrong_password_shows_an_error(page, live_server, marketer):
    log_in(page, live_server, "marketer", password="wrong")
    assert page.get_by_role("alert").is_visible()
