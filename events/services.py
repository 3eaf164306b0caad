"""Writes of the events app: API keys (creation, revocation) and event ingestion."""

import hashlib
import secrets
import string

from django.db import transaction
from django.utils import timezone

from .intake import accept_events
from .models import ApiKey, Scope
from .validation import validate_event

KEY_PREFIX_LENGTH = 8
KEY_SECRET_LENGTH = 40
# Letters and digits only: the key is split on "_", so neither part may contain one.
_KEY_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits


class InvalidScopes(ValueError):
    def __init__(self, unknown: list[str], message: str = ""):
        super().__init__(message or f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(Scope.values)}.")
        self.unknown = unknown


# What a key that anyone can read in a web page may do.
PUBLIC_KEY_SCOPES = [Scope.EVENTS_WRITE.value]


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret part. A fast hash is right here: the secret is ~238 random
    bits, so there is nothing for a slow password hasher to protect against, and
    authenticating every API request must stay well under a millisecond."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def create_api_key(*, name: str, scopes, user=None, created_by=None, public: bool = False) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw form `fk_<prefix>_<secret>`, which is
    shown once and never stored (only the prefix and SHA-256 of the secret are).
    A `public` key (for a web page) may only write events."""
    scopes = sorted({str(scope).strip() for scope in scopes if str(scope).strip()})
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise InvalidScopes(unknown)
    beyond = [scope for scope in scopes if scope not in PUBLIC_KEY_SCOPES]
    if public and beyond:
        raise InvalidScopes(beyond, f"A public key may only write events ({', '.join(PUBLIC_KEY_SCOPES)}).")
    secret = _random(_SECRET_ALPHABET, KEY_SECRET_LENGTH)
    # The prefix is unique in the database; a collision (1 in 36^8 per pair) just retries.
    for _attempt in range(5):
        prefix = _random(_KEY_ALPHABET, KEY_PREFIX_LENGTH)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    api_key = ApiKey.objects.create(
        name=name[:100],
        prefix=prefix,
        secret_hash=hash_secret(secret),
        scopes=scopes,
        user=user,
        created_by=created_by,
        public=public,
    )
    return api_key, f"fk_{prefix}_{secret}"


def revoke_api_key(*, api_key: ApiKey, actor=None) -> ApiKey:
    """Revoke a key: from the next request on it is treated as unknown (401).
    Revoking twice keeps the first revocation time."""
    now = timezone.now()
    with transaction.atomic():
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
        api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def ingest_batch(*, items: list, api_key: ApiKey | None, source: str = "api") -> dict:
    """Validate and store native events (`POST /api/v1/events`): valid events are stored
    even when others are rejected (processed after the answer: intake.py); returns the
    reply body of CONTRACT.md."""
    now = timezone.now()
    results: list[dict] = []
    valid = []
    for index, item in enumerate(items):
        event, message_id, errors = validate_event(item, now=now)
        if event is None:
            results.append({"index": index, "message_id": message_id, "status": "rejected", "errors": errors})
        else:
            results.append({"index": index, "message_id": event.message_id, "status": None, "errors": {}})
            valid.append((index, event))
    statuses = accept_events(events=[event for _, event in valid], source=source, api_key=api_key)
    for (index, _event), status in zip(valid, statuses, strict=True):
        results[index]["status"] = status
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for result in results:
        counts[result["status"]] += 1
    return {
        "results": results,
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
    }
