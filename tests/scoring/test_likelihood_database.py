"""The likelihood model on whichever database Funnel runs on: PostgreSQL's set-based
path, and the portable path on the embedded SQLite default (these tests are in the
smoke subset CI runs there)."""

from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from leads.models import Lead, StageTransition
from leads.stages import MoveKind, Stage
from scoring.likelihood.dataset import load_history, snapshot_at
from scoring.likelihood.refresh import refresh_likelihoods
from scoring.models import LikelihoodModel, LikelihoodTraining, LikelihoodTrainingStatus
from scoring.tasks import train_likelihood
from tests.factories import EngagementEventFactory as EventFactory
from tests.factories import LeadFactory
from tests.scoring.likelihood_helpers import publish_small_model

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

# The set-based path is PostgreSQL's; the portable one runs on every database.
ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
PATHS = [pytest.param(True, id="set-based")] * ON_POSTGRESQL + [pytest.param(False, id="portable")]


def _facts_as_plain(facts):
    return {
        "ids": facts.lead_ids.tolist(),
        "counts": {w: c.tolist() for w, c in facts.counts.items()},
        "days": np.nan_to_num(facts.days_since_last, nan=-1).tolist(),
        "stage": facts.stage,
        "cycle": facts.cycle.tolist(),
        "rule_score": facts.rule_score.tolist(),
    }


@pytest.mark.parametrize("fast", PATHS)
def test_no_feature_at_a_moment_uses_an_event_or_a_stage_move_after_it(fast):
    now = timezone.now()
    moment = now - timedelta(days=60)
    lead = LeadFactory(created_at=now - timedelta(days=200), stage_entered_at=now - timedelta(days=200))
    for days_before in (1, 3, 20, 80):
        EventFactory(
            lead=lead,
            type="page_view",
            properties={"url": "/pricing"},
            occurred_at=moment - timedelta(days=days_before),
        )
    before = _facts_as_plain(snapshot_at(load_history(until=now, fast=fast), moment).facts)

    for days_after in (0.001, 1, 30):
        EventFactory(
            lead=lead,
            type="form_submitted",
            properties={"form": "demo"},
            occurred_at=moment + timedelta(days=days_after),
        )
        EventFactory(
            lead=lead, type="page_view", properties={"url": "/pricing"}, occurred_at=moment + timedelta(days=days_after)
        )
    StageTransition.objects.create(
        lead=lead,
        cycle=1,
        from_stage=Stage.LEAD_GEN,
        to_stage=Stage.MQL,
        kind=MoveKind.FORWARD,
        actor_kind="system",
        occurred_at=moment + timedelta(days=2),
    )
    after = _facts_as_plain(snapshot_at(load_history(until=now, fast=fast), moment).facts)

    assert after == before
    assert before["stage"] == [Stage.LEAD_GEN]
    assert before["counts"][90][0][0] == 4  # the four pricing views before the moment


def test_training_without_history_says_why_there_is_no_model_and_fails_nothing():
    output = StringIO()
    call_command("train_likelihood", stdout=output)
    training = LikelihoodTraining.objects.get()
    assert training.status == LikelihoodTrainingStatus.NOT_ENOUGH_HISTORY
    assert "No model trained." in output.getvalue()
    assert "No leads yet" in training.message


def test_the_run_the_demo_seed_queues_publishes_a_model_and_gives_leads_likelihoods():
    call_command("seed_demo", leads=300, seed=3, stdout=StringIO())
    queued = LikelihoodTraining.objects.get(status=LikelihoodTrainingStatus.QUEUED)
    train_likelihood(queued.pk)  # as the worker runs it
    training = LikelihoodTraining.objects.get()
    assert training.status == LikelihoodTrainingStatus.DONE, training.message
    model = LikelihoodModel.objects.get()
    assert model.published and model.metrics["model"]["auc"] > 0.5
    open_leads = Lead.objects.exclude(stage=Stage.CUSTOMER).filter(merged_into__isnull=True, erased_at__isnull=True)
    assert open_leads.exists() and not open_leads.filter(likelihood__isnull=True).exists()
    assert open_leads.exclude(likelihood_reasons=[]).exists()


def test_a_lead_that_became_a_customer_loses_its_likelihood_when_refreshed():
    publish_small_model()
    lead = LeadFactory()
    refresh_likelihoods(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.likelihood is not None
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.CUSTOMER)
    refresh_likelihoods(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.likelihood is None and lead.likelihood_reasons == []


def test_refreshing_unchanged_leads_reads_three_times_and_writes_nothing(django_assert_num_queries):
    publish_small_model()
    leads = LeadFactory.create_batch(5)
    EventFactory(lead=leads[0], type="page_view", properties={"url": "/pricing"})
    as_of = timezone.now()
    refresh_likelihoods(lead_ids=[lead.pk for lead in leads], as_of=as_of)
    with django_assert_num_queries(3):  # the published version, the leads, their events
        refresh_likelihoods(lead_ids=[lead.pk for lead in leads], as_of=as_of)
