"""Rescoring a chunk of leads: stored scores, history, MQL crossings and cycles."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.actors import Actor
from leads.models import Lead, StageTransition
from leads.services import move_lead
from leads.stages import Stage
from sales.models import AlertStatus, SalesAlert
from scoring.models import ScoreChange
from scoring.selectors import score_explanation, score_history
from scoring.services import compute_score, rescore_leads
from tests.factories import AnonymousLeadFactory, LeadFactory

from .conftest import EventFactory, demo_request, pricing_view

pytestmark = pytest.mark.django_db


def ready_to_buy(lead, *, ago=timedelta(0)):
    demo_request(lead, ago=ago)
    pricing_view(lead, ago=ago)
    pricing_view(lead, ago=ago)


@pytest.mark.smoke
def test_rescoring_stores_the_score_and_a_history_row_with_its_contributions(default_rules):
    lead = LeadFactory(job_title="Analyst")
    demo_request(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events")
    lead.refresh_from_db()
    change = ScoreChange.objects.get(lead=lead)
    assert lead.score == 40
    assert (change.old_score, change.new_score, change.cause) == (0, 40, "events")
    assert [c["label"] for c in change.contributions] == ["Demo request"]


def test_an_unchanged_score_writes_no_history(default_rules):
    lead = LeadFactory(job_title="Analyst")
    demo_request(lead)
    now = timezone.now()
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now)
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now)
    assert ScoreChange.objects.filter(lead=lead).count() == 1


@pytest.mark.smoke
def test_crossing_the_threshold_moves_an_identified_lead_to_mql_and_raises_one_alert(default_rules):
    lead = LeadFactory(job_title="Analyst", stage=Stage.LEAD_GEN)
    ready_to_buy(lead)
    outcome = rescore_leads(lead_ids=[lead.pk], cause="events")
    lead.refresh_from_db()
    alert = SalesAlert.objects.get(lead=lead)
    move = StageTransition.objects.filter(lead=lead).last()
    assert outcome.crossings == [lead.pk]
    assert (lead.stage, lead.mql_crossings, lead.mql_armed) == (Stage.MQL, 1, False)
    assert (move.to_stage, move.actor_kind, move.actor_label) == (Stage.MQL, "system", "score 52")
    assert move.reason == "Score 52 crossed the MQL threshold 50"
    assert (alert.cycle, alert.crossing, alert.score) == (1, 1, 52)
    assert [c["label"] for c in alert.contributions] == ["Demo request", "Pricing page view"]


def test_rescoring_a_crossed_lead_again_raises_no_second_alert(default_rules):
    lead = LeadFactory(job_title="Analyst")
    ready_to_buy(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events")
    pricing_view(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events")
    assert SalesAlert.objects.filter(lead=lead).count() == 1
    assert StageTransition.objects.filter(lead=lead, to_stage=Stage.MQL).count() == 1


def test_an_anonymous_lead_above_the_threshold_is_scored_but_not_handed_to_sales(default_rules):
    lead = AnonymousLeadFactory()
    ready_to_buy(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events")
    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (52, Stage.DEMAND_GEN)
    assert not SalesAlert.objects.filter(lead=lead).exists()


def test_a_lead_identified_later_crosses_on_its_next_rescore(default_rules):
    lead = AnonymousLeadFactory()
    ready_to_buy(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events")
    Lead.objects.filter(pk=lead.pk).update(email="known@example.com")
    rescore_leads(lead_ids=[lead.pk], cause="identified")
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert SalesAlert.objects.filter(lead=lead).count() == 1


def test_a_rejected_lead_is_rearmed_only_after_its_score_drops_below_recycle(default_rules):
    lead = LeadFactory(job_title="Analyst")
    ready_to_buy(lead)
    now = timezone.now()
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now)
    SalesAlert.objects.filter(lead=lead).update(status=AlertStatus.REJECTED)
    move_lead(lead=lead.pk, to=Stage.NURTURE, actor=Actor.system("test"), reason="Not now")

    pricing_view(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now + timedelta(seconds=1))
    lead.refresh_from_db()
    assert (lead.stage, lead.mql_armed) == (Stage.NURTURE, False)

    months_later = now + timedelta(days=90)
    rescore_leads(lead_ids=[lead.pk], cause="decay", as_of=months_later)
    lead.refresh_from_db()
    assert lead.score < 25 and lead.mql_armed

    for _ in range(2):
        EventFactory(lead=lead, type="form_submitted", properties={"form": "demo-request"}, occurred_at=months_later)
        EventFactory(lead=lead, type="form_submitted", properties={"form": "contact"}, occurred_at=months_later)
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=months_later + timedelta(minutes=1))
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert list(SalesAlert.objects.filter(lead=lead).values_list("crossing", flat=True).order_by("crossing")) == [1, 2]


def test_a_falling_score_never_moves_an_mql_back_and_flags_its_open_alert(default_rules):
    lead = LeadFactory(job_title="Analyst")
    ready_to_buy(lead)
    now = timezone.now()
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now)
    rescore_leads(lead_ids=[lead.pk], cause="decay", as_of=now + timedelta(days=60))
    lead.refresh_from_db()
    alert = SalesAlert.objects.get(lead=lead)
    assert lead.score < 25
    assert lead.stage == Stage.MQL
    assert alert.decayed_below_recycle


def test_a_customer_engaging_after_the_quiet_period_starts_a_new_cycle_scored_afresh(default_rules, settings):
    settings.FUNNEL_RECYCLE_QUIET_DAYS = 30
    now = timezone.now()
    lead = LeadFactory(job_title="Analyst", stage=Stage.CUSTOMER, stage_entered_at=now - timedelta(days=60))
    demo_request(lead, ago=timedelta(days=70))
    pricing_view(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now + timedelta(seconds=1))
    lead.refresh_from_db()
    assert (lead.stage, lead.cycle) == (Stage.LEAD_GEN, 2)
    assert lead.score == 6


def test_a_customer_engaging_within_the_quiet_period_stays_a_customer(default_rules, settings):
    settings.FUNNEL_RECYCLE_QUIET_DAYS = 30
    now = timezone.now()
    lead = LeadFactory(job_title="Analyst", stage=Stage.CUSTOMER, stage_entered_at=now - timedelta(days=10))
    pricing_view(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now + timedelta(seconds=1))
    lead.refresh_from_db()
    assert (lead.stage, lead.cycle) == (Stage.CUSTOMER, 1)


@pytest.mark.smoke
def test_the_explanation_adds_up_to_the_score_including_decay(default_rules):
    lead = LeadFactory(job_title="VP Marketing")
    now = timezone.now()
    EventFactory(lead=lead, type="form_submitted", properties={"form": "demo-request"}, occurred_at=now)
    for minutes in range(4):
        EventFactory(lead=lead, properties={"url": "/pricing"}, occurred_at=now - timedelta(days=30, minutes=minutes))
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now)
    lead.refresh_from_db()
    explanation = score_explanation(lead=lead)
    assert explanation["score"] == lead.score == 64
    assert explanation["text"] == (
        "64 = Demo request +40, 3× Pricing page view +18 (capped), Senior title +15, decayed −9"
    )
    assert explanation["computed_at"] == now


def test_the_score_history_lists_changes_oldest_first(default_rules):
    lead = LeadFactory(job_title="Analyst")
    now = timezone.now()
    demo_request(lead, ago=timedelta(minutes=5))
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now - timedelta(minutes=4))
    pricing_view(lead, ago=timedelta(minutes=1))
    rescore_leads(lead_ids=[lead.pk], cause="events", as_of=now)
    assert [point["score"] for point in score_history(lead=lead)] == [40, 46]


def test_the_stored_score_equals_the_reference_score(default_rules):
    leads = [LeadFactory(job_title=title) for title in ("VP", "Analyst", "Head of IT")]
    for index, lead in enumerate(leads):
        for day in range(index + 2):
            pricing_view(lead, ago=timedelta(days=day))
    now = timezone.now()
    rescore_leads(lead_ids=[lead.pk for lead in leads], cause="events", as_of=now)
    for lead in leads:
        lead.refresh_from_db()
        assert lead.score == compute_score(lead=lead, as_of=now).score
