from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    CLOSED = "closed", "Closed"


class SalesAlert(models.Model):
    """An MQL handed to sales: raised exactly once per crossing of the MQL threshold."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="alerts")
    cycle = models.PositiveIntegerField()
    crossing = models.PositiveIntegerField()
    score = models.IntegerField()
    # The score's explanation when the alert was raised: [{"rule": ..., "label": ..., "points": ...}].
    contributions = models.JSONField(default=list, blank=True)
    raised_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_alerts"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    overdue = models.BooleanField(default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)
    near_due_notified_at = models.DateTimeField(null=True, blank=True)
    # Set when an open MQL decays below the recycle threshold before anyone acts.
    decayed_below_recycle = models.BooleanField(default=False)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acted_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=50, blank=True)
    reject_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "cycle", "crossing"], name="alert_once_per_crossing"),
            models.UniqueConstraint(fields=["lead"], condition=Q(status="open"), name="alert_one_open_per_lead"),
        ]
        indexes = [
            models.Index(fields=["status", "-score", "raised_at"], name="alert_queue_order"),
            models.Index(fields=["assignee", "status"], name="alert_assignee_status"),
            models.Index(fields=["status", "due_at"], name="alert_status_due"),
        ]

    def __str__(self) -> str:
        return f"Alert #{self.pk} for lead {self.lead_id} ({self.status})"


class AssignmentCursor(models.Model):
    """Where round-robin assignment stands: one row, locked FOR UPDATE while the next
    rep is picked, so two alerts raised at once never go to the same rep by accident."""

    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned to you"
    SLA_NEAR = "sla_near", "SLA nearly due"
    ESCALATED = "escalated", "Escalated"
    REASSIGNED = "reassigned", "Reassigned"


class Notification(models.Model):
    """An in-app notice for one person; unread until they open or dismiss it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    alert = models.ForeignKey(SalesAlert, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_time"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.user_id}"


class WebhookEventType(models.TextChoices):
    LEAD_STAGE_CHANGED = "lead.stage_changed", "A lead changed stage"
    LEAD_MQL = "lead.mql", "A lead became MQL"
    ALERT_ACCEPTED = "alert.accepted", "An alert was accepted"
    ALERT_REJECTED = "alert.rejected", "An alert was rejected"
    DEAL_WON = "deal.won", "A deal was won"
    DEAL_LOST = "deal.lost", "A deal was lost"


class WebhookEndpoint(models.Model):
    """A receiver of outbound webhooks. The signing secret is shown once; it is kept
    encrypted (Fernet, key derived from SECRET_KEY) because signing needs it back."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    secret_encrypted = models.TextField()
    # The secret's last four characters, so an admin can tell which one a receiver holds.
    secret_hint = models.CharField(max_length=4, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.url

    def listens_to(self, event_type: str) -> bool:
        return event_type in (self.event_types or [])


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint. `delivery_id` is the body's `id`: the same on every
    retry, so a receiver can drop the repeats of an at-least-once delivery."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40, choices=WebhookEventType.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_time"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_next"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
