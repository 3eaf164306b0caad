"""What the sales app does when the lifecycle announces a change (registered in
SalesConfig.ready). Each runs inside the change's transaction, which holds the lead's
lock, so taking the alert's lock here keeps the lock order (lead → alert); webhook
deliveries are written as outbox rows in that transaction and sent after commit."""

from leads.lifecycle import CrossingAlreadyRecorded
from leads.models import DealStatus, Lead, StageTransition
from leads.stages import MoveKind, Stage

from .. import payloads
from ..models import AlertStatus, SalesAlert, WebhookEventType
from ..webhooks import emit_webhook_event
from .alerts import raise_sales_alert


def on_mql_crossed(*, lead: Lead, transition: StageTransition, crossing: int, score: int, contributions: list):
    """One crossing, one alert: the unique constraint (lead, cycle, crossing) holds it."""
    alert = raise_sales_alert(lead=lead, cycle=lead.cycle, crossing=crossing, score=score, contributions=contributions)
    if alert is None:
        raise CrossingAlreadyRecorded


def on_deal_closed(*, lead: Lead, deal, transition: StageTransition) -> None:
    event_type = WebhookEventType.DEAL_WON if deal.status == DealStatus.WON else WebhookEventType.DEAL_LOST
    emit_webhook_event(event_type=event_type, data={"deal": payloads.deal(deal), "lead": payloads.lead(lead)})


def on_scores_below_recycle(*, lead_ids: list[int]) -> None:
    """An open alert whose lead's score decayed below the recycle threshold is flagged."""
    SalesAlert.objects.filter(lead_id__in=lead_ids, status=AlertStatus.OPEN, decayed_below_recycle=False).update(
        decayed_below_recycle=True
    )


def on_lead_stage_change(lead: Lead, transition: StageTransition) -> None:
    """Registered with leads.lifecycle.on_stage_change; runs inside the move's transaction
    (which holds the lead's lock, so taking the alert's lock here keeps the lock order)."""
    if transition.kind == MoveKind.CREATED:
        return
    if transition.from_stage == Stage.MQL:
        outcome = {Stage.NURTURE: AlertStatus.REJECTED}.get(transition.to_stage, AlertStatus.ACCEPTED)
        if transition.to_stage not in (Stage.NURTURE, Stage.SAL, Stage.SQL, Stage.CUSTOMER):
            outcome = AlertStatus.CLOSED
        for alert in SalesAlert.objects.select_for_update().filter(lead=lead, status=AlertStatus.OPEN):
            alert.status, alert.acted_by_id, alert.acted_at = outcome, transition.actor_user_id, transition.occurred_at
            alert.reject_reason = transition.reason_code[:50] if outcome == AlertStatus.REJECTED else ""
            alert.reject_note = transition.reason if outcome == AlertStatus.REJECTED else ""
            alert.save(update_fields=["status", "acted_by", "acted_at", "reject_reason", "reject_note"])
            event_type = {
                AlertStatus.ACCEPTED: WebhookEventType.ALERT_ACCEPTED,
                AlertStatus.REJECTED: WebhookEventType.ALERT_REJECTED,
            }.get(outcome)
            if event_type:
                emit_webhook_event(
                    event_type=event_type, data={"alert": payloads.alert(alert), "lead": payloads.lead(lead)}
                )
    emit_webhook_event(
        event_type=WebhookEventType.LEAD_STAGE_CHANGED,
        data={"lead": payloads.lead(lead), "transition": payloads.transition(transition)},
        occurred_at=transition.occurred_at,
    )
