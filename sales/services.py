"""Writes of the sales app: alerts, the queue's actions, deals."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.actors import Actor
from leads.models import Deal, DealStatus, Lead
from leads.services import lock_lead, move_lead
from leads.stages import Stage, StageMoveRefused

from .models import AlertStatus, SalesAlert


def raise_sales_alert(*, lead: Lead, cycle: int, crossing: int, score: int, contributions: list) -> SalesAlert | None:
    """Raise the alert for one MQL crossing, exactly once.

    The unique constraint (lead, cycle, crossing) is the guarantee: a retried task or a
    second worker that gets here for the same crossing inserts nothing and gets None.
    Must run inside the caller's transaction (the one that moved the lead to MQL).
    """
    try:
        with transaction.atomic():
            return SalesAlert.objects.create(
                lead=lead,
                cycle=cycle,
                crossing=crossing,
                score=score,
                contributions=contributions,
                raised_at=timezone.now(),
                status=AlertStatus.OPEN,
            )
    except IntegrityError:
        return None


def transition_lead(
    *, lead: Lead, to: str, actor: Actor, reason: str = "", reason_code: str = "", deal: dict | None = None
):
    """A stage move asked for by a person or an API client, with the deal rules of the
    sales stages: qualifying (→ SQL) opens the cycle's deal, winning (SQL → customer)
    closes it won, losing (SQL → nurture) closes it lost."""
    deal = deal or {}
    with transaction.atomic():
        locked = lock_lead(lead_id=lead.pk)
        from_stage = locked.stage
        if (
            to == Stage.CUSTOMER
            and from_stage == Stage.SQL
            and not Deal.objects.filter(lead=locked, cycle=locked.cycle).exists()
            and not deal
        ):
            raise StageMoveRefused("Winning a lead needs its deal's value.", from_stage=from_stage, to_stage=to)
        transition = move_lead(lead=locked, to=to, actor=actor, reason=reason, reason_code=reason_code)
        now = timezone.now()
        if to == Stage.SQL:
            Deal.objects.update_or_create(
                lead=locked, cycle=locked.cycle, defaults={"owner": locked.owner or actor.user, **deal}
            )
        elif to == Stage.CUSTOMER:
            Deal.objects.update_or_create(
                lead=locked,
                cycle=locked.cycle,
                defaults={"status": DealStatus.WON, "closed_at": now, "owner": locked.owner or actor.user, **deal},
            )
        elif to == Stage.NURTURE and from_stage == Stage.SQL:
            Deal.objects.filter(lead=locked, cycle=locked.cycle, status=DealStatus.OPEN).update(
                status=DealStatus.LOST, lost_reason=reason[:300], closed_at=now
            )
    lead.refresh_from_db()
    return transition
