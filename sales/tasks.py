"""Celery tasks of the sales app: each decodes its arguments and calls one service."""

from celery import shared_task

from . import doorbell, services, webhooks
from .notifications import email_notification_now


@shared_task(name="sales.deliver_webhook", bind=True, max_retries=None, acks_late=True)
def deliver_webhook(self, delivery_id: str):
    # The service counts attempts and gives up after FUNNEL_WEBHOOK_MAX_ATTEMPTS; the
    # task only waits the exponential backoff it asks for.
    retry_in = webhooks.attempt_delivery(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name="sales.redeliver_stale_webhooks")
def redeliver_stale_webhooks():
    ids = webhooks.stale_delivery_ids()
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)


@shared_task(name="sales.sweep_slas")
def sweep_slas():
    return services.sweep_slas()


@shared_task(name="sales.ring", acks_late=True)
def ring(notification_ids: list[int], delivery_ids: list[str]):
    # One message for what one change sent out; each job is tried on its own.
    doorbell.run_jobs(notification_ids=notification_ids, delivery_ids=delivery_ids)


@shared_task(name="sales.email_notification", acks_late=True)
def email_notification(notification_id: int):
    return email_notification_now(notification_id=notification_id)
