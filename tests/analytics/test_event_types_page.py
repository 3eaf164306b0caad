"""The event types page tells a marketer which types arrive, how often, when last,
and whether a rule scores them; the rule editor and a draft's preview say the same."""

import pytest
from django.test import Client
from django.utils import timezone

from analytics.services import refresh_analytics
from events.models import EngagementEvent
from scoring.models import RulePreview
from scoring.rules import install_default_rules
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_events(event_type: str, count: int, **properties):
    lead = LeadFactory()
    EngagementEvent.objects.bulk_create(
        EngagementEvent(
            message_id=f"{event_type}-{lead.pk}-{index}",
            lead=lead,
            type=event_type,
            occurred_at=timezone.now(),
            properties=properties,
        )
        for index in range(count)
    )


def test_the_page_lists_types_with_counts_and_flags_the_ones_no_rule_scores(marketer):
    install_default_rules()
    add_events("form_submitted", 3, form="demo-request")
    add_events("Trial Started", 2)
    refresh_analytics()
    html = signed_in(marketer).get("/analytics/event-types/").content.decode()
    trial = html.split('data-type="Trial Started"')[1].split("</tr>")[0]
    form = html.split('data-type="form_submitted"')[1].split("</tr>")[0]
    assert "No rule" in trial and ">2<" in trial
    assert "No rule" not in form and ">3<" in form
    assert "1 event type arrives that no active rule scores" in html


def test_a_type_received_since_the_last_refresh_is_listed_already(marketer):
    add_events("Trial Started", 1)
    html = signed_in(marketer).get("/analytics/event-types/").content.decode()
    assert 'data-type="Trial Started"' in html


def test_a_sales_rep_may_not_open_the_event_types_page(rep1):
    assert signed_in(rep1).get("/analytics/event-types/").status_code == 403


def test_the_rule_editor_offers_the_types_received_and_links_the_page(marketer):
    add_events("Trial Started", 1)
    html = signed_in(marketer).get("/scoring/rules/new/").content.decode()
    assert '<option value="Trial Started">' in html
    assert 'href="/analytics/event-types/"' in html


def test_a_draft_preview_says_how_many_recent_events_it_matches(marketer):
    add_events("form_submitted", 3, form="demo-request")
    add_events("form_submitted", 2, form="newsletter")
    draft = {
        "action": "create",
        "rule": {
            "label": "Demo",
            "kind": "behaviour",
            "event_type": "form_submitted",
            "conditions": [{"field": "form", "op": "equals", "value": "demo-request"}],
            "points": 40,
        },
    }
    preview = RulePreview.objects.create(draft=draft, created_by=marketer)
    html = signed_in(marketer).get(f"/scoring/rules/previews/{preview.pk}/").content.decode()
    assert "<strong>5</strong> are <code>form_submitted</code> and <strong>3</strong> of them match" in html
