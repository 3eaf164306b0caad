import math
import pickle
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone
from scipy import sparse

from leads.models import StageTransition
from leads.stages import MoveKind, Stage
from scoring.likelihood.dataset import load_history, snapshot_at
from scoring.likelihood.explain import contributions, logit_of
from scoring.likelihood.refresh import refresh_likelihoods
from scoring.likelihood.storage import StoredModel, published_model
from scoring.models import LikelihoodModel
from tests.factories import EngagementEventFactory as EventFactory
from tests.factories import LeadFactory
from tests.scoring.likelihood_helpers import publish_small_model

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_a_lead_is_labelled_a_buyer_only_by_a_purchase_within_90_days_after_the_moment():
    now = timezone.now()
    moment = now - timedelta(days=120)
    soon, late = (LeadFactory(created_at=now - timedelta(days=300)) for _ in range(2))
    for lead, days in ((soon, 30), (late, 100)):
        StageTransition.objects.create(
            lead=lead,
            cycle=1,
            from_stage=Stage.SQL,
            to_stage=Stage.CUSTOMER,
            kind=MoveKind.FORWARD,
            actor_kind="system",
            occurred_at=moment + timedelta(days=days),
        )
    snapshot = snapshot_at(load_history(until=now), moment)
    labels = dict(zip(snapshot.facts.lead_ids.tolist(), snapshot.labels.tolist(), strict=True))
    assert labels == {soon.pk: 1, late.pk: 0}


def test_each_leads_contributions_sum_to_its_logit():
    row, regression, x = publish_small_model()
    model = StoredModel.from_row(LikelihoodModel.objects.get(pk=row.pk))
    matrix = sparse.csr_matrix(x)
    expected = regression.decision_function(x)
    for index in range(matrix.shape[0]):
        items = contributions(model, matrix[index])
        assert math.isclose(logit_of(items), expected[index], abs_tol=1e-9)


def test_the_stored_model_loads_without_unpickling(monkeypatch):
    row, regression, x = publish_small_model()

    def refuse(*args, **kwargs):
        raise AssertionError("the model must not be unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    model = published_model()
    assert model.version == row.version
    assert np.allclose(model.probabilities(sparse.csr_matrix(x)), regression.predict_proba(x)[:, 1], atol=1e-12)
    stored = LikelihoodModel.objects.values_list("coefficients", "feature_names", "bins").get(pk=row.pk)
    assert all(isinstance(value, float) for value in stored[0])
    assert all(isinstance(name, str) for name in stored[1])


def test_a_rescored_lead_gets_a_likelihood_and_reasons_from_the_published_model():
    publish_small_model()
    lead = LeadFactory()
    EventFactory(lead=lead, type="page_view", properties={"url": "/pricing"})
    refresh_likelihoods(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert 0 <= lead.likelihood <= 1
    assert lead.likelihood_reasons and set(lead.likelihood_reasons[0]) == {"feature", "label", "contribution"}


def test_below_the_minimum_history_nothing_is_trained_and_the_pages_say_why(client, marketer, capsys):
    lead = LeadFactory()
    call_command("train_likelihood")
    output = capsys.readouterr().out
    assert "No model trained" in output and "Minimum:" in output
    assert not LikelihoodModel.objects.exists()
    client.force_login(marketer)
    page = client.get("/scoring/model/")
    assert page.status_code == 200 and b"Not enough history yet" in page.content
    detail = client.get(f"/leads/{lead.pk}/")
    assert detail.status_code == 200 and b"Not enough history yet" in detail.content
