"""The likelihood model needs PostgreSQL; on the embedded SQLite default it says so
instead of failing with an SQL error (the smoke run in CI covers SQLite)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from scoring.likelihood.jobs import NEEDS_POSTGRESQL
from scoring.models import LikelihoodTraining, LikelihoodTrainingStatus

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_training_says_why_there_is_no_model_and_fails_nothing():
    output = StringIO()
    call_command("train_likelihood", stdout=output)
    training = LikelihoodTraining.objects.get()
    assert training.status == LikelihoodTrainingStatus.NOT_ENOUGH_HISTORY
    assert "No model trained." in output.getvalue()
    if connection.vendor == "postgresql":
        assert NEEDS_POSTGRESQL not in training.message
    else:
        assert training.message == NEEDS_POSTGRESQL
