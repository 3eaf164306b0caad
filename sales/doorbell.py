"""One broker message for everything a change sends out after its commit.

Each task message costs a broker round trip (about a millisecond on Redis) in the
committing process. An MQL alert sends the rep's email and a `lead.mql` delivery to
every listening endpoint; as separate messages they cost the crossing (and a rescore,
hundreds of crossings) one round trip each. The doorbell collects them while the
change is written and rings once on commit; the worker runs each job on its own, so a
failing email does not keep a webhook from going out, nor the reverse. A lone job is
sent as its usual task, exactly as before.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction

from .notifications import email_notification_now
from .webhooks import attempt_delivery

logger = logging.getLogger(__name__)


@dataclass
class Doorbell:
    notification_ids: list[int] = field(default_factory=list)
    delivery_ids: list[str] = field(default_factory=list)

    def ring_on_commit(self) -> None:
        if self.notification_ids or self.delivery_ids:
            transaction.on_commit(self._ring)

    def _ring(self) -> None:
        # tasks.py imports this module (Celery's registration), so the tasks are imported when rung.
        from .tasks import deliver_webhook, email_notification, ring

        try:
            if len(self.notification_ids) + len(self.delivery_ids) > 1:
                ring.delay(list(self.notification_ids), list(self.delivery_ids))
            elif self.notification_ids:
                email_notification.delay(self.notification_ids[0])
            else:
                deliver_webhook.delay(self.delivery_ids[0])
        except Exception:  # noqa: BLE001 - the broker is only a doorbell; the sweep retries webhooks
            logger.warning("Could not enqueue %s after commit.", self, exc_info=True)


def run_jobs(*, notification_ids: list[int], delivery_ids: list[str]) -> None:
    """In the worker: attempt each delivery (a failed one continues as its own retrying
    task, with the usual backoff), then send each email."""
    from .tasks import deliver_webhook  # tasks.py imports this module (Celery's registration): lazy here

    for delivery_id in delivery_ids:
        try:
            retry_in = attempt_delivery(delivery_id=delivery_id)
        except Exception:  # noqa: BLE001 - left pending: its own task (or the sweep) tries again
            logger.exception("Delivery %s failed before its attempt was recorded.", delivery_id)
            retry_in = 0
        if retry_in is not None:
            deliver_webhook.apply_async((delivery_id,), countdown=retry_in)
    for notification_id in notification_ids:
        try:
            email_notification_now(notification_id=notification_id)
        except Exception:  # noqa: BLE001 - one bad address must not keep the others' mail
            logger.exception("The email of notification %s could not be sent.", notification_id)
