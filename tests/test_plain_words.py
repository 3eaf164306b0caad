"""Codes and jargon are shown in words: stages by their label, rules as sentences, the
recycle hysteresis and cycles explained, and a lead's per-rule points add up to its score."""

import pytest
from django.test import Client

from scoring.models import RulePreview, ScoreChange
from scoring.rules import install_default_rules
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_rules_read_as_sentences_and_the_recycle_threshold_is_explained(marketer):
    install_default_rules()
    html = signed_in(marketer).get("/scoring/rules/").content.decode()
    assert "A form submitted where form equals “demo-request”" in html
    assert "form_submitted where" not in html
    assert "only once its score has first dropped below" in html


def test_a_preview_shows_stages_and_kinds_by_their_labels(marketer):
    results = {
        "now": {
            "would_cross": 1,
            "candidates": 1,
            "leads": [{"id": 1, "name": "Ada", "stage": "lead_gen", "score_now": 10, "score_draft": 60}],
        },
        "replay": {},
        "mql_threshold": 50,
    }
    draft = {"action": "create", "rule": {"label": "Fit", "kind": "fit", "conditions": [], "points": 5}}
    preview = RulePreview.objects.create(draft=draft, created_by=marketer, status="done", results=results)
    html = signed_in(marketer).get(f"/scoring/rules/previews/{preview.pk}/").content.decode()
    assert "<td>Lead generation</td>" in html
    assert "Fit (once, from the lead&#x27;s fields)" in html


def test_per_rule_points_add_up_to_the_score_shown(marketer):
    lead = LeadFactory(score=139, recycle_count=1)
    contributions = [
        {"label": "Demo request", "points": 40, "value": 39.6, "events": 1},
        {"label": "Pricing page", "points": 100, "value": 99.4, "events": 9},
    ]
    ScoreChange.objects.create(lead=lead, old_score=0, new_score=139, contributions=contributions, cause="test")
    html = signed_in(marketer).get(f"/leads/{lead.pk}/").content.decode()
    assert "<td>39.6</td>" in html and "<td>99.4</td>" in html
    assert "139.0 → score 139" in html
    assert "sent back to nurture 1×" in html


def test_the_timeline_says_in_words_that_a_lead_may_become_mql_again(marketer):
    from django.utils import timezone

    from leads.lifecycle.crossing import record_rearmed

    lead = LeadFactory()
    record_rearmed(lead_id=lead.pk, reason="Score 10 is below the recycle threshold 25", at=timezone.now())
    html = signed_in(marketer).get(f"/leads/{lead.pk}/").content.decode()
    assert "<strong>May become MQL again</strong> — Score 10 is below the recycle threshold 25" in html
    assert "Mql armed" not in html
