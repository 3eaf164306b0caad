"""The reference score under the default rules: what a marketer expects to see."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from scoring.computation import Condition, RuleSpec, evaluate
from scoring.services import compute_score
from tests.factories import LeadFactory

from .conftest import EventFactory, blog_view, demo_request, pricing_view

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_a_demo_request_and_a_few_pricing_views_within_days_cross_the_mql_threshold(default_rules):
    lead = LeadFactory(job_title="Marketing Manager", country="Germany")
    demo_request(lead, ago=timedelta(days=2))
    for days in (2, 1, 1):
        pricing_view(lead, ago=timedelta(days=days))
    assert compute_score(lead=lead, as_of=timezone.now()).score >= 50


@pytest.mark.smoke
def test_a_single_blog_view_stays_far_below_the_threshold(default_rules):
    lead = LeadFactory(job_title="Marketing Manager")
    blog_view(lead)
    assert compute_score(lead=lead, as_of=timezone.now()).score == 1


def test_a_demo_request_alone_does_not_make_an_mql(default_rules):
    lead = LeadFactory(job_title="Marketing Manager")
    demo_request(lead)
    assert compute_score(lead=lead, as_of=timezone.now()).score == 40


def test_pricing_views_past_the_daily_cap_do_not_count(default_rules):
    lead = LeadFactory(job_title="Marketing Manager")
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    for minute in range(5):
        EventFactory(lead=lead, properties={"url": "/pricing"}, occurred_at=noon + timedelta(minutes=minute))
    result = compute_score(lead=lead, as_of=noon + timedelta(hours=1))
    [pricing] = result.contributions
    assert (pricing.events, pricing.points, pricing.capped) == (3, 18, True)


def test_the_cap_counts_per_utc_day():
    rule = RuleSpec(1, 1, "Pricing", "behaviour", "page_view", (), 5, 1, 30.0)
    late = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
    events = [(1, "page_view", late, {}), (2, "page_view", late + timedelta(minutes=2), {})]
    result = evaluate(lead=None, events=events, rules=[rule], as_of=late + timedelta(minutes=3), window_start=None)
    assert result.contributions[0].events == 2


def test_behaviour_points_halve_after_one_half_life_and_fit_points_never_decay():
    pricing = RuleSpec(1, 1, "Pricing", "behaviour", "page_view", (), 40, None, 10.0)
    senior = RuleSpec(2, 1, "Senior", "fit", "", (Condition("job_title", "contains", ("vp",)),), 20, None, 30.0)
    now = datetime(2026, 3, 11, tzinfo=UTC)

    class Lead:
        job_title = "VP Marketing"
        attributes = {}

    events = [(1, "page_view", now - timedelta(days=10), {})]
    result = evaluate(lead=Lead(), events=events, rules=[pricing, senior], as_of=now, window_start=None)
    assert [round(c.value, 6) for c in result.contributions] == [20.0, 20.0]
    assert result.score == 40


def test_negative_points_never_take_the_score_below_zero(default_rules):
    lead = LeadFactory(email="spy@competitor.example", job_title="Analyst")
    blog_view(lead)
    assert compute_score(lead=lead, as_of=timezone.now()).score == 0


def test_events_after_the_moment_of_scoring_do_not_count(default_rules):
    lead = LeadFactory(job_title="Analyst")
    demo_request(lead)
    assert compute_score(lead=lead, as_of=timezone.now() - timedelta(minutes=1)).score == 0


def test_fit_rules_read_attributes_and_company_size(default_rules):
    lead = LeadFactory(job_title="Head of Growth", company_size=120)
    result = compute_score(lead=lead, as_of=timezone.now())
    assert sorted(c.label for c in result.contributions) == ["Company of 50+", "Senior title"]
    assert result.score == 25
