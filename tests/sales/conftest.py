import pytest

from leads.stages import Stage
from sales.services import raise_sales_alert
from tests import factories

CONTRIBUTIONS = [
    {"rule": "pricing-page", "label": "Visited the pricing page", "points": 25},
    {"rule": "demo-form", "label": "Asked for a demo", "points": 30},
    {"rule": "job-title", "label": "Marketing manager", "points": 10},
]


def make_alert(*, score: int = 65, crossing: int = 1, **lead_fields):
    """A lead that crossed into MQL and its alert, raised the way scoring raises it."""
    lead = factories.LeadFactory(stage=Stage.MQL, score=score, mql_crossings=crossing, **lead_fields)
    alert = raise_sales_alert(lead=lead, cycle=lead.cycle, crossing=crossing, score=score, contributions=CONTRIBUTIONS)
    assert alert is not None
    return alert


@pytest.fixture
def round_robin_off(settings):
    settings.FUNNEL_ROUND_ROBIN = False


@pytest.fixture
def unassigned_alert(db, round_robin_off):
    return make_alert()


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process (emails, webhook deliveries) for tests that look at
    their outcome rather than at the worker."""
    from funnel.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
