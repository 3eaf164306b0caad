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
