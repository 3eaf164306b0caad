"""Marks, leases and coalescing: the database says what is left to rescore."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scoring.models import RescoreMark, ScoreChange, ScoringRule
from scoring.services import (
    claim_marks,
    compute_score,
    mark_decaying_leads,
    mark_for_rescore,
    rescore_leads,
    rescore_marked_leads,
    settle_marks,
)
from tests.factories import LeadFactory

from .conftest import EventFactory, pricing_view

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_many_marks_for_one_lead_leave_one_mark(lead):
    for _ in range(5):
        mark_for_rescore(lead_ids=[lead.pk, lead.pk])
    mark = RescoreMark.objects.get(lead=lead)
    assert RescoreMark.objects.count() == 1
    # Still waiting, unclaimed: the first mark covers the later events, nothing is rewritten.
    assert (mark.generation, mark.settled_generation) == (1, 0)


def test_a_claimed_mark_is_not_claimed_twice_until_its_lease_runs_out(lead):
    mark_for_rescore(lead_ids=[lead.pk])
    now = timezone.now()
    assert [claim.lead_id for claim in claim_marks(now=now)] == [lead.pk]
    assert claim_marks(now=now + timedelta(seconds=1)) == []
    lease = timedelta(seconds=settings.FUNNEL_RESCORE_LEASE_SECONDS + 1)
    assert [claim.lead_id for claim in claim_marks(now=now + lease)] == [lead.pk]


def test_events_marked_during_a_rescore_keep_the_mark_for_the_next_one(lead):
    mark_for_rescore(lead_ids=[lead.pk])
    claims = claim_marks()
    mark_for_rescore(lead_ids=[lead.pk])  # an event arrives while the worker computes
    settle_marks(claims=claims, now=timezone.now())
    assert RescoreMark.pending().filter(lead=lead, leased_until__isnull=True).exists()
    later = timezone.now() + timedelta(seconds=0.5)
    assert [claim.lead_id for claim in claim_marks(now=later)] == [lead.pk]


def test_a_settled_mark_nobody_bumped_is_no_longer_pending(lead):
    mark_for_rescore(lead_ids=[lead.pk])
    settle_marks(claims=claim_marks(), now=timezone.now())
    assert not RescoreMark.pending().exists()


def test_a_lead_marked_again_right_after_a_rescore_waits_until_its_marks_pause(lead):
    mark_for_rescore(lead_ids=[lead.pk])
    settle_marks(claims=claim_marks(), now=timezone.now())
    mark_for_rescore(lead_ids=[lead.pk])
    now = timezone.now()
    assert claim_marks(now=now) == []
    assert [claim.lead_id for claim in claim_marks(now=now + timedelta(seconds=0.5))] == [lead.pk]


def test_a_thousand_events_for_one_lead_within_seconds_cost_at_most_two_rescores(lead):
    ScoringRule.objects.create(label="Email open", kind="behaviour", event_type="email_opened", points=1)
    started = time.monotonic()
    for batch in range(50):
        for _ in range(20):
            EventFactory(lead=lead, type="email_opened")
        mark_for_rescore(lead_ids=[lead.pk])
        rescore_marked_leads(ring=False)  # an eager worker, always free
        time.sleep(max(0.0, started + 0.06 * (batch + 1) - time.monotonic()))
    time.sleep(0.4)  # the burst has paused
    rescore_marked_leads(ring=False)
    lead.refresh_from_db()
    assert lead.score == 1000
    assert ScoreChange.objects.filter(lead=lead).count() <= 2


def test_the_decay_job_marks_only_leads_whose_score_can_still_change(default_rules):
    active = LeadFactory(job_title="Analyst")
    pricing_view(active, ago=timedelta(days=3))
    fit_only = LeadFactory(job_title="VP Sales")
    long_quiet = LeadFactory(job_title="Analyst")
    pricing_view(long_quiet, ago=timedelta(days=400))
    never_scored = LeadFactory(job_title="Analyst")
    rescore_leads(lead_ids=[active.pk, fit_only.pk, long_quiet.pk, never_scored.pk], cause="events")
    mark_decaying_leads()
    assert list(RescoreMark.pending().values_list("lead_id", flat=True)) == [active.pk]


def test_rescore_command_rescores_marked_leads_with_a_progress_bar(default_rules, capsys):
    leads = [LeadFactory(job_title="Analyst") for _ in range(3)]
    for lead in leads:
        pricing_view(lead)
    mark_for_rescore(lead_ids=[lead.pk for lead in leads])
    call_command("rescore")
    output = capsys.readouterr().out
    assert "100.0% 3/3" in output and "Rescored 3 leads" in output
    assert not RescoreMark.pending().exists()
    for lead in leads:
        lead.refresh_from_db()
        assert lead.score == compute_score(lead=lead, as_of=timezone.now()).score == 6


def test_a_claim_for_given_leads_takes_only_theirs_oldest_first_in_one_statement():
    leads = LeadFactory.create_batch(4)
    for lead in leads:  # marked one after another: the first is the oldest
        mark_for_rescore(lead_ids=[lead.pk])
    wanted = [leads[3].pk, leads[1].pk, leads[0].pk]

    with CaptureQueriesContext(connection) as queries:
        claims = claim_marks(lead_ids=wanted, limit=2)

    statements = [
        query["sql"] for query in queries.captured_queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) == (1 if connection.vendor == "postgresql" else 2)

    assert [claim.lead_id for claim in claims] == [leads[0].pk, leads[1].pk]
    assert [claim.lead_id for claim in claim_marks(lead_ids=wanted)] == [leads[3].pk]


def test_settling_many_claims_settles_each_at_the_generation_it_claimed(lead):
    others = LeadFactory.create_batch(2)
    mark_for_rescore(lead_ids=[lead.pk, *[other.pk for other in others]])
    claims = claim_marks()
    mark_for_rescore(lead_ids=[lead.pk])  # marked again while the rescore runs

    settle_marks(claims=claims, now=timezone.now())

    marks = {mark.lead_id: mark for mark in RescoreMark.objects.all()}
    assert (marks[lead.pk].generation, marks[lead.pk].settled_generation) == (2, 1)
    assert all(marks[other.pk].settled_generation == marks[other.pk].generation == 1 for other in others)
