from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import EngagementEvent
from leads.stages import Stage
from scoring.models import RuleVersion, ScoringRule
from scoring.rules import install_default_rules
from tests.e2e.conftest import log_in, screenshot
from tests.factories import LeadFactory
from tests.workers import running_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_marketer_edits_a_rule_previews_it_and_publishes_it(page, live_server, marketer):
    install_default_rules()
    now = timezone.now()
    lead = LeadFactory(stage=Stage.NURTURE, first_name="Nora", last_name="Nearly")
    for event_type, at, properties in (
        ("form_submitted", now - timedelta(days=1), {"form": "demo-request"}),
        ("page_view", now - timedelta(hours=1), {"url": "https://example.com/pricing"}),
    ):
        EngagementEvent.objects.create(
            message_id=f"e2e-{event_type}", lead=lead, type=event_type, occurred_at=at, properties=properties
        )

    with running_worker():
        log_in(page, live_server, "marketer")
        page.goto(f"{live_server.url}/scoring/rules/")
        page.get_by_role("link", name="Edit Pricing page view").click()
        page.get_by_label("Points").fill("12")
        page.get_by_role("button", name="Preview").click()

        page.locator('#preview-status[data-status="done"]').wait_for(timeout=30_000)
        assert "1 lead would cross" in page.locator("#would-cross").inner_text()
        assert page.get_by_role("link", name="Nora Nearly").is_visible()
        assert page.locator("#replay").is_visible()
        screenshot(page, "rule-editor-preview")

        page.get_by_role("button", name="Publish").click()
        page.wait_for_load_state()
        assert "Published" in page.locator(".messages").inner_text()
        page.locator('#rescore[data-status="done"]').wait_for(timeout=30_000)
        screenshot(page, "rule-editor-published")

    pricing = ScoringRule.objects.get(label="Pricing page view")
    assert (pricing.points, pricing.version) == (12, 2)
    assert RuleVersion.objects.filter(rule=pricing, version=2).exists()
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL  # the background rescore made Nora an MQL


def test_marketer_sees_the_rule_list(page, live_server, marketer):
    install_default_rules()
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/scoring/rules/")
    assert page.get_by_role("row", name="Pricing page view").is_visible()
    screenshot(page, "rule-editor-list")


def test_marketer_moves_a_rule_up_twice_with_the_keyboard(page, live_server, marketer):
    install_default_rules()
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/scoring/rules/")
    page.get_by_role("button", name="Move Pricing page view up").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "is now number 2 of" in page.locator(".messages").inner_text()
    # The focus comes back to the button just pressed, so Enter again moves it again.
    page.wait_for_function("document.activeElement.getAttribute('aria-label') === 'Move Pricing page view up'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    first_rows = page.locator("#rules-heading + .table-wrap tbody th[scope=row]").all_inner_texts()[:3]
    assert first_rows == ["Pricing page view", "Demo request", "Contact form"]
    # At the top there is no "up" any more: the focus moves to its "down" button.
    page.wait_for_function("document.activeElement.getAttribute('aria-label') === 'Move Pricing page view down'")
    screenshot(page, "rule-editor-reordered")
    assert [rule.label for rule in ScoringRule.objects.order_by("position")[:2]] == [
        "Pricing page view",
        "Demo request",
    ]
