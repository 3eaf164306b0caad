"""A rescore keeps each lead's likelihood true to the lead as it is now: the stored
number equals the model's probability of the lead's current facts (its events of the
last 90 days, its stage and its new score), read by the portable reference path. A full
rescore after a rule change does that for the leads whose score (or stage) it changed."""

from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead
from scoring.likelihood.refresh import facts_now
from scoring.likelihood.storage import published_model
from scoring.models import RescoreJob
from scoring.services import rescore_leads, run_rescore_job, start_full_rescore
from tests.factories import EngagementEventFactory as EventFactory
from tests.factories import LeadFactory
from tests.scoring.likelihood_helpers import publish_small_model

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _reference_likelihoods(lead_ids, as_of) -> dict[int, float]:
    model = published_model()
    _stored, facts, _stale = facts_now(lead_ids=lead_ids, as_of=as_of, fast=False)
    probabilities = np.round(model.probabilities(model.spec.encode(facts)), 6)
    return dict(zip(facts.lead_ids.tolist(), probabilities.tolist(), strict=True))


def _stored_likelihoods(lead_ids) -> dict[int, float]:
    return dict(Lead.objects.filter(pk__in=lead_ids).values_list("pk", "likelihood"))


def _leads_with_history(now):
    leads = LeadFactory.create_batch(4, created_at=now - timedelta(days=200))
    for index, lead in enumerate(leads):
        for days_ago in range(index * 2):
            EventFactory(
                lead=lead, type="page_view", properties={"url": "/pricing"}, occurred_at=now - timedelta(days=days_ago)
            )
        EventFactory(lead=lead, type="email_opened", occurred_at=now - timedelta(days=20 + index))
    return leads


def test_a_rescore_stores_the_likelihood_of_each_leads_current_facts():
    publish_small_model()
    now = timezone.now()
    ids = [lead.pk for lead in _leads_with_history(now)]
    rescore_leads(lead_ids=ids, cause="test", as_of=now)
    assert _stored_likelihoods(ids) == _reference_likelihoods(ids, now)


def test_a_leads_likelihood_moves_with_its_new_events_at_the_next_rescore():
    publish_small_model()
    now = timezone.now()
    lead = LeadFactory(created_at=now - timedelta(days=200))
    EventFactory(lead=lead, type="email_opened", occurred_at=now - timedelta(days=40))
    rescore_leads(lead_ids=[lead.pk], cause="test", as_of=now)
    before = _stored_likelihoods([lead.pk])[lead.pk]

    later = now + timedelta(minutes=5)
    for minutes in range(5):
        EventFactory(
            lead=lead, type="form_submitted", properties={"form": "demo"}, occurred_at=now + timedelta(minutes=minutes)
        )
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=later)

    after = _stored_likelihoods([lead.pk])[lead.pk]
    assert after != before
    assert after == _reference_likelihoods([lead.pk], later)[lead.pk]


def test_a_likelihood_moves_when_an_event_leaves_its_window_without_new_events():
    publish_small_model()
    now = timezone.now()
    lead = LeadFactory(created_at=now - timedelta(days=200))
    EventFactory(lead=lead, type="page_view", properties={"url": "/pricing"}, occurred_at=now - timedelta(days=6))
    rescore_leads(lead_ids=[lead.pk], cause="test", as_of=now)
    before = _stored_likelihoods([lead.pk])[lead.pk]

    later = now + timedelta(days=2)  # the page view is 8 days old now: out of the 7-day window
    rescore_leads(lead_ids=[lead.pk], cause="decay", as_of=later)

    after = _stored_likelihoods([lead.pk])[lead.pk]
    assert after != before
    assert after == _reference_likelihoods([lead.pk], later)[lead.pk]


def _run_full_rescore() -> RescoreJob:
    job = start_full_rescore(cause="test", enqueue=False)
    while run_rescore_job(job_id=job.pk, budget_seconds=60):
        pass
    job.refresh_from_db()
    return job


def test_a_full_rescore_gives_a_lead_whose_score_changed_the_likelihood_of_its_new_facts():
    publish_small_model()
    now = timezone.now()
    lead = LeadFactory(created_at=now - timedelta(days=200))
    for minutes in range(3):
        EventFactory(
            lead=lead,
            type="page_view",
            properties={"url": "/pricing"},
            occurred_at=now - timedelta(days=12, minutes=minutes),
        )
    rescore_leads(lead_ids=[lead.pk], cause="test", as_of=now - timedelta(days=10))
    scored_before = Lead.objects.get(pk=lead.pk).score

    job = _run_full_rescore()

    lead.refresh_from_db()
    assert lead.score != scored_before
    assert lead.likelihood == _reference_likelihoods([lead.pk], job.updated_at)[lead.pk]


def test_a_full_rescore_reads_no_events_for_the_likelihoods_of_leads_whose_score_did_not_change():
    publish_small_model()
    now = timezone.now()
    leads = LeadFactory.create_batch(3, created_at=now - timedelta(days=200))
    for lead in leads:
        EventFactory(lead=lead, type="email_opened", occurred_at=now - timedelta(days=3))
    rescore_leads(lead_ids=[lead.pk for lead in leads], cause="test", as_of=now)

    with CaptureQueriesContext(connection) as queries:
        _run_full_rescore()

    reading_events = [query["sql"] for query in queries if "events_engagementevent" in query["sql"]]
    assert len(reading_events) == 1  # the scores' statement
