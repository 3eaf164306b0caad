"""What one MQL crossing costs the database: scoring moves the lead and raises the
alert in one transaction, so every query here is paid per crossing, hundreds of times
in a full rescore and once on the event-to-alert path."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.stages import Stage
from sales.models import Notification, SalesAlert, WebhookDelivery
from sales.txcache import forget
from sales.webhooks import create_webhook_endpoint
from scoring.models import ScoringSettings
from scoring.services import cross_mql_threshold
from tests import factories
from tests.sales.conftest import CONTRIBUTIONS, make_alert
from tests.services import need_postgres

pytestmark = pytest.mark.django_db

# The crossing's savepoint; lock the lead, arm it; move_lead (on the row already read):
# stage, transition, summary count, endpoints, stage_changed delivery; the alert: reps,
# the alert with its round-robin turn (one statement), the rep's notification, the
# lead.mql delivery; release. Nothing else: no settings or template reads, no second
# read of the lead, no broker round trip inside.
QUERIES_PER_CROSSING = 13


def crossing_lead():
    return factories.LeadFactory(stage=Stage.LEAD_GEN, score=80, mql_armed=True)


def cross(lead, thresholds=None) -> bool:
    thresholds = thresholds or ScoringSettings.objects.get_or_create(pk=1)[0]
    return cross_mql_threshold(lead_id=lead.pk, score=80, contributions=CONTRIBUTIONS, thresholds=thresholds)


@pytest.fixture
def hook(db, settings):
    settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE = True  # never sent: a closed local port
    return create_webhook_endpoint(url="http://127.0.0.1:9/hook", event_types=["lead.mql", "lead.stage_changed"])[0]


@pytest.mark.postgres
def test_one_crossing_with_reps_and_a_webhook_costs_a_fixed_number_of_queries(
    rep1, rep2, hook, django_assert_num_queries
):
    need_postgres()
    lead = crossing_lead()
    thresholds = ScoringSettings.objects.get_or_create(pk=1)[0]
    with django_assert_num_queries(QUERIES_PER_CROSSING):
        assert cross(lead, thresholds)
    assert SalesAlert.objects.filter(lead=lead).count() == 1
    assert WebhookDelivery.objects.filter(endpoint=hook).count() == 2


def test_later_crossings_in_one_transaction_read_the_reps_and_endpoints_only_once(rep1, hook):
    warm_up, first, second = crossing_lead(), crossing_lead(), crossing_lead()
    thresholds = ScoringSettings.objects.get_or_create(pk=1)[0]
    cross(warm_up, thresholds)  # SQLite creates its round-robin cursor row on the first turn
    forget()  # as at the start of a transaction
    with CaptureQueriesContext(connection) as first_crossing:
        assert cross(first, thresholds)
    with CaptureQueriesContext(connection) as second_crossing:
        assert cross(second, thresholds)
    assert len(second_crossing.captured_queries) == len(first_crossing.captured_queries) - 2
    assert SalesAlert.objects.get(lead=second).assignee == rep1


def test_an_endpoint_registered_mid_transaction_gets_the_next_crossing(rep1, settings):
    settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE = True
    cross(crossing_lead())
    late, _secret = create_webhook_endpoint(url="http://127.0.0.1:9/late", event_types=["lead.mql"])
    cross(crossing_lead())
    assert WebhookDelivery.objects.filter(endpoint=late, event_type="lead.mql").count() == 1


def test_a_rep_who_joins_mid_transaction_is_in_the_next_turns(rep1):
    cross(crossing_lead())
    newcomer = factories.UserFactory(role="sales_rep")
    assignees = set()
    for _ in range(2):
        lead = crossing_lead()
        cross(lead)
        assignees.add(SalesAlert.objects.get(lead=lead).assignee)
    assert assignees == {rep1, newcomer}


def test_the_alerts_email_and_webhook_ring_the_broker_once_after_commit(rep1, hook, django_capture_on_commit_callbacks):
    from celery.signals import before_task_publish

    published = []

    def record(sender=None, **_kwargs):
        published.append(sender)

    before_task_publish.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            make_alert()
            assert published == []  # nothing before the commit
    finally:
        before_task_publish.disconnect(record)
    assert published == ["sales.ring"]


def test_the_doorbell_skips_jobs_whose_rows_are_gone_and_runs_the_rest(rep1, hook, eager_tasks):
    from sales.doorbell import run_jobs

    alert = make_alert()
    delivery = WebhookDelivery.objects.get(endpoint=hook, event_type="lead.mql")
    notification = Notification.objects.get(alert=alert)
    run_jobs(
        notification_ids=[notification.pk + 1000, notification.pk], delivery_ids=["evt_gone", delivery.delivery_id]
    )
    notification.refresh_from_db()
    delivery.refresh_from_db()
    assert notification.emailed_at is not None
    assert delivery.attempts >= 1


def test_an_unreachable_mail_server_does_not_fail_the_doorbell(rep1, hook, eager_tasks, settings):
    from sales.doorbell import run_jobs

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9059, 1
    alert = make_alert()
    delivery = WebhookDelivery.objects.get(endpoint=hook, event_type="lead.mql")
    notification = Notification.objects.get(alert=alert)
    run_jobs(notification_ids=[notification.pk], delivery_ids=[delivery.delivery_id])
    delivery.refresh_from_db()
    assert delivery.attempts >= 1
