"""A rep on a phone (390 px wide) works the queue, a lead and their leads without
scrolling sideways, and reaches every action; the same pages at 1366 px for comparison.
Screenshots land in var/screenshots/."""

import pytest

from sales.services import accept_alert
from scoring.rules import install_default_rules
from tests.e2e.conftest import log_in, screenshot
from tests.factories import ActivityFactory
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def rep_with_work(rep1, settings):
    settings.FUNNEL_ROUND_ROBIN = False
    for name in ("Kira Fischer-Montgomery", "Umar Tanaka", "Grace Hopper"):
        first, last = name.split(" ")
        make_alert(
            assignee=rep1,
            first_name=first,
            last_name=last,
            company="Orbital Freight and Logistics International",
            job_title="Vice President of Revenue Operations",
            email=f"{first.lower()}.{last.lower()}@a-rather-long-company-domain.example",
        )
    accepted = make_alert(assignee=rep1, first_name="Ada", last_name="Lovelace", company="Analytical Engines")
    accept_alert(alert=accepted, user=rep1)
    ActivityFactory(lead=accepted.lead, user=rep1, next_step="Send the proposal with the 20-seat discount")
    return accepted.lead


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def right_edge(locator) -> float:
    box = locator.bounding_box()
    return box["x"] + box["width"]


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_queue_my_leads_a_lead_and_the_header_fit_the_screen(browser, live_server, rep_with_work, size, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    log_in(page, live_server, "rep1")
    pages = {
        "queue": "/queue/",
        "my-leads": "/my-leads/",
        "lead": f"/queue/leads/{rep_with_work.pk}/",
        "notifications": "/notifications/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways at {viewport['width']} px"
        logout = page.get_by_role("button", name="Log out")
        assert logout.is_visible() and right_edge(logout) <= viewport["width"]
        screenshot(page, f"{size}-{name}")
    page.goto(f"{live_server.url}/queue/")
    accept = page.get_by_role("button", name="Accept").first
    assert accept.is_visible() and right_edge(accept) <= viewport["width"]
    score = page.locator(".score").first
    assert score.is_visible() and right_edge(score) <= viewport["width"]
    context.close()


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_scoring_rules_page_fits_the_screen_with_its_actions_in_reach(
    browser, live_server, marketer, size, viewport
):
    install_default_rules()
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/scoring/rules/")
    assert horizontal_overflow(page) <= 0, f"the rules page scrolls sideways at {viewport['width']} px"
    for action in (page.get_by_role("link", name="New rule"), page.get_by_role("link", name="Edit").first):
        assert action.is_visible() and right_edge(action) <= viewport["width"]
    screenshot(page, f"{size}-scoring-rules")
    context.close()


def test_the_likelihood_model_page_fits_a_phone(browser, live_server, marketer):
    from tests.scoring.likelihood_helpers import publish_small_model

    publish_small_model()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/scoring/model/")
    assert page.get_by_test_id("comparison").is_visible()
    assert horizontal_overflow(page) <= 0, "the model page scrolls sideways at 390 px"
    screenshot(page, "phone-scoring-model")
    context.close()
