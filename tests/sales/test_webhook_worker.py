import pytest

from sales.models import DeliveryStatus, WebhookDelivery
from sales.webhooks import create_webhook_endpoint
from tests.sales.conftest import make_alert
from tests.sales.receiver import running_receiver
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_retries_a_failed_delivery_until_the_receiver_takes_it(rep1, settings):
    settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on this machine
    with running_receiver() as receiver:
        endpoint, receiver.secret = create_webhook_endpoint(url=receiver.url, event_types=["lead.mql"])
        receiver.fail_next = 1
        with running_worker(FUNNEL_WEBHOOK_BACKOFF_SECONDS="0.5", FUNNEL_WEBHOOK_ALLOW_PRIVATE="1"):
            alert = make_alert()  # commits, so the doorbell rings for the worker
            delivered = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DELIVERED)
            assert wait_for(delivered.exists, timeout=60), "the worker never delivered the webhook"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 2, 200)
    assert receiver.received[0]["id"] == delivery.delivery_id
    assert receiver.received[0]["data"]["alert"]["id"] == alert.pk
