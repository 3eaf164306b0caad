import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from sales.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sales.services import accept_alert, reject_alert
from sales.webhooks import (
    SIGNATURE_HEADER,
    attempt_delivery,
    backoff_seconds,
    body_of,
    create_webhook_endpoint,
    decrypt_secret,
    sign,
    verify_signature,
)
from tests.sales.conftest import make_alert
from tests.sales.receiver import running_receiver

pytestmark = pytest.mark.django_db

ALL_EVENTS = ["lead.stage_changed", "lead.mql", "alert.accepted", "alert.rejected", "deal.won", "deal.lost"]


@pytest.fixture
def receiver(admin, settings):
    settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on this machine
    with running_receiver() as receiver:
        endpoint, secret = create_webhook_endpoint(url=receiver.url, event_types=ALL_EVENTS, created_by=admin)
        receiver.secret = secret
        receiver.endpoint = endpoint
        yield receiver


def _post(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as failure:
        return failure.code


def test_an_accept_reaches_the_receiver_signed_with_the_contracts_body(
    receiver, rep1, round_robin_off, eager_tasks, django_capture_on_commit_callbacks
):
    alert = make_alert()
    with django_capture_on_commit_callbacks(execute=True):
        accept_alert(alert=alert, user=rep1)
    by_type = {body["type"]: body for body in receiver.received}
    assert set(by_type) == {"alert.accepted", "lead.stage_changed"}
    accepted = by_type["alert.accepted"]
    assert set(accepted) == {"id", "type", "created", "data"}
    assert accepted["data"]["alert"]["id"] == alert.pk
    assert accepted["data"]["lead"]["stage"] == "sal"
    assert by_type["lead.stage_changed"]["data"]["transition"]["to"] == "sal"
    delivery = WebhookDelivery.objects.get(delivery_id=accepted["id"])
    assert (delivery.status, delivery.last_status_code, delivery.attempts) == (DeliveryStatus.DELIVERED, 200, 1)


def test_a_tampered_body_is_rejected_by_the_receiver(receiver, rep1, round_robin_off):
    alert = make_alert()
    reject_alert(alert=alert, user=rep1, reason_code="no_budget")
    delivery = WebhookDelivery.objects.get(event_type="alert.rejected")
    body = body_of(delivery)
    signature = sign(receiver.secret, body)
    assert _post(receiver.url, body, signature) == 200
    tampered = body.replace(b'"no_budget"', b'"not_a_fit"')
    assert _post(receiver.url, tampered, signature) == 400
    assert receiver.refused == [tampered]


def test_a_signature_older_than_five_minutes_is_a_replay():
    body = b'{"id":"evt_1"}'
    old = sign("whsec_x", body, timestamp=int(time.time()) - 301)
    assert not verify_signature("whsec_x", old, body)
    assert verify_signature("whsec_x", old, body, now=time.time() - 2)


def test_a_signature_made_with_another_secret_is_refused():
    body = b'{"id":"evt_1"}'
    assert not verify_signature("whsec_right", sign("whsec_wrong", body), body)
    assert not verify_signature("whsec_right", "", body)
    assert not verify_signature("whsec_right", "t=abc,v1=00", body)


def test_a_failed_delivery_is_retried_later_with_the_same_id(receiver, rep1, round_robin_off):
    make_alert()
    delivery = WebhookDelivery.objects.get(event_type="lead.mql")
    receiver.fail_next = 1
    assert attempt_delivery(delivery_id=delivery.delivery_id) == backoff_seconds(1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code, delivery.attempts) == (DeliveryStatus.PENDING, 500, 1)
    # Not due yet: a second doorbell before the backoff has passed sends nothing.
    assert attempt_delivery(delivery_id=delivery.delivery_id) is None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert attempt_delivery(delivery_id=delivery.delivery_id) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [body["id"] for body in receiver.received] == [delivery.delivery_id]


def test_the_backoff_doubles_up_to_an_hour(settings):
    settings.FUNNEL_WEBHOOK_BACKOFF_SECONDS = 10
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_seconds(20) == 3600


def test_a_delivery_gives_up_after_the_last_attempt(receiver, rep1, round_robin_off, settings):
    settings.FUNNEL_WEBHOOK_MAX_ATTEMPTS = 2
    make_alert()
    delivery = WebhookDelivery.objects.get(event_type="lead.mql")
    receiver.fail_next = 5
    attempt_delivery(delivery_id=delivery.delivery_id)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert attempt_delivery(delivery_id=delivery.delivery_id) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)


def test_an_endpoint_only_gets_the_events_it_chose(admin, rep1, round_robin_off):
    create_webhook_endpoint(url="https://example.com/hooks", event_types=["deal.won"], created_by=admin)
    make_alert()
    assert not WebhookDelivery.objects.exists()


def test_the_secret_is_stored_encrypted_and_shown_once(admin):
    endpoint, secret = create_webhook_endpoint(url="https://example.com/h", event_types=["lead.mql"])
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert secret.startswith("whsec_")
    assert secret not in stored.secret_encrypted
    assert decrypt_secret(stored.secret_encrypted) == secret
    assert stored.secret_hint == secret[-4:]


def test_an_endpoint_needs_an_http_url_and_known_events():
    from sales.errors import InvalidSalesInput

    with pytest.raises(InvalidSalesInput) as refusal:
        create_webhook_endpoint(url="ftp://example.com", event_types=["lead.sneezed"])
    assert set(refusal.value.fields) == {"url", "event_types"}
