from django.conf import settings
from django.db import models
from django.utils import timezone

# An API key's scopes: defined below every app (funnel/scopes.py), importable from here too.
from funnel.scopes import Scope

__all__ = ["ApiKey", "EngagementEvent", "EventSource", "IncomingEvent", "Scope"]


class ApiKey(models.Model):
    """An API key `fk_<prefix>_<secret>`: only the prefix and SHA-256(secret) are kept."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A public key ships in a web page (anyone can read it): it may only write events,
    # and its `identify` fills blanks but never rewrites a known person (events.identity).
    public = models.BooleanField(default=False)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (fk_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EventSource(models.TextChoices):
    API = "api", "REST API"
    SEGMENT = "segment", "Segment-compatible API"
    IMPORT = "import", "Import"
    DEMO = "demo", "Demo data"


class EngagementEvent(models.Model):
    """One engagement of a lead, immutable once stored. `message_id` is the idempotency key."""

    # Unique through Meta's constraint, not unique=True: that would also build a LIKE
    # index (varchar_pattern_ops) that no query uses and every insert pays for.
    message_id = models.CharField(max_length=200)
    # No index of its own: event_lead_time (lead, occurred_at) serves lead lookups.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=EventSource.choices, default=EventSource.API)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message_id"], name="event_message_id_unique")]
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="event_lead_time"),
            models.Index(fields=["occurred_at"], name="event_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} for lead {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class IncomingEvent(models.Model):
    """An event answered `accepted` and not yet processed (events/intake.py writes it,
    events/processing.py turns it into an EngagementEvent and deletes it, in one
    transaction). The gateway half of ingest, as Segment's and RudderStack's: the
    request validates, deduplicates and stores here; resolving the person, creating or
    merging leads, `last_engaged_at` and the rescore marks happen in a worker.

    `message_id` is unique here as in EngagementEvent: a message is in at most one of
    the two tables while it waits, and the intake's check of both makes the answer
    exact (intake.py says how). `event` holds the validated event as a JSON array
    (intake.py's _payload). No foreign key to the API key: the worker reads the key
    if it is still there, and the insert saves a check per row."""

    message_id = models.CharField(max_length=200)  # unique: Meta (no LIKE index, as EngagementEvent)
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=EventSource.choices, default=EventSource.API)
    api_key = models.ForeignKey(
        ApiKey,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    event = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message_id"], name="incoming_message_id_unique")]

    def __str__(self) -> str:
        return f"incoming {self.message_id}"
