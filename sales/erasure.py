"""Erasing a person, in the sales app: the copies of their data that alerts,
notifications and outbound webhooks took. Registered on leads' `on_lead_erased`
(SalesConfig.ready) and run inside the erase's transaction."""

from django.db.models import Q

from .models import DeliveryStatus, Notification, SalesAlert, WebhookDelivery

# What a delivered webhook keeps once its lead is erased: which delivery it was and the ids it spoke of.
_KEPT_KEYS = {"id", "type", "created"}


def ids_only(value):
    """`value` (a webhook payload) with every field but ids, types and times removed."""
    if isinstance(value, dict):
        return {
            key: ids_only(item)
            for key, item in value.items()
            if key in _KEPT_KEYS or key.endswith("_id") or isinstance(item, dict)
        }
    return value


def erase_sales_copies(*, lead_ids: list[int]) -> None:
    ids = list(lead_ids)
    SalesAlert.objects.filter(lead_id__in=ids).update(reject_note="")
    # Titles name the lead ("New MQL assigned to you: Ada Lovelace"); the link still leads to the (erased) lead.
    Notification.objects.filter(alert__lead_id__in=ids).update(title="An erased lead", body="")
    about_them = (
        Q(payload__data__lead__id__in=ids)
        | Q(payload__data__alert__lead_id__in=ids)
        | Q(payload__data__deal__lead_id__in=ids)
    )
    for delivery in WebhookDelivery.objects.filter(about_them).only("pk", "payload", "status"):
        fields = {"payload": ids_only(delivery.payload)}
        if delivery.status == DeliveryStatus.PENDING:
            # Not sent after the erase; an attempt in flight does not overwrite this (its write needs its lease).
            fields.update(
                status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="Cancelled: the lead was erased."
            )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
