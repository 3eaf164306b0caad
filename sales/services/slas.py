"""SLAs: warn the assignee of an alert nearly due, escalate an overdue one to the managers."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leads.actors import person_name

from ..models import AlertStatus, NotificationKind, SalesAlert
from ..notifications import due_text, notify
from .assignment import active_managers


def sweep_slas(*, now: datetime | None = None, batch: int = 500) -> dict:
    """Warn assignees of alerts nearly due and escalate overdue ones to the managers.

    Each alert is claimed with a conditional UPDATE before anyone is told, so two
    sweeps running at once (or a retried task) notify once."""
    now = now or timezone.now()
    near_window = now + timedelta(minutes=settings.FUNNEL_SLA_NEAR_MINUTES)
    warned = escalated = 0
    near = SalesAlert.objects.filter(
        status=AlertStatus.OPEN,
        assignee__isnull=False,
        near_due_notified_at__isnull=True,
        due_at__gt=now,
        due_at__lte=near_window,
    ).select_related("lead", "assignee")[:batch]
    for alert in near:
        with transaction.atomic():
            if not SalesAlert.objects.filter(pk=alert.pk, near_due_notified_at__isnull=True).update(
                near_due_notified_at=now
            ):
                continue
            minutes = max(1, int((alert.due_at - now).total_seconds() // 60))
            notify(
                user=alert.assignee,
                kind=NotificationKind.SLA_NEAR,
                title=f"Due in {minutes} min: {alert.lead.display_name}",
                body="Accept or reject this MQL before its SLA runs out.",
                url=reverse("sales:queue_lead", args=[alert.lead_id]),
                alert=alert,
            )
            warned += 1
    overdue = SalesAlert.objects.filter(status=AlertStatus.OPEN, overdue=False, due_at__lte=now).select_related(
        "lead", "assignee"
    )[:batch]
    managers = None
    for alert in overdue:
        with transaction.atomic():
            if not SalesAlert.objects.filter(pk=alert.pk, overdue=False).update(overdue=True, escalated_at=now):
                continue
            managers = managers if managers is not None else active_managers()
            who = person_name(alert.assignee) if alert.assignee_id else "nobody"
            recipients = {manager.pk: manager for manager in managers}
            if alert.assignee_id:
                recipients.setdefault(alert.assignee_id, alert.assignee)
            for recipient in recipients.values():
                notify(
                    user=recipient,
                    kind=NotificationKind.ESCALATED,
                    title=f"Overdue MQL escalated: {alert.lead.display_name}",
                    body=f"Assigned to {who}; its SLA ran out at {due_text(alert.due_at)}.",
                    url=reverse("sales:queue_lead", args=[alert.lead_id]),
                    alert=alert,
                )
            escalated += 1
    return {"warned": warned, "escalated": escalated}
