"""The likelihood's two paths to the same facts: PostgreSQL's set-based statements (the
fast path) and the portable one (ORM reads, event groups and the rule score in Python)
that runs on the embedded SQLite default. One definition of the features: the same
rows, the same probabilities."""

from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from events.models import EngagementEvent
from scoring.likelihood.dataset import load_history, plan_split, snapshot_at
from scoring.likelihood.features import EVENT_GROUPS, GROUP_CASE, event_group
from scoring.likelihood.refresh import facts_now
from scoring.likelihood.storage import published_model
from tests.factories import EngagementEventFactory as EventFactory
from tests.factories import LeadFactory
from tests.scoring.likelihood_helpers import publish_small_model

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

GROUP = {key: index for index, (key, _label, _sql) in enumerate(EVENT_GROUPS)}


def _plain(facts):
    return {
        "ids": facts.lead_ids.tolist(),
        "counts": {window: counts.tolist() for window, counts in facts.counts.items()},
        "days": np.nan_to_num(facts.days_since_last, nan=-1).tolist(),
        "seniority": facts.seniority,
        "size_band": facts.size_band,
        "country": facts.country,
        "source": facts.source,
        "stage": facts.stage,
        "cycle": facts.cycle.tolist(),
        "rule_score": facts.rule_score.tolist(),
    }


@pytest.fixture
def history_with_odd_events():
    """The demo's history, plus events whose group is easy to get wrong."""
    call_command("seed_demo", leads=150, seed=5)
    lead = LeadFactory(created_at=timezone.now() - timedelta(days=400))
    at = timezone.now() - timedelta(days=100)
    for event_type, properties in (
        ("page_view", {"url": "https://example.com/PRICING?plan=pro"}),
        ("page_view", {"url": 404}),
        ("page_view", {"url": ["/pricing"]}),
        ("page_view", {}),
        ("form_submitted", {"form": "Book a Demo"}),
        ("form_submitted", {"form": None}),
        ("email_opened", {"url": "/pricing"}),
        ("identify", {}),
    ):
        EventFactory(lead=lead, type=event_type, properties=properties, occurred_at=at)
    return lead


def test_the_python_event_groups_equal_the_sql_case_on_every_event(history_with_odd_events):
    in_sql = dict(EngagementEvent.objects.extra(select={"grp": GROUP_CASE.replace("e.", "")}).values_list("id", "grp"))
    in_python = {
        event_id: event_group(event_type, properties)
        for event_id, event_type, properties in EngagementEvent.objects.values_list("id", "type", "properties")
    }
    assert in_python == in_sql
    assert GROUP["pricing"] in in_python.values() and GROUP["demo"] in in_python.values()


def test_both_paths_give_the_same_snapshots_at_every_moment(history_with_odd_events):
    now = timezone.now()
    fast, portable = load_history(until=now, fast=True), load_history(until=now, fast=False)
    split = plan_split(now=now, first_created=now - timedelta(days=400))
    for moment in split.train_moments[-3:] + split.holdout_moments:
        on_sql, in_python = snapshot_at(fast, moment), snapshot_at(portable, moment)
        assert _plain(in_python.facts) == _plain(on_sql.facts)
        assert in_python.labels.tolist() == on_sql.labels.tolist()
    assert any(_plain(snapshot_at(fast, moment).facts)["rule_score"] for moment in split.holdout_moments)


def test_both_paths_give_the_same_likelihoods_now(history_with_odd_events):
    publish_small_model()
    model = published_model()
    ids = sorted(EngagementEvent.objects.values_list("lead_id", flat=True).distinct())
    as_of = timezone.now()
    stored_sql, on_sql, stale_sql = facts_now(lead_ids=ids, as_of=as_of, fast=True)
    stored_python, in_python, stale_python = facts_now(lead_ids=ids, as_of=as_of, fast=False)
    assert _plain(in_python) == _plain(on_sql)
    assert stale_python == stale_sql
    assert np.array_equal(stored_python, stored_sql, equal_nan=True)
    p_sql = model.probabilities(model.spec.encode(on_sql))
    p_python = model.probabilities(model.spec.encode(in_python))
    assert p_python.tolist() == p_sql.tolist()
