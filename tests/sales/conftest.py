import pytest

from leads.stages import Stage
from sales.models import SalesAlert
from sales.services import raise_sales_alert
from tests import factories

# The shape scoring stores (scoring.computation.Contribution.as_dict).
CONTRIBUTIONS = [
    {
        "rule_id": 1,
        "version": 1,
        "label": "Demo request",
        "kind": "behaviour",
        "points": 40,
        "value": 39.1,
        "events": 1,
        "capped": False,
    },
    {
        "rule_id": 3,
        "version": 1,
        "label": "Visited the pricing page",
        "kind": "behaviour",
        "points": 18,
        "value": 17.2,
        "events": 3,
        "capped": True,
    },
    {
        "rule_id": 9,
        "version": 1,
        "label": "Marketing manager",
        "kind": "fit",
        "points": 10,
        "value": 10,
        "events": 0,
        "capped": False,
    },
]


def make_alert(*, score: int = 65, crossing: int = 1, assignee=None, unassigned: bool = False, **lead_fields):
    """A lead that crossed into MQL and its alert, raised the way scoring raises it.
    `assignee` overrides whoever round-robin picked (whose turn it is depends on the
    alerts raised before, on PostgreSQL even in earlier tests); `unassigned` leaves it to nobody."""
    lead = factories.LeadFactory(stage=Stage.MQL, score=score, mql_crossings=crossing, **lead_fields)
    alert = raise_sales_alert(lead=lead, cycle=lead.cycle, crossing=crossing, score=score, contributions=CONTRIBUTIONS)
    assert alert is not None
    if assignee is not None or unassigned:
        SalesAlert.objects.filter(pk=alert.pk).update(assignee=assignee)
        alert.assignee = assignee
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
