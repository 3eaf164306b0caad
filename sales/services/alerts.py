"""Raising the SalesAlert of an MQL crossing, exactly once, assigned and with its SLA.

The lifecycle (leads.lifecycle.crossing) announces a crossing inside its transaction,
with the lead locked; `raise_sales_alert` writes the alert in that same transaction,
so the move to MQL and its alert commit together or not at all. The rep's e-mail and
the lead.mql deliveries go out after commit (one doorbell).
"""

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead

from .. import payloads
from ..business_hours import sla_due_at
from ..doorbell import Doorbell
from ..models import AlertStatus, NotificationKind, SalesAlert, WebhookEventType
from ..notifications import due_text, notify
from ..txcache import cached
from ..webhooks import emit_webhook_event
from .assignment import active_reps, next_assignee


def _insert_alert(alert: SalesAlert) -> bool:
    if SalesAlert.objects.filter(lead_id=alert.lead_id, cycle=alert.cycle, crossing=alert.crossing).exists():
        return False
    try:
        with transaction.atomic():
            alert.assignee = next_assignee()
            alert.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _insert_alert_taking_a_turn(alert: SalesAlert) -> bool:
    """PostgreSQL: insert the alert, take the round-robin turn and skip a duplicate in
    one statement (INSERT … ON CONFLICT DO NOTHING RETURNING), instead of an existence
    check, a savepoint, nextval() and the INSERT: a crossing pays one round trip, not
    five. The turn is nextval() of the sequence, as in next_assignee(); a duplicate (a
    retry, never expected under the lead's lock) skips a turn, like a rolled-back one."""
    reps = cached("active_reps", lambda: list(active_reps())) if settings.FUNNEL_ROUND_ROBIN else []
    quote = connection.ops.quote_name
    fields = [field for field in SalesAlert._meta.concrete_fields if not field.primary_key]
    values, params = [], []
    for field in fields:
        if field.attname == "assignee_id" and reps:
            # (turn - 1) % n picks reps in id order, as next_assignee() does; arrays are 1-based.
            values.append("(%s::bigint[])[(nextval('sales_round_robin_turn') - 1) %% %s + 1]")
            params += [[rep.pk for rep in reps], len(reps)]
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(alert, add=True), connection))
    sql = (
        f"INSERT INTO {quote(SalesAlert._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(values)}) ON CONFLICT DO NOTHING RETURNING {quote('id')}, {quote('assignee_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    alert.pk, assignee_id = row
    alert._state.adding = False
    alert.assignee = next((rep for rep in reps if rep.pk == assignee_id), None)
    return True


def raise_sales_alert(*, lead: Lead, cycle: int, crossing: int, score: int, contributions: list) -> SalesAlert | None:
    """Raise the alert for one MQL crossing, exactly once, assign it and start its SLA.

    The unique constraint (lead, cycle, crossing) is the guarantee: a retried task or a
    second worker that gets here for the same crossing inserts nothing and gets None.
    Must run inside the caller's transaction (the one that moved the lead to MQL), which
    holds the lead's lock; the notification and webhooks go out after its commit.
    """
    now = timezone.now()
    alert = SalesAlert(
        lead=lead,
        cycle=cycle,
        crossing=crossing,
        score=score,
        contributions=contributions,
        raised_at=now,
        status=AlertStatus.OPEN,
        due_at=sla_due_at(now),
    )
    inserted = _insert_alert_taking_a_turn(alert) if connection.vendor == "postgresql" else _insert_alert(alert)
    if not inserted:
        return None
    assignee = alert.assignee
    # The rep's email and the lead.mql deliveries: one broker message after commit, not one each.
    doorbell = Doorbell()
    if assignee is not None:
        notify(
            user=assignee,
            kind=NotificationKind.ASSIGNED,
            title=f"New MQL assigned to you: {lead.display_name}",
            body=f"Score {score}. Respond by {due_text(alert.due_at)}.",
            url=reverse("sales:queue_lead", args=[lead.pk]),
            alert=alert,
            doorbell=doorbell,
        )
    emit_webhook_event(
        event_type=WebhookEventType.LEAD_MQL,
        data={"lead": payloads.lead(lead), "alert": payloads.alert(alert)},
        occurred_at=now,
        doorbell=doorbell,
    )
    doorbell.ring_on_commit()
    return alert
