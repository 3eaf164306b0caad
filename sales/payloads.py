"""The `data` of each outbound webhook: plain JSON, ids as integers, times as ISO 8601."""

from leads.models import Deal, Lead, StageTransition

from .models import SalesAlert


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def lead(lead: Lead) -> dict:
    return {
        "id": lead.pk,
        "email": None if lead.erased_at else lead.email,
        "name": lead.display_name,
        "company": lead.company,
        "stage": lead.stage,
        "score": lead.score,
        "cycle": lead.cycle,
        "owner_id": lead.owner_id,
    }


def alert(alert: SalesAlert) -> dict:
    return {
        "id": alert.pk,
        "lead_id": alert.lead_id,
        "cycle": alert.cycle,
        "crossing": alert.crossing,
        "score": alert.score,
        "contributions": alert.contributions,
        "status": alert.status,
        "assignee_id": alert.assignee_id,
        "due_at": _iso(alert.due_at),
        "acted_by_id": alert.acted_by_id,
        "acted_at": _iso(alert.acted_at),
        "reject_reason": alert.reject_reason,
        "reject_note": alert.reject_note,
    }


def deal(deal: Deal) -> dict:
    return {
        "id": deal.pk,
        "lead_id": deal.lead_id,
        "cycle": deal.cycle,
        "status": deal.status,
        "value": str(deal.value),
        "currency": deal.currency,
        "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else None,
        "lost_reason": deal.lost_reason,
        "closed_at": _iso(deal.closed_at),
        "owner_id": deal.owner_id,
    }


def transition(transition: StageTransition) -> dict:
    return {
        "id": transition.pk,
        "from": transition.from_stage or None,
        "to": transition.to_stage,
        "kind": transition.kind,
        "reason": transition.reason,
        "reason_code": transition.reason_code,
        "actor": transition.actor_label,
        "occurred_at": _iso(transition.occurred_at),
    }
