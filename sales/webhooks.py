"""Outbound webhooks: endpoints, signed deliveries, retries, and the receivers' verifier.

Body (CONTRACT.md): `{"id": <delivery id>, "type": <event type>, "created": <unix>, "data": {...}}`.
Header: `Funnel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.

A delivery row is written in the same transaction as the change it reports and the
Celery task is only the doorbell (enqueued on commit): a rolled-back change sends
nothing, and a lost doorbell is rung again by the periodic sweep.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .errors import InvalidSalesInput
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEventType
from .txcache import cached, forget

SIGNATURE_HEADER = "Funnel-Signature"
DEFAULT_TOLERANCE = 300
SECRET_PREFIX = "whsec_"
# Enough for the receiver to answer; a slow receiver is retried rather than waited on.
LEASE_SLACK = timedelta(seconds=30)


# --- Signing -----------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Funnel-Signature` header value for `body` signed at `timestamp`."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = DEFAULT_TOLERANCE, now=None) -> bool:
    """Check a Funnel webhook as a receiver should. Returns True only if

    - `header` (the `Funnel-Signature` value) has a `t=` timestamp and a `v1=` signature,
    - the timestamp is within `tolerance` seconds of `now` (default: the current time),
      which rejects replays of an old delivery, and
    - one `v1` equals HMAC-SHA256(secret, "<t>.<body>") in hex, compared in constant
      time; `body` must be the raw request bytes, before any JSON parsing.

    Several `v1=` entries are accepted (a receiver may see one per active secret).
    """
    if isinstance(body, str):
        body = body.encode()
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


# --- Secrets at rest -----------------------------------------------------------


def _fernet() -> Fernet:
    # The key is derived, not stored: rotating SECRET_KEY means re-registering webhooks.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"funnel.webhook-secret").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("The webhook secret cannot be decrypted: was SECRET_KEY changed?") from error


# --- Endpoints -------------------------------------------------------------------


def create_webhook_endpoint(
    *, url: str, event_types, description: str = "", created_by=None
) -> tuple[WebhookEndpoint, str]:
    """Register a receiver; returns it with its signing secret, which is shown once."""
    url = (url or "").strip()
    problems: dict[str, list[str]] = {}
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems["url"] = ["Enter an http:// or https:// address."]
    elif len(url) > 500:
        problems["url"] = ["At most 500 characters."]
    chosen = sorted({str(event_type) for event_type in (event_types or [])})
    unknown = [event_type for event_type in chosen if event_type not in WebhookEventType.values]
    if not chosen:
        problems["event_types"] = ["Pick at least one event type."]
    elif unknown:
        problems["event_types"] = [f"Unknown event types: {', '.join(unknown)}."]
    if problems:
        raise InvalidSalesInput(problems)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        description=(description or "")[:200],
        event_types=chosen,
        secret_encrypted=encrypt_secret(secret),
        secret_hint=secret[-4:],
        created_by=created_by,
    )
    return endpoint, secret


def deactivate_webhook_endpoint(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop sending to a receiver; pending retries to it are dropped as failed."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
        forget()  # an UPDATE sends no post_save
        WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, last_error="Endpoint deactivated."
        )
    endpoint.is_active = False
    return endpoint


def active_webhook_endpoints() -> list[WebhookEndpoint]:
    """Read once per transaction: a crossing emits two events, a rescore many."""
    return cached("webhook_endpoints", lambda: list(WebhookEndpoint.objects.filter(is_active=True).order_by("pk")))


# --- Emitting and delivering --------------------------------------------------------


def emit_webhook_event(*, event_type: str, data: dict, occurred_at=None, doorbell=None) -> list[WebhookDelivery]:
    """Queue `event_type` for every active endpoint that listens to it. Call inside the
    transaction of the change it reports. With a `doorbell` (sales.doorbell.Doorbell)
    the deliveries ride on its one message instead of one message each."""
    endpoints = [e for e in active_webhook_endpoints() if e.listens_to(event_type)]
    if not endpoints:
        return []
    created = int((occurred_at or timezone.now()).timestamp())
    deliveries = []
    for endpoint in endpoints:
        delivery_id = f"evt_{uuid.uuid4().hex}"
        deliveries.append(
            WebhookDelivery(
                endpoint=endpoint,
                delivery_id=delivery_id,
                event_type=event_type,
                payload={"id": delivery_id, "type": event_type, "created": created, "data": data},
            )
        )
    WebhookDelivery.objects.bulk_create(deliveries)
    if doorbell is not None:
        doorbell.delivery_ids.extend(delivery.delivery_id for delivery in deliveries)
        return deliveries

    def ring():
        from .tasks import deliver_webhook  # tasks.py imports this module (Celery's registration): lazy here

        for delivery in deliveries:
            try:
                deliver_webhook.delay(delivery.delivery_id)
            except Exception:  # noqa: BLE001 - the broker is only a doorbell; the sweep retries
                pass

    transaction.on_commit(ring)
    return deliveries


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


def backoff_seconds(attempt: int) -> float:
    """Wait after failed attempt number `attempt` (1-based): 10 s, 20 s, 40 s … (with the
    default base) capped at an hour."""
    return min(settings.FUNNEL_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1), 3600)


def attempt_delivery(*, delivery_id: str) -> float | None:
    """POST one delivery once. Returns seconds until the next try, or None when there is
    nothing more to do (delivered, gave up, or another worker holds the delivery).

    A delivery is claimed with a conditional UPDATE that moves `next_attempt_at` ahead
    (a lease), so the doorbell and the sweep never POST the same attempt twice at once.
    """
    now = timezone.now()
    timeout = settings.FUNNEL_WEBHOOK_TIMEOUT
    claimed = (
        WebhookDelivery.objects.filter(delivery_id=delivery_id, status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1)))
        .update(next_attempt_at=now + timedelta(seconds=timeout) + LEASE_SLACK)
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(delivery_id=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, last_error="Endpoint deactivated."
        )
        return None
    body = body_of(delivery)
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Funnel-Webhooks/1",
            SIGNATURE_HEADER: sign(decrypt_secret(endpoint.secret_encrypted), body),
        },
    )
    status_code, error = None, ""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - admins register http(s) only
            status_code = response.status
    except urllib.error.HTTPError as failure:
        status_code, error = failure.code, f"HTTP {failure.code}"
    except (urllib.error.URLError, OSError, ValueError) as failure:
        error = str(getattr(failure, "reason", failure))[:300]
    attempts = delivery.attempts + 1
    finished = timezone.now()
    fields = {"attempts": attempts, "last_status_code": status_code, "last_error": error, "last_attempt_at": finished}
    if status_code is not None and 200 <= status_code < 300:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=finished, next_attempt_at=None, last_error="")
        retry_in = None
    elif attempts >= settings.FUNNEL_WEBHOOK_MAX_ATTEMPTS:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        retry_in = None
    else:
        retry_in = backoff_seconds(attempts)
        fields.update(next_attempt_at=finished + timedelta(seconds=retry_in))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    return retry_in


def stale_delivery_ids(*, now=None, grace: timedelta = timedelta(minutes=2)) -> list[str]:
    """Pending deliveries whose doorbell was lost: due (or never tried) for longer than `grace`."""
    now = now or timezone.now()
    cutoff = now - grace
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__lte=cutoff) | Q(next_attempt_at__isnull=True, created_at__lte=cutoff))
        .order_by("created_at")
        .values_list("delivery_id", flat=True)[:500]
    )
