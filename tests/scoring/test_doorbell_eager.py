"""Test settings that run tasks eagerly are honoured by the rescore doorbell: it
publishes nothing and warns nothing (send_task would ignore eager mode and warn)."""

import warnings

import pytest

from funnel.celery import app
from scoring.services import _enqueue_job, ring_rescore_doorbell


@pytest.fixture
def eager():
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_ringing_the_doorbell_in_eager_mode_warns_nothing(eager):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ring_rescore_doorbell(countdown=0)
        _enqueue_job(1)
    assert [str(warning.message) for warning in caught] == []
